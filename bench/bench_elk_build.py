"""`sre elk build` for 500 services (goal: at most 1 s) and the cross-object lint, against baselines
in the same run.

- build: the CLI as a fresh process, for the seed platform and a synthetic one of SERVICES
  services, against a bare script that only writes the same bodies with the standard library's
  json (no model, no definitions, no generation): the floor of writing that many files.
- lint: in this process, seed against synthetic (the pattern-overlap check compares every pair).
Usage: python bench/bench_elk_build.py [SERVICES]
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _synthetic import load_note, median_run, synthetic_file  # noqa: E402

from sre.elk.build import build  # noqa: E402
from sre.elk.definitions import load_definitions  # noqa: E402
from sre.elk.lint import lint  # noqa: E402
from sre.platform.loader import load_platform  # noqa: E402

GOAL_SECONDS = 1.0
BARE_WRITER = """
import json, sys
from pathlib import Path
out = Path(sys.argv[2])
for kind, name, body in json.loads(Path(sys.argv[1]).read_text()):
    (out / kind).mkdir(parents=True, exist_ok=True)
    (out / kind / (name + ".json")).write_text(json.dumps(body, sort_keys=True, indent=2) + "\\n")
"""


def median_seconds(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    services = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    with tempfile.TemporaryDirectory(prefix="bench-elk-") as tmp:
        work = Path(tmp)
        big_file = synthetic_file(ROOT / "platform.yaml", services, work / "big")
        shutil.copytree(ROOT / "elk", work / "big" / "elk")
        # The synthetic services have other ids: the per-service files of the seed do not apply.
        shutil.rmtree(work / "big" / "elk" / "services")
        rows = []
        for label, platform_file in (("seed", ROOT / "platform.yaml"), ("synthetic", big_file)):
            platform = load_platform(platform_file)
            defs = load_definitions(platform_file.parent / "elk", platform)
            bundle = build(platform, defs)
            out, bare_out = work / f"out-{label}", work / f"bare-{label}"
            argv = [sys.executable, "-m", "sre", "elk", "build", "--platform", str(platform_file),
                    "--out", str(out)]  # fmt: skip
            t_cli = median_run(argv, 3, before=lambda o=out: shutil.rmtree(o, ignore_errors=True))
            bodies = work / f"bodies-{label}.json"
            bodies.write_text(json.dumps(list(bundle)), encoding="utf-8")
            t_bare = median_run(
                [sys.executable, "-c", BARE_WRITER, str(bodies), str(bare_out)],
                3,
                before=lambda o=bare_out: shutil.rmtree(o, ignore_errors=True),
            )
            t_lint = median_seconds(lambda b=bundle, p=platform, d=defs: lint(b, p, d), 3)  # type: ignore[misc]
            rows.append((label, len(platform.services), len(bundle), t_cli, t_bare, t_lint))
            print(
                f"{label:9s} platform: {len(platform.services):4d} services, {len(bundle):5d} objects: "
                f"sre elk build {t_cli.wall * 1000:7.1f} ms (cpu {t_cli.cpu * 1000:6.1f}), bare json writer "
                f"{t_bare.wall * 1000:7.1f} ms (cpu {t_bare.cpu * 1000:6.1f}); ratio "
                f"{t_cli.wall / t_bare.wall:.2f}x wall, {t_cli.cpu / t_bare.cpu:.2f}x cpu; "
                f"lint {t_lint * 1000:6.1f} ms"
            )
        (_, n0, _, b0, _, l0), (_, n1, o1, b1, _, l1) = rows
        scale = f"services x{n1 / n0:.1f}, build x{b1.wall / b0.wall:.1f}, lint x{l1 / l0:.1f}"
        print(f"ratio synthetic/seed: {scale}")
        # Wall time is the goal; on a machine shared by other work, CPU time says what it would be.
        verdict = "met" if b1.wall <= GOAL_SECONDS else "NOT met"
        verdict += ", on CPU time " + ("met" if b1.cpu <= GOAL_SECONDS else "NOT met")
        print(
            f"goal: {services} services in at most {GOAL_SECONDS:g} s: {verdict} ({b1.wall:.2f} s wall, "
            f"{b1.cpu:.2f} s cpu, {o1} objects)"
        )
        print(f"machine: {load_note()} (shared: compare the ratios of one run)")


if __name__ == "__main__":
    main()

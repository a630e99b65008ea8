"""Time of `sre elk build` and of the cross-object lint: a synthetic platform against the seed one.

Both run in this process the same way; the ratio says how build and lint scale with the number
of services (the pattern-overlap check compares every pair of templates).
Usage: python bench/bench_elk_build.py [SERVICES]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _synthetic import synthetic  # noqa: E402

from sre.elk.build import build  # noqa: E402
from sre.elk.definitions import load_definitions  # noqa: E402
from sre.elk.lint import lint  # noqa: E402
from sre.platform.loader import load_platform  # noqa: E402


def median_seconds(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    services = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    seed = load_platform(ROOT / "platform.yaml")
    defs = load_definitions(ROOT / "elk", seed)
    big = synthetic(seed, services)
    rows = []
    for label, platform in (("seed", seed), ("synthetic", big)):
        bundle = build(platform, defs)  # also warms imports and caches
        t_build = median_seconds(lambda p=platform: build(p, defs), 5)  # type: ignore[misc]
        t_lint = median_seconds(lambda p=platform, b=bundle: lint(b, p, defs), 3)  # type: ignore[misc]
        rows.append((label, len(platform.services), len(bundle), t_build, t_lint))
        print(
            f"{label:9s} platform: {len(platform.services):4d} services, {len(bundle):5d} objects, "
            f"build {t_build * 1000:8.1f} ms, lint {t_lint * 1000:8.1f} ms"
        )
    (_, n0, o0, b0, l0), (_, n1, o1, b1, l1) = rows
    print(
        f"ratio synthetic/seed: services x{n1 / n0:.1f}, objects x{o1 / o0:.1f}, "
        f"build x{b1 / b0:.1f}, lint x{l1 / l0:.1f}"
    )


if __name__ == "__main__":
    main()

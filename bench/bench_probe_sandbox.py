"""`sre probe --all --env sandbox` end to end against the slowest single probe of the same run.

Starts the core sandbox in a temporary folder (a copy of platform.yaml and probes/), runs the
whole sweep as a user would (a new interpreter: start-up, loading, planning, probing, output),
and compares its wall time with the slowest probe it reported. Goal: the sweep finishes within
0.5 s of its slowest probe, so the run costs little more than its slowest dependency. Also
printed: that slowest probe run alone through the CLI, so the cost of the other probes shows
apart from the cost of starting the program.

    python bench/bench_probe_sandbox.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 0.5


def sre(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sre", *args], cwd=cwd, capture_output=True, text=True, check=check
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="sre-bench-sandbox-") as tmp:
        place = Path(tmp)
        place.chmod(0o755)  # PostgreSQL runs as `postgres` and must reach its data dir
        shutil.copy(ROOT / "platform.yaml", place / "platform.yaml")
        shutil.copytree(ROOT / "probes", place / "probes")
        up = sre("sandbox", "up", cwd=place, check=False)
        if up.returncode != 0:
            print(f"sandbox up failed ({up.returncode}); `make setup-sandbox` installs its servers")
            print(up.stdout[-2000:], up.stderr[-2000:])
            sre("sandbox", "down", cwd=place, check=False)
            return 1
        try:
            walls, slowest, counts = [], [], []
            for _ in range(runs + 1):  # the first run warms the page cache and is not counted
                start = time.perf_counter()
                done = sre("probe", "--all", "--env", "sandbox", "--format", "json", cwd=place, check=False)
                wall = time.perf_counter() - start
                results = json.loads(done.stdout)["results"]
                ran = [r for r in results if r["status"] != "skipped"]
                walls.append(wall)
                slowest.append(max(r["duration_seconds"] for r in ran))
                counts.append(len(ran))
            walls, slowest = walls[1:], slowest[1:]
            # The same slowest probe alone, through the CLI too: what one probe costs end to end.
            worst = max(ran, key=lambda r: r["duration_seconds"])
            alone = []
            for _ in range(runs):
                start = time.perf_counter()
                sre(
                    "probe",
                    worst["service"],
                    "--tier",
                    worst["tier"],
                    "--env",
                    "sandbox",
                    "--format",
                    "json",
                    cwd=place,
                    check=False,
                )
                alone.append(time.perf_counter() - start)
        finally:
            sre("sandbox", "down", cwd=place, check=False)
    wall, slow = statistics.median(walls), statistics.median(slowest)
    start = time.perf_counter()
    sre("--version", cwd=ROOT)
    cli_start = time.perf_counter() - start
    print(f"probes run per sweep: {counts[-1]} (skipped ones excluded)")
    print(f"sre probe --all --env sandbox: wall {wall:.3f} s (median of {runs})")
    print(f"slowest single probe in the same runs: {slow:.3f} s")
    over = wall - slow
    print(f"for scale, `sre --version` (interpreter and CLI start): {cli_start:.3f} s")
    print(f"overhead over the slowest probe: {over:.3f} s; ratio wall/slowest: {wall / slow:.2f}x")
    single = statistics.median(alone)
    print(
        f"`sre probe {worst['service']} --tier {worst['tier']}` alone: wall {single:.3f} s; "
        f"--all costs {wall - single:+.3f} s more ({wall / single:.2f}x)"
    )
    verdict = "met" if over <= GOAL_SECONDS else "NOT met"
    print(f"goal: within {GOAL_SECONDS} s of the slowest probe: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Start-up time of `sre --help` against a bare interpreter (`python -c pass`), in the same run.

Heavy libraries (pydantic, rich, protocol drivers, SDKs) must be imported only by the
commands that use them, so `sre --help` should cost little more than importing typer.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

RUNS = 15


def timed(argv: list[str]) -> float:
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    baseline = timed([sys.executable, "-c", "pass"])
    typer_only = timed([sys.executable, "-c", "import typer"])
    help_time = timed([sys.executable, "-m", "sre", "--help"])
    heavy = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "sre", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    loaded = {line.split("|")[-1].strip().split(".")[0] for line in heavy.splitlines() if "|" in line}
    banned = sorted(loaded & {"pydantic", "aiohttp", "psycopg", "grafana_foundation_sdk", "elasticsearch"})
    print(f"python -c pass      {baseline * 1000:7.1f} ms (median of {RUNS})")
    print(f"python -c 'import typer' {typer_only * 1000:7.1f} ms")
    print(f"sre --help          {help_time * 1000:7.1f} ms")
    print(f"ratio sre --help / python -c pass: {help_time / baseline:.1f}x")
    print(f"overhead over bare interpreter: {(help_time - baseline) * 1000:.1f} ms")
    print(f"heavy modules imported by --help: {', '.join(banned) or 'none'}")


if __name__ == "__main__":
    main()

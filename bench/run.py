"""Run the benchmarks: every bench/*.py except this file and shared modules (names starting with _).

    python bench/run.py                 # all of them, one after the other
    python bench/run.py probe_https     # just these

Each benchmark starts what it measures against, compares with a baseline in the
same run and prints the ratio; none of them runs in the test suite.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    wanted = set(sys.argv[1:])
    benches = sorted(p for p in HERE.glob("*.py") if p.name != "run.py" and not p.name.startswith("_"))
    unknown = wanted - {p.stem for p in benches}
    if unknown:
        print(f"unknown benchmark {', '.join(sorted(unknown))}; have: {', '.join(p.stem for p in benches)}")
        return 2
    failed = 0
    for path in benches:
        if wanted and path.stem not in wanted:
            continue
        print(f"== {path.stem}", flush=True)
        failed += subprocess.run([sys.executable, str(path)], check=False).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

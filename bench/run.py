"""Run every benchmark in bench/ (files named bench_*.py), one after the other.

Each benchmark measures `sre` against a baseline in the same run and prints the ratio.
Usage: python bench/run.py [NAME_SUBSTRING ...]
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(selected: list[str]) -> int:
    failed = 0
    for path in sorted(HERE.glob("bench_*.py")):
        if selected and not any(s in path.stem for s in selected):
            continue
        print(f"== {path.stem}", flush=True)
        failed += subprocess.run([sys.executable, str(path)], check=False).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

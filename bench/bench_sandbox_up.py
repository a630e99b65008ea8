"""`sre sandbox up` (core profile): components started side by side in stages, against one at a time.

Both runs start the same real servers in a temporary folder and are stopped
again; the ratio is sequential time / staged time (above 1: the stages help).
Run: `.venv/bin/python bench/bench_sandbox_up.py [ROUNDS]` (or `make bench`).
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import tempfile
import time
from pathlib import Path

from sre.platform.loader import load_platform
from sre.sandbox.catalog import launchers
from sre.sandbox.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[1]


def one_up(staged: bool) -> float:
    folder = Path(tempfile.mkdtemp(prefix="sre-bench-sandbox-"))
    folder.chmod(0o755)
    shutil.copy(REPO / "platform.yaml", folder / "platform.yaml")
    chosen = launchers("core")
    if not staged:
        chosen = [dataclasses.replace(c, stage=i) for i, c in enumerate(chosen)]
    sandbox = Sandbox(folder / "sb")
    try:
        began = time.perf_counter()
        sandbox.up(load_platform(folder / "platform.yaml"), "core", launchers=chosen)
        return time.perf_counter() - began
    finally:
        sandbox.down()
        shutil.rmtree(folder, ignore_errors=True)


def main(rounds: int) -> None:
    staged, sequential = [], []
    for _ in range(rounds):  # interleaved, so load from other work hits both alike
        sequential.append(one_up(staged=False))
        staged.append(one_up(staged=True))
    best_seq, best_staged = min(sequential), min(staged)
    print(f"sandbox up (core), best of {rounds}: one at a time {best_seq:.2f} s, staged {best_staged:.2f} s")
    print(f"ratio (one at a time / staged): {best_seq / best_staged:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)

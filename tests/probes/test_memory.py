"""The exporter's allocator settings: taken by glibc, a no-op elsewhere."""

from __future__ import annotations

import platform
import subprocess
import sys


def test_settle_is_taken_by_glibc_and_harmless_twice() -> None:
    code = "from sre.probes import memory; print(memory.settle(), memory.settle())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    expected = "True True" if platform.libc_ver()[0] == "glibc" else "False False"
    assert out.strip() == expected

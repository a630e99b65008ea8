"""Long commands show a progress bar on a terminal's stderr, and nothing when stderr is not one."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from requirements import REPO


def _run(args: list[str], *, tty: bool) -> tuple[int, str, str]:
    env = {**os.environ, "COLUMNS": "100", "SRE_PLATFORM": str(REPO / "platform.yaml")}
    if not tty:
        done = subprocess.run(
            [sys.executable, "-m", "sre", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        return done.returncode, done.stdout, done.stderr
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sre", *args], stdout=subprocess.PIPE, stderr=slave, env=env
    )
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        seen += chunk
    out = proc.communicate(timeout=120)[0]
    os.close(master)
    return proc.returncode, out.decode(), seen.decode(errors="replace")


@pytest.mark.parametrize(
    ("args", "label"),
    [
        (["dashboards", "build", "--out", "{out}"], "building dashboards"),
        (["elk", "build", "--out", "{out}"], "writing to"),
    ],
)
def test_a_bar_on_a_terminal_and_none_when_piped(args: list[str], label: str, tmp_path: Path) -> None:
    argv = [a.replace("{out}", str(tmp_path / "out")) for a in args]
    code, out, err = _run(argv, tty=True)
    assert code == 0, err
    assert label in err and "━" in err
    assert "━" not in out  # the result line on stdout is plain
    code, out, err = _run(argv, tty=False)
    assert code == 0 and err == "" and "━" not in out

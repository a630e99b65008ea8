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


def _on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """What `sre ARGS` writes to stdout when stdout is a terminal."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "sre", *args], stdout=slave, stderr=slave, env=env)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    proc.wait(120)
    os.close(master)
    return seen.decode(errors="replace")


def test_no_color_is_honoured_on_a_terminal() -> None:
    env = {**os.environ, "COLUMNS": "140", "SRE_PLATFORM": str(REPO / "platform.yaml")}
    env.pop("NO_COLOR", None)
    coloured = _on_a_terminal(["inventory", "show"], env)
    plain = _on_a_terminal(["inventory", "show"], {**env, "NO_COLOR": "1"})
    assert "\x1b[" in coloured and "ext_api" in coloured
    colours = ("\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[35m")
    assert [code for code in colours if code in coloured]  # PII in yellow, without NO_COLOR
    assert not [code for code in colours if code in plain]
    assert "ext_api" in plain

"""A usage error is one line on stderr naming the command and the flag, and exit 2 (`sre` as a process)."""

from __future__ import annotations

import subprocess
import sys

import pytest


def sre(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sre", *args], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["probe", "--bogus"], "--bogus"),
        (["probe", "--timeout", "soon"], "--timeout"),
        (["inventory", "show", "--format", "xml"], "--format"),
        (["sandbox", "frobnicate"], "frobnicate"),
    ],
)
def test_a_usage_error_is_one_line_naming_the_flag(args: list[str], named: str) -> None:
    done = sre(*args)
    assert done.returncode == 2, done
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert named in lines[0] and lines[0].startswith("sre "), lines[0]
    assert "--help" in lines[0]  # where to read more
    assert done.stdout == ""


def test_a_value_sre_checks_itself_is_one_line_too() -> None:
    done = sre("elk", "publish", "--timeout", "nan")
    assert done.returncode == 2, done
    assert done.stderr.splitlines() == ["--timeout: expected seconds from 0.1 to 600; got nan"]


def test_no_arguments_shows_the_help() -> None:
    done = sre()
    assert done.returncode == 2 and "Usage: sre" in done.stderr


def test_help_and_version_still_exit_zero() -> None:
    assert sre("--version").returncode == 0
    shown = sre("probe", "--help")
    assert shown.returncode == 0 and "--all" in shown.stdout

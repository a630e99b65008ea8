"""`sre ARGS` through the real entry point, in-process, for tests in every folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from sre.cli.main import main


def exit_code(*args: str) -> int:
    """Run `sre ARGS`; its exit code (output stays in capsys/capfd for the test to read)."""
    with pytest.raises(SystemExit) as done:
        main(list(args))
    return int(done.value.code or 0)


def run(args: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run `sre ARGS`: exit code, stdout, stderr."""
    code = exit_code(*args)
    out, err = capsys.readouterr()
    return code, out, err


def start_exporter(
    port: int,
    env: str,
    platform_file: Path,
    *,
    vantage: str | None = None,
    stdout: int = subprocess.DEVNULL,
    extra_args: tuple[str, ...] = (),
) -> subprocess.Popen[bytes]:
    """`sre probe serve` as a process on 127.0.0.1:PORT, as Prometheus would scrape it."""
    argv = ["probe", "serve", "--listen", f"127.0.0.1:{port}", "--env", env, "--platform", str(platform_file)]
    argv += extra_args
    environ = {"SRE_VANTAGE": vantage} if vantage else {}
    return subprocess.Popen(
        [sys.executable, "-m", "sre", *argv],
        stdout=stdout,
        stderr=subprocess.PIPE,
        env={**os.environ, **environ},
    )

"""Helpers the dashboards tests import (a module of its own: every test folder has a conftest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sre.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`sre ARGS` through the real entry point: exit code, stdout, stderr."""
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err

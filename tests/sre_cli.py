"""`sre ARGS` through the real entry point, in-process, for tests in every folder."""

from __future__ import annotations

from collections.abc import Sequence

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

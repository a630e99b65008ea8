"""Fixtures every test folder can use without importing them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

# The offline schema checkers kept beside a clone (../shared). The product never runs them; the
# tests run them on the build output.
SHARED_TOOLS = Path(__file__).resolve().parents[2] / "shared" / "tools"


@pytest.fixture
def shared_tool() -> Callable[[str], Path]:
    """The path of ../shared/tools/NAME; skip where it is absent, but fail when $CI is set."""

    def find(name: str) -> Path:
        path = SHARED_TOOLS / name
        if not path.is_file():
            message = f"{path} is missing: the schema checks need ../shared beside the checkout"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        return path

    return find

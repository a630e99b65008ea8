"""Fixtures of the sandbox tests: a temporary platform copy and folder, and one core sandbox per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from requirements import SETUP, missing
from sandbox_helpers import Place, Running, missing_core_binaries, temporary_place

from sre.sandbox.sandbox import Sandbox
from sre.sandbox.supervisor import is_ours


@pytest.fixture
def place() -> Iterator[Place]:
    yield from temporary_place()


@pytest.fixture(scope="module")
def core() -> Iterator[Running]:
    absent = missing_core_binaries()
    if absent:
        missing(f"sandbox servers ({'; '.join(absent)})", SETUP)
    for place in temporary_place():
        sandbox = Sandbox(place.sandbox_dir)
        result = sandbox.up(place.platform(), "core")
        yield Running(place, sandbox, result.state)
        sandbox.down()
        leftover = [r.name for r in sandbox.state().processes.values() if is_ours(r)]
        assert not leftover, f"still running after down: {leftover}"

"""Fixtures of the sandbox tests: a temporary platform copy and folder, and one core sandbox per module."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sre.platform.loader import load_platform
from sre.platform.model import Platform
from sre.sandbox import binaries
from sre.sandbox.catalog import launchers
from sre.sandbox.sandbox import Sandbox
from sre.sandbox.state import SandboxState
from sre.sandbox.supervisor import is_ours

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Place:
    """A temporary folder (other users may enter it, as PostgreSQL needs) holding a platform.yaml copy."""

    folder: Path
    platform_file: Path

    @property
    def sandbox_dir(self) -> Path:
        return self.folder / "sb"

    def platform(self) -> Platform:
        return load_platform(self.platform_file)


@pytest.fixture
def place() -> Iterator[Place]:
    yield from _place()


def _place() -> Iterator[Place]:
    folder = Path(tempfile.mkdtemp(prefix="sre-sandbox-test-"))
    folder.chmod(0o755)
    shutil.copy(REPO / "platform.yaml", folder / "platform.yaml")
    try:
        yield Place(folder, folder / "platform.yaml")
    finally:
        Sandbox(folder / "sb").down()
        shutil.rmtree(folder, ignore_errors=True)


def missing_core_binaries() -> list[str]:
    return [
        b.install for launcher in launchers("core") for b in launcher.binaries if binaries.find(b) is None
    ]


@dataclass
class Running:
    place: Place
    sandbox: Sandbox
    state: SandboxState

    def port(self, process: str, name: str) -> int:
        return self.state.processes[process].ports[name]


@pytest.fixture(scope="module")
def core() -> Iterator[Running]:
    missing = missing_core_binaries()
    if missing:
        pytest.skip(f"sandbox servers missing: {'; '.join(missing)} (make setup-sandbox)")
    for place in _place():
        sandbox = Sandbox(place.sandbox_dir)
        result = sandbox.up(place.platform(), "core")
        yield Running(place, sandbox, result.state)
        sandbox.down()
        leftover = [r.name for r in sandbox.state().processes.values() if is_ours(r)]
        assert not leftover, f"still running after down: {leftover}"

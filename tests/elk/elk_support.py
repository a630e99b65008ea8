"""Fixtures and paths of the elk tests, imported by each test module.

Not a conftest.py: several test folders have one, and `from conftest import ...` then resolves to
whichever was loaded last. A module with its own name cannot be mistaken.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import respx
from elk_fake_cluster import FakeCluster

from sre.cli.main import main
from sre.elk.build import Bundle
from sre.elk.meta import Body
from sre.elk.names import Kind

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """platform.yaml and elk/ copied to a folder of their own, safe to edit."""
    shutil.copy(ROOT / "platform.yaml", tmp_path / "platform.yaml")
    shutil.copytree(ROOT / "elk", tmp_path / "elk")
    return tmp_path


Cli = Callable[..., Run]  # the `sre` fixture: sre(*ARGS) -> Run


@pytest.fixture
def sre(capsys: pytest.CaptureFixture[str], project: Path) -> Cli:
    """Run `sre elk ARGS --platform <project>/platform.yaml` as the console script does."""

    def run(*args: str) -> Run:
        capsys.readouterr()
        try:
            main(["elk", *args, "--platform", str(project / "platform.yaml")])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCluster]:
    """An in-memory Elasticsearch (see elk_fake_cluster) behind respx, and the env that points at it."""
    cluster = FakeCluster()
    with respx.mock(assert_all_called=False) as router:
        router.route(host="es.test").mock(side_effect=cluster.handle)
        monkeypatch.setenv("ELASTICSEARCH_URL", cluster.url)
        monkeypatch.setenv("ELASTICSEARCH_API_KEY", "writer-key")
        yield cluster


def body(bundle: Bundle, kind: Kind, name: str) -> Body:
    """A built object the test expects to exist."""
    found = bundle.get(kind, name)
    assert found is not None, f"{kind}/{name} was not built"
    return found

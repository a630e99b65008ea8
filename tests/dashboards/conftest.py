"""Fixtures for the dashboards tests: a copy of the project to edit, and `fake_grafana`, a local
HTTP server that answers like Grafana's HTTP API (see fake_grafana.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboards_support import ROOT
from fake_grafana import EDITOR_TOKEN, FakeGrafana


@pytest.fixture
def fake_grafana() -> Iterator[FakeGrafana]:
    server = FakeGrafana().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """platform.yaml and dashboards/ copied to a folder of their own, which is the working directory."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(ROOT / "platform.yaml", root / "platform.yaml")
    shutil.copytree(ROOT / "dashboards", root / "dashboards", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.chdir(root)
    for name in ("SRE_PLATFORM", "GRAFANA_URL", "GRAFANA_TOKEN", "GRAFANA_TOKEN_FILE", "CI_COMMIT_SHA"):
        monkeypatch.delenv(name, raising=False)
    return root


@pytest.fixture
def grafana_env(fake_grafana: FakeGrafana, monkeypatch: pytest.MonkeyPatch) -> FakeGrafana:
    monkeypatch.setenv("GRAFANA_URL", fake_grafana.url)
    monkeypatch.setenv("GRAFANA_TOKEN", EDITOR_TOKEN)
    return fake_grafana

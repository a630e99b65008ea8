"""Fixtures of the runbook tests: every store test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rb_support import World, create_database, drop_database


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "store" / "runbooks.db")
        return
    name, url = create_database("sre_store")
    try:
        yield url
    finally:
        drop_database(name)


@pytest.fixture
def target_db() -> Iterator[str]:
    """A throwaway database the runbooks under test act on (the `db` service of the test platform)."""
    name, url = create_database("sre_target")
    try:
        yield url
    finally:
        drop_database(name)


@pytest.fixture
def world(tmp_path: Path, store_url: str, target_db: str) -> World:
    w = World(tmp_path, store_url, target_db)
    w.sql("CREATE TABLE changes (k TEXT PRIMARY KEY, n INTEGER NOT NULL)")
    w.sql("CREATE TABLE gate (k TEXT PRIMARY KEY)")
    return w

"""Fixtures for the datastore and API check tests: real servers on free ports, stopped afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from checkservers import GarbageServer, PgCluster


@pytest.fixture(scope="session")
def garbage() -> Iterator[GarbageServer]:
    server = GarbageServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def pg() -> Iterator[PgCluster]:
    cluster = PgCluster()
    try:
        yield cluster.start()
    finally:
        cluster.stop()

"""Fixtures for the datastore and API check tests: real servers on free ports, stopped afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, TypeVar

import pytest
from checkservers import (
    ClickHouse,
    GarbageServer,
    HttpFixture,
    MongoSubstitute,
    NatsServer,
    OpenSearchSubstitute,
    PgCluster,
    RedisPair,
    SeaweedS3,
    TansuBroker,
)


class Startable(Protocol):
    def start(self) -> Any: ...
    def stop(self) -> None: ...


S = TypeVar("S", bound=Startable)


def running(server: S) -> Iterator[S]:
    """Start `server` for a fixture and stop it afterwards, also when the start itself fails."""
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def garbage() -> Iterator[GarbageServer]:
    server = GarbageServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def pg() -> Iterator[PgCluster]:
    yield from running(PgCluster())


@pytest.fixture(scope="session")
def redis_pair() -> Iterator[RedisPair]:
    yield from running(RedisPair())


@pytest.fixture(scope="session")
def nats_js() -> Iterator[NatsServer]:
    yield from running(NatsServer())


@pytest.fixture(scope="session")
def nats_plain() -> Iterator[NatsServer]:
    yield from running(NatsServer(jetstream=False))


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[TansuBroker]:
    yield from running(TansuBroker())


@pytest.fixture(scope="session")
def mongo() -> Iterator[MongoSubstitute]:
    yield from running(MongoSubstitute())


@pytest.fixture
def api() -> Iterator[HttpFixture]:
    server = HttpFixture()
    yield server
    server.close()


@pytest.fixture(scope="session")
def opensearch() -> Iterator[OpenSearchSubstitute]:
    yield from running(OpenSearchSubstitute())


@pytest.fixture(scope="session")
def clickhouse() -> Iterator[ClickHouse]:
    yield from running(ClickHouse())


@pytest.fixture(scope="session")
def seaweed() -> Iterator[SeaweedS3]:
    yield from running(SeaweedS3())

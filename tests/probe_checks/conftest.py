"""Fixtures for the datastore and API check tests: real servers on free ports, stopped afterwards."""

from __future__ import annotations

from collections.abc import Iterator

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


@pytest.fixture(scope="session")
def redis_pair() -> Iterator[RedisPair]:
    pair = RedisPair()
    try:
        yield pair.start()
    finally:
        pair.stop()


@pytest.fixture(scope="session")
def nats_js() -> Iterator[NatsServer]:
    server = NatsServer()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def nats_plain() -> Iterator[NatsServer]:
    server = NatsServer(jetstream=False)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[TansuBroker]:
    broker = TansuBroker()
    try:
        yield broker.start()
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def mongo() -> Iterator[MongoSubstitute]:
    server = MongoSubstitute()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def api() -> Iterator[HttpFixture]:
    server = HttpFixture()
    yield server
    server.close()


@pytest.fixture(scope="session")
def opensearch() -> Iterator[OpenSearchSubstitute]:
    server = OpenSearchSubstitute()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def clickhouse() -> Iterator[ClickHouse]:
    server = ClickHouse()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def seaweed() -> Iterator[SeaweedS3]:
    server = SeaweedS3()
    try:
        yield server.start()
    finally:
        server.stop()

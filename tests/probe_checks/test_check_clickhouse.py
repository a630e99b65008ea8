"""ClickHouse check against Debian's clickhouse-server (18.16, old but real) on free ports, and a local
fixture of the HTTP interface for answers that server cannot be made to give (lagging replicas)."""

from __future__ import annotations

import pytest
from checkrun import probe
from checkservers import ClickHouse, HttpFixture, Route

from sre.probes.model import Reason

SECRET = {"password": ClickHouse.PASSWORD}


@pytest.mark.integration
def test_ping_query_and_replicas(clickhouse: ClickHouse) -> None:
    seen = probe("clickhouse", clickhouse.url, secrets=SECRET).ok()
    assert seen.facts["clickhouse_version"].startswith("18.")
    assert seen.facts["clickhouse_replicas_ok"] is True
    assert {"ping", "query", "replicas"} <= seen.phases.keys()


@pytest.mark.integration
def test_wrong_password_is_auth(clickhouse: ClickHouse) -> None:
    seen = probe("clickhouse", clickhouse.url, secrets={"password": "ch-wrong-77"})
    assert seen.reason is Reason.auth
    assert "ch-wrong-77" not in seen.message


@pytest.mark.integration
def test_unknown_database_fails_the_query(clickhouse: ClickHouse) -> None:
    seen = probe("clickhouse", clickhouse.url, secrets=SECRET, settings={"database": "no_such_db"})
    assert seen.reason is Reason.status_code
    assert "no_such_db" in seen.message


def test_lagging_replicas_are_a_fact(api: HttpFixture) -> None:
    api.routes["GET /ping"] = Route(200, "Ok.\n")
    api.routes["POST /"] = Route(200, "1\t24.8.4.13\n")
    api.routes["GET /replicas_status"] = Route(503, "db.events:\tAbsolute delay: 412. Relative delay: 412.\n")
    seen = probe("clickhouse", api.url).ok()
    assert seen.facts["clickhouse_replicas_ok"] is False
    assert seen.facts["clickhouse_version"] == "24.8.4.13"


def test_ping_that_is_not_clickhouse_is_protocol(api: HttpFixture) -> None:
    api.routes["GET /ping"] = Route(200, "pong")
    assert probe("clickhouse", api.url).reason is Reason.protocol

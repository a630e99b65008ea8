"""Elasticsearch check: against a local HTTP fixture of Elasticsearch's documented `_cluster/health` and
`/` answers (Elasticsearch cannot run here), and against osmem-server, an OpenSearch-API substitute."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from checkrun import probe
from checkservers import HttpFixture, OpenSearchSubstitute, Route

from sre.probes.model import Reason

ELASTIC = {"X-Elastic-Product": "Elasticsearch"}
ROOT = {
    "name": "es-node-1",
    "cluster_name": "logs-fra1",
    "cluster_uuid": "xZ3h1QmGS0eTjnNx2mWv3Q",
    "version": {"number": "8.15.0", "build_flavor": "default", "lucene_version": "9.11.1"},
    "tagline": "You Know, for Search",
}


def health(status: str, **changes: Any) -> dict[str, Any]:
    """The documented sample answer of GET /_cluster/health, with changes."""
    sample = {
        "cluster_name": "logs-fra1",
        "status": status,
        "timed_out": False,
        "number_of_nodes": 3,
        "number_of_data_nodes": 3,
        "active_primary_shards": 12,
        "active_shards": 24,
        "relocating_shards": 0,
        "initializing_shards": 0,
        "unassigned_shards": 0,
        "delayed_unassigned_shards": 0,
        "number_of_pending_tasks": 0,
        "number_of_in_flight_fetch": 0,
        "task_max_waiting_in_queue_millis": 0,
        "active_shards_percent_as_number": 100.0,
    }
    return {**sample, **changes}


def serve(api: HttpFixture, answer: dict[str, Any], headers: dict[str, str] = ELASTIC) -> None:
    api.routes["GET /_cluster/health"] = Route(200, answer, headers)
    api.routes["GET /"] = Route(200, ROOT, headers)


def test_green_cluster(api: HttpFixture) -> None:
    serve(api, health("green"))
    seen = probe("elasticsearch", api.url).ok()
    assert seen.facts["es_status"] == "green"
    assert seen.facts["es_product"] == "Elasticsearch"
    assert seen.facts["es_version"] == "8.15.0"
    assert seen.facts["es_number_of_nodes"] == 3
    assert seen.facts["es_cluster_name"] == "logs-fra1"


def test_yellow_is_a_fact_for_the_judge(api: HttpFixture) -> None:
    serve(api, health("yellow", unassigned_shards=12, active_shards_percent_as_number=50.0))
    seen = probe("elasticsearch", api.url).ok()
    assert seen.facts["es_status"] == "yellow"
    assert seen.facts["es_unassigned_shards"] == 12


def test_red_is_not_ready(api: HttpFixture) -> None:
    serve(api, health("red", unassigned_shards=3))
    seen = probe("elasticsearch", api.url)
    assert seen.reason is Reason.not_ready
    assert seen.facts["es_status"] == "red"


def test_basic_auth_from_secrets_and_401(api: HttpFixture) -> None:
    serve(api, health("green"))
    probe("elasticsearch", api.url, secrets={"username": "probe", "password": "es-secret-1"}).ok()
    sent = api.seen[0].headers["Authorization"]
    assert sent == "Basic " + base64.b64encode(b"probe:es-secret-1").decode()
    api.routes["GET /_cluster/health"] = Route(401, {"error": {"type": "security_exception"}, "status": 401})
    seen = probe("elasticsearch", api.url, secrets={"password": "es-secret-1"})
    assert seen.reason is Reason.auth
    assert "es-secret-1" not in seen.message


def test_api_key_header(api: HttpFixture) -> None:
    serve(api, health("green"))
    probe("elasticsearch", api.url, secrets={"api_key": "a2V5OnNlY3JldA=="}).ok()
    assert api.seen[0].headers["Authorization"] == "ApiKey a2V5OnNlY3JldA=="


def test_something_else_answering_json_is_protocol(api: HttpFixture) -> None:
    serve(api, health("green"), headers={})
    api.routes["GET /"] = Route(200, {"service": "not a search engine"})
    seen = probe("elasticsearch", api.url)
    assert seen.reason is Reason.protocol
    assert "neither Elasticsearch nor OpenSearch" in seen.message


def test_health_without_status_is_protocol(api: HttpFixture) -> None:
    serve(api, {"cluster_name": "x"})
    assert probe("elasticsearch", api.url).reason is Reason.protocol


@pytest.mark.integration
def test_opensearch_substitute(opensearch: OpenSearchSubstitute) -> None:
    seen = probe("elasticsearch", opensearch.url).ok()
    assert seen.facts["es_product"] == "OpenSearch"
    assert seen.facts["es_status"] == "green"
    assert seen.facts["es_version"]

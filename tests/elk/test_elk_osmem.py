"""Against a real server over real HTTP: osmem-server (PyPI), an in-memory OpenSearch-API emulator.

It is not Elasticsearch: it answers GET / as OpenSearch 3.x (while sending the X-Elastic-Product
header), serves _index_template and _component_template, has no ILM or ingest pipeline API, and
refuses the Elasticsearch 9 client's compatible-with=9 request bodies (406). So it shows that sre
elk refuses a server that is not Elasticsearch before writing anything, over the same httpx
transport production uses, and that a missing object reads as missing over the wire.
"""

# ruff: noqa: F811 (pytest fixtures imported from elk_support arrive as same-named arguments)

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from elk_support import Cli, project, sre  # noqa: F401 (fixtures, used as arguments)
from requirements import need_module

from sre.elk.cluster import Connection, connect

osmem_server = need_module("osmem_server")

pytestmark = pytest.mark.integration


@pytest.fixture
def osmem() -> Iterator[str]:
    server = osmem_server.OsmemServer.start(japanese=False)  # binds 127.0.0.1 on a free port
    try:
        yield server.url
    finally:
        server.close()


def test_an_opensearch_api_server_is_refused_and_left_untouched(
    osmem: str, sre: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ELASTICSEARCH_URL", osmem)
    monkeypatch.setenv("ELASTICSEARCH_API_KEY", "osmem-does-not-check-it")
    run = sre("publish")
    assert run.code == 1
    assert re.match(r"GET /: http://127\.0\.0\.1:\d+ is OpenSearch \d+\.\d+\.\d+, not Elasticsearch", run.err)
    assert "osmem-does-not-check-it" not in run.text
    assert httpx.get(f"{osmem}/_index_template/logs-ext_api").status_code == 404
    assert httpx.get(f"{osmem}/_component_template/platform-logs@ecs").status_code == 404


def test_a_missing_template_reads_as_missing_over_real_http(osmem: str) -> None:
    cluster = connect(Connection(url=osmem, timeout=10))
    assert cluster.get("index_templates", "logs-ext_api") is None
    assert cluster.get("component_templates", "logs-ext_api@mappings") is None

"""Elasticsearch (or OpenSearch): `GET /_cluster/health`.

green passes; yellow is recorded as `es_status` for the judge to degrade on;
red raises not_ready. `GET /` then names the product and version: OpenSearch in
version.distribution, Elasticsearch by its `X-Elastic-Product` header (7.14
and later) or its tagline; anything else is not a search cluster (protocol).
Auth: `api_key` secret (ApiKey header) or `username`/`password` (basic).
"""

from __future__ import annotations

from typing import Any

from sre.probes.checks._http_api import HttpApi, Reply, expect_status, token_or_basic
from sre.probes.checks._support import Secrets
from sre.probes.context import ProbeContext
from sre.probes.model import ProbeError, Reason, Target

STATUSES = ("green", "yellow", "red")
NUMBERS = {
    "number_of_nodes": "es_number_of_nodes",
    "number_of_data_nodes": "es_number_of_data_nodes",
    "active_shards_percent_as_number": "es_active_shards_percent",
    "unassigned_shards": "es_unassigned_shards",
    "relocating_shards": "es_relocating_shards",
}


async def check_elasticsearch(target: Target, ctx: ProbeContext) -> None:
    secrets = Secrets(ctx)
    headers = token_or_basic(secrets, "api_key", "ApiKey")
    async with HttpApi(target, ctx, secrets, headers=headers) as api:
        reply = await api.checked("/_cluster/health", phase="request")
        health = reply.json_object()
        with ctx.phase("identify"):
            root = await api.get("/")
        product, version = identify(root, elastic_header=reply.headers.get("X-Elastic-Product"))
    ctx.fact("es_product", product)
    ctx.fact("es_version", version)
    status = health.get("status")
    if status not in STATUSES:
        raise ProbeError(Reason.protocol, f"{reply.request}: no cluster status in {reply.snippet()}")
    ctx.fact("es_status", status)
    if isinstance(health.get("cluster_name"), str):
        ctx.fact("es_cluster_name", health["cluster_name"])
    for key, fact in NUMBERS.items():
        if isinstance(health.get(key), int | float):
            ctx.fact(fact, health[key])
    if status == "red":
        raise ProbeError(Reason.not_ready, f"{reply.request}: cluster status red (primary shards unassigned)")


def identify(root: Reply, *, elastic_header: str | None) -> tuple[str, str | None]:
    """Product and version from `GET /`: OpenSearch says so in version.distribution; Elasticsearch
    marks its answers with X-Elastic-Product (7.14+) or, before that, its tagline."""
    expect_status(root, 200)
    body: dict[str, Any] = root.json_object()
    version = body.get("version")
    if isinstance(version, dict):
        number = version.get("number") if isinstance(version.get("number"), str) else None
        if version.get("distribution") == "opensearch":
            return "OpenSearch", number
        if elastic_header == "Elasticsearch" or body.get("tagline") == "You Know, for Search":
            return "Elasticsearch", number
    message = f"{root.request}: neither Elasticsearch nor OpenSearch: {root.snippet()}"
    raise ProbeError(Reason.protocol, message)

"""Kubernetes: API server readiness (`/readyz`, `/version`) and node readiness (`GET /api/v1/nodes`).

/readyz is read over plain HTTP and judged by its status code, as its
documentation intends (200 is ready; otherwise the body names the failing
checks and goes into the message). Nodes are listed on the same async HTTP
session, a page of NODE_PAGE at a time (`limit` and `continue`, as kubectl
does), each page bounded in size, so the probe's deadline cancels it like any
other request and a server that trickles its answer cannot hold the process
(the official client is synchronous: its thread outlived the probe, and its
read timeout restarts with every byte). No node Ready is `not_ready`; some
not Ready is recorded for the judge (`k8s_nodes_not_ready`).

Secrets: `token` (a bearer token; a ServiceAccount needs `list nodes`).
"""

from __future__ import annotations

from typing import Any

from sre.probes.checks._http_api import HttpApi, Reply, expect_status
from sre.probes.checks._support import Secrets, load_settings
from sre.probes.context import ProbeContext
from sre.probes.model import ProbeError, Reason, Target
from sre.probes.settings import KubernetesSettings

MAX_NAMES = 10
NODE_PAGE = 100  # nodes per request: a node object is a few KiB
MAX_PAGE_BYTES = 8 << 20


async def check_kubernetes(target: Target, ctx: ProbeContext) -> None:
    opts = load_settings(KubernetesSettings, target.settings)
    secrets = Secrets(ctx)
    token = secrets.get("token")
    headers = {"Authorization": f"Bearer {token}"} if token else None
    async with HttpApi(target, ctx, secrets, headers=headers) as api:
        with ctx.phase("readyz"):
            ready = await api.get("/readyz")
        api.evidence(ready)
        ctx.fact("http_status", ready.status)
        if ready.status in (401, 403):
            expect_status(ready, 200)
        if ready.status != 200:  # the body ("ok", or the failing checks) is for humans
            raise ProbeError(Reason.not_ready, f"{ready.request}: HTTP {ready.status}: {ready.snippet(200)}")
        version = await api.get("/version")
        if version.status == 200:
            git_version = version.json_object().get("gitVersion")
            if isinstance(git_version, str):
                ctx.fact("k8s_version", git_version)
        if opts.nodes:
            with ctx.phase("nodes"):
                nodes = await list_nodes(api)
            record_nodes(nodes, ctx)


async def list_nodes(api: HttpApi) -> list[tuple[str, bool]]:
    """(name, Ready) of every node, page by page."""
    found: list[tuple[str, bool]] = []
    token = ""
    while True:
        params = {"limit": str(NODE_PAGE), **({"continue": token} if token else {})}
        page = await api.get("/api/v1/nodes", params=params, max_body=MAX_PAGE_BYTES)
        if page.status in (401, 403):
            raise ProbeError(Reason.auth, f"list nodes: HTTP {page.status}")
        if page.status != 200:
            raise ProbeError(Reason.status_code, f"list nodes: HTTP {page.status}: {page.snippet()}")
        items, token = node_list(page)
        found += [(node_name(node), node_ready(node)) for node in items]
        if not token:
            return found


def node_list(page: Reply) -> tuple[list[dict[str, Any]], str]:
    """The items of a NodeList page and its `continue` token; anything else is not the Kubernetes API."""
    body = page.json()
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ProbeError(
            Reason.protocol, f"list nodes: the answer is not a NodeList (items: {page.snippet()})"
        )
    meta = body.get("metadata")
    token = meta.get("continue") if isinstance(meta, dict) else None
    return items, token if isinstance(token, str) else ""


def node_name(node: dict[str, Any]) -> str:
    meta = node.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return str(name or "?")


def node_ready(node: dict[str, Any]) -> bool:
    status = node.get("status")
    conditions = status.get("conditions") if isinstance(status, dict) else None
    return any(
        isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True"
        for c in conditions or []
    )


def record_nodes(nodes: list[tuple[str, bool]], ctx: ProbeContext) -> None:
    not_ready = sorted(name for name, ready in nodes if not ready)
    ctx.fact("k8s_nodes", len(nodes))
    ctx.fact("k8s_nodes_ready", len(nodes) - len(not_ready))
    ctx.fact("k8s_nodes_not_ready", not_ready[:MAX_NAMES])
    if len(not_ready) == len(nodes):
        raise ProbeError(Reason.not_ready, f"nodes: none of {len(nodes)} is Ready")

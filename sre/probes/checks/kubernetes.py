"""Kubernetes: API server readiness (`/readyz`, `/version`) and node readiness (the kubernetes client).

/readyz is read over plain HTTP and judged by its status code, as its
documentation intends (200 is ready; otherwise the body names the failing
checks and goes into the message). Nodes are
listed with the official client, which is synchronous: it runs in a thread
with urllib3 timeouts and retries off, so a cancelled probe leaves nothing
running for longer than its own timeout. No node Ready is `not_ready`; some
not Ready is recorded for the judge (`k8s_nodes_not_ready`).

Secrets: `token` (a bearer token; a ServiceAccount needs `list nodes`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from sre.errors import one_line
from sre.probes.checks._http_api import HttpApi, expect_status
from sre.probes.checks._support import Secrets, fail, load_settings
from sre.probes.context import ProbeContext
from sre.probes.model import ProbeError, Reason, Target
from sre.probes.settings import KubernetesSettings

MAX_NAMES = 10


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
            nodes = await asyncio.to_thread(list_nodes, target, token)
        record_nodes(nodes, ctx)


def list_nodes(target: Target, token: str | None) -> list[tuple[str, bool]]:
    """(name, Ready) of every node; runs in a thread."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    config = client.Configuration()
    config.host = target.endpoint.url.rstrip("/")
    config.verify_ssl = True
    config.ssl_ca_cert = target.endpoint.ca_file
    config.retries = False  # urllib3 would retry three times by default
    if target.endpoint.server_name:
        config.tls_server_name = target.endpoint.server_name
    if token:
        config.api_key = {"authorization": token}
        config.api_key_prefix = {"authorization": "Bearer"}
    with client.ApiClient(config) as api:
        try:
            found = client.CoreV1Api(api).list_node(_request_timeout=(target.timeout, target.timeout))
        except ApiException as exc:
            if exc.status in (401, 403):
                raise ProbeError(Reason.auth, f"list nodes: HTTP {exc.status} ({exc.reason})") from None
            raise ProbeError(Reason.status_code, f"list nodes: HTTP {exc.status} ({exc.reason})") from None
        except ValueError as exc:  # an answer that does not deserialise into a NodeList
            raise ProbeError(
                Reason.protocol, f"list nodes: the answer is not a NodeList ({first_error(exc)})"
            ) from None
        except Exception as exc:  # urllib3 failures: refused, TLS, garbage, timeouts
            raise_transport(exc)
    return [(node_name(node), node_ready(node)) for node in found.items or []]


def first_error(exc: ValueError) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError) and exc.errors():
        error = exc.errors()[0]
        return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
    return one_line(exc)[:200]


def node_name(node: Any) -> str:
    return str(getattr(node.metadata, "name", None) or "?")


def node_ready(node: Any) -> bool:
    conditions = (node.status.conditions if node.status else None) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def raise_transport(exc: Exception) -> None:
    from urllib3.exceptions import ProtocolError

    if isinstance(exc, ProtocolError):
        raise ProbeError(Reason.protocol, f"list nodes: {one_line(exc)[:200]}") from None
    fail(getattr(exc, "reason", None) or exc, "list nodes")


def record_nodes(nodes: list[tuple[str, bool]], ctx: ProbeContext) -> None:
    not_ready = sorted(name for name, ready in nodes if not ready)
    ctx.fact("k8s_nodes", len(nodes))
    ctx.fact("k8s_nodes_ready", len(nodes) - len(not_ready))
    ctx.fact("k8s_nodes_not_ready", not_ready[:MAX_NAMES])
    if len(not_ready) == len(nodes):
        raise ProbeError(Reason.not_ready, f"nodes: none of {len(nodes)} is Ready")

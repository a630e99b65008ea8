"""Vault: `GET /v1/sys/health`, judged by its status code, as Vault documents it.

No query overrides (standbyok, ...) are sent, so the code is Vault's own
verdict: 200 active, 429 standby, 473 performance standby, 472 DR secondary,
503 sealed, 501 not initialised, 474 standby that cannot reach the active
node, 530 removed from the cluster. The endpoint needs no token.
"""

from __future__ import annotations

from sre.probes.checks._http_api import HttpApi
from sre.probes.checks._support import Secrets
from sre.probes.context import ProbeContext
from sre.probes.model import ProbeError, Reason, Target

# status code -> (role, what it means)
SERVING: dict[int, tuple[str, str]] = {
    200: ("primary", "active"),
    429: ("replica", "standby"),
    473: ("replica", "performance standby"),
    472: ("replica", "DR secondary"),
}
NOT_SERVING: dict[int, str] = {
    503: "sealed",
    501: "not initialised",
    474: "standby cannot reach the active node",
    530: "removed from the cluster",
}


async def check_vault(target: Target, ctx: ProbeContext) -> None:
    secrets = Secrets(ctx)
    async with HttpApi(target, ctx, secrets) as api:
        with ctx.phase("request"):
            reply = await api.get("/v1/sys/health")
        api.evidence(reply)
    code = reply.status
    ctx.fact("http_status", code)
    ctx.fact("vault_status_code", code)
    body = reply.json_object() if code in SERVING or code in NOT_SERVING else None
    if body is not None:
        if not isinstance(body.get("sealed"), bool) or not isinstance(body.get("initialized"), bool):
            message = f"{reply.request}: not a Vault health answer: {reply.snippet()}"
            raise ProbeError(Reason.protocol, message)
        ctx.fact("vault_sealed", body["sealed"])
        ctx.fact("vault_initialized", body["initialized"])
        for key, fact in (("version", "vault_version"), ("cluster_name", "vault_cluster_name")):
            if isinstance(body.get(key), str):
                ctx.fact(fact, body[key])
        if isinstance(body.get("replication_dr_mode"), str):
            ctx.fact("vault_replication_dr_mode", body["replication_dr_mode"])
    if code in SERVING:
        role, state = SERVING[code]
        ctx.fact("role", role)
        ctx.fact("vault_state", state)
        return
    if code in NOT_SERVING:
        ctx.fact("vault_state", NOT_SERVING[code])
        raise ProbeError(Reason.not_ready, f"{reply.request}: HTTP {code}: Vault is {NOT_SERVING[code]}")
    message = f"{reply.request}: HTTP {code} is no Vault health code: {reply.snippet()}"
    raise ProbeError(Reason.status_code, message)

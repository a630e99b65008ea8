"""Kubernetes actions through the official client: scale a deployment, restart its rollout.

The API server is the endpoint of a kubernetes-kind service in the model; its
bearer token is the endpoint's `token` secret. The client is synchronous, so
each call runs in a thread.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import Field

from sre.errors import one_line
from sre.runbooks.actions.base import Action, ActionFailed, Args, Check, Context

NAME = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"  # a DNS-1123 name: no path or query tricks
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


class DeploymentArgs(Args):
    service: str
    tier: str
    namespace: str = Field(pattern=NAME)
    deployment: str = Field(pattern=NAME)


class ScaleArgs(DeploymentArgs):
    replicas: int = Field(ge=0, le=10_000)


def _api(ctx: Context, service: str, tier: str) -> Any:
    from kubernetes import client

    endpoint = ctx.endpoint(service, tier)
    config = client.Configuration()
    config.host = endpoint.url.rstrip("/")
    token = ctx.secret(endpoint, "token")
    if token:
        config.api_key = {"authorization": f"Bearer {token}"}
    if endpoint.ca_file:
        config.ssl_ca_cert = endpoint.ca_file
    config.retries = False
    return client.AppsV1Api(client.ApiClient(config))


async def _call(ctx: Context, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    from kubernetes.client.exceptions import ApiException

    try:
        return await asyncio.to_thread(fn, *args, _request_timeout=10, **kwargs)
    except ApiException as exc:
        raise ActionFailed(
            ctx.scrub(f"{what}: HTTP {exc.status} {exc.reason}"),
            permanent=exc.status in (400, 401, 403, 404, 422),
        ) from None
    except Exception as exc:  # urllib3 and socket errors: the client wraps them in its own types
        raise ActionFailed(ctx.scrub(f"{what}: {one_line(exc)}")) from None


async def _read(ctx: Context, a: DeploymentArgs) -> Any:
    api = _api(ctx, a.service, a.tier)
    return await _call(
        ctx,
        f"read deployment {a.namespace}/{a.deployment}",
        api.read_namespaced_deployment,
        a.deployment,
        a.namespace,
    )


def _rolled_out(dep: Any) -> bool:
    status, spec = dep.status, dep.spec
    want = spec.replicas or 0
    return bool(
        (status.observed_generation or 0) >= (dep.metadata.generation or 0)
        and (status.updated_replicas or 0) == want
        and (status.available_replicas or 0) == want
        and (status.replicas or 0) == want
    )


def _unavailable(ctx: Context, a: DeploymentArgs) -> str | None:
    """Why the environment has no Kubernetes API for this endpoint (the sandbox's worker stand-in), if so."""
    return ctx.endpoint(a.service, a.tier).unavailable.get("kubernetes")


class KubernetesScale(Action):
    """Skipped, with the environment's reason, where the endpoint has no Kubernetes API (the sandbox)."""

    name = "kubernetes_scale"
    Args = ScaleArgs
    reversible = True

    async def check(self, args: Any, ctx: Context) -> Check:
        why = _unavailable(ctx, args)
        if why is not None:
            return Check(done=True, facts={"skipped": why})
        dep = await _read(ctx, args)
        return Check(done=dep.spec.replicas == args.replicas, facts={"replicas": dep.spec.replicas})

    async def _scale(self, args: Any, ctx: Context, replicas: int) -> None:
        api = _api(ctx, args.service, args.tier)
        await _call(
            ctx,
            f"scale {args.namespace}/{args.deployment}",
            api.patch_namespaced_deployment_scale,
            args.deployment,
            args.namespace,
            {"spec": {"replicas": replicas}},
        )

    async def apply(self, args: Any, ctx: Context) -> dict[str, Any]:
        await self._scale(args, ctx, args.replicas)
        return {"replicas": args.replicas}

    async def verify(self, args: Any, ctx: Context) -> None:
        dep = await _read(ctx, args)
        if dep.spec.replicas != args.replicas or not _rolled_out(dep):
            raise ActionFailed(
                f"{args.namespace}/{args.deployment}: "
                f"{dep.status.available_replicas or 0} of {args.replicas} available"
            )

    async def compensate(self, args: Any, ctx: Context) -> None:
        before = ctx.facts.get("replicas")
        if isinstance(before, int):
            await self._scale(args, ctx, before)


class KubernetesRolloutRestart(Action):
    """`kubectl rollout restart`: the pod template's restartedAt annotation, set to this run's id.

    The run id makes apply idempotent: a resumed run sees its own annotation and does not restart twice.
    """

    name = "kubernetes_rollout_restart"
    Args = DeploymentArgs

    async def check(self, args: Any, ctx: Context) -> Check:
        dep = await _read(ctx, args)
        annotations = (dep.spec.template.metadata.annotations if dep.spec.template.metadata else None) or {}
        return Check(
            done=annotations.get(RESTARTED_AT) == ctx.run_id,
            facts={"replicas": dep.spec.replicas, "generation": dep.metadata.generation},
        )

    async def apply(self, args: Any, ctx: Context) -> dict[str, Any]:
        api = _api(ctx, args.service, args.tier)
        body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: ctx.run_id}}}}}
        await _call(
            ctx,
            f"restart {args.namespace}/{args.deployment}",
            api.patch_namespaced_deployment,
            args.deployment,
            args.namespace,
            body,
        )
        return {}

    async def verify(self, args: Any, ctx: Context) -> None:
        dep = await _read(ctx, args)
        if not _rolled_out(dep):
            raise ActionFailed(
                f"{args.namespace}/{args.deployment}: rollout not complete "
                f"({dep.status.updated_replicas or 0} updated, "
                f"{dep.status.available_replicas or 0} available)"
            )

"""The registry of checks: one async function per protocol, all with one signature.

    async def check_postgres(target: Target, ctx: ProbeContext) -> None

A check records facts and phases in `ctx` and raises `ProbeError(reason, message)`
when what it saw is wrong; it never sleeps, retries or judges the tier (the runner
does). Modules are imported on first use, so a protocol driver costs nothing
until a probe of that kind runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable

from sre.probes.context import ProbeContext
from sre.probes.model import Target

Check = Callable[[Target, ProbeContext], Awaitable[None]]

# check name -> "module:function" under sre.probes.checks; every platform kind has one.
REGISTRY: dict[str, str] = {
    "http": "http:check_http",
    "https": "http:check_http",
    "tls": "tls:check_tls",
    "tcp": "tcp:check_tcp",
    "dns": "dns:check_dns",
    "grpc": "grpc:check_grpc",
    "postgres": "postgres:check_postgres",
    "redis": "redis:check_redis",
    "nats": "nats:check_nats",
    "kafka": "kafka:check_kafka",
    "mongodb": "mongodb:check_mongodb",
    "clickhouse": "clickhouse:check_clickhouse",
    "s3": "s3:check_s3",
    "vault": "vault:check_vault",
    "elasticsearch": "elasticsearch:check_elasticsearch",
    "mlflow": "mlflow:check_mlflow",
    "kubernetes": "kubernetes:check_kubernetes",
    "delta_lake": "delta_lake:check_delta_lake",
}

_loaded: dict[str, Check] = {}


def register(name: str, check: Check) -> None:
    """Add a check that lives outside this package (a plugin, or a test's fake check)."""
    REGISTRY[name] = f"{check.__module__}:{getattr(check, '__name__', name)}"
    _loaded[name] = check


def get_check(name: str) -> Check:
    found = _loaded.get(name)
    if found is None:
        module_name, _, func = REGISTRY[name].partition(":")
        found = getattr(importlib.import_module(f"sre.probes.checks.{module_name}"), func)
        _loaded[name] = found
    return found

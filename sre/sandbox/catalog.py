"""Which component stands for which platform service, what cannot run here, and the two profiles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sre.sandbox.context import Launcher, Profile

if TYPE_CHECKING:
    from sre.platform.model import Platform

# Kinds with no server that installs on this kind of machine: never faked in the sandbox.
NOT_IN_SANDBOX: dict[str, str] = {
    "vault": "no Vault or OpenBao server installs here (nothing in Debian or PyPI)",
    "elasticsearch": "no Elasticsearch, Logstash or Kibana installs here",
    "kafka": "no Apache Kafka broker installs here",
    "mongodb": "no MongoDB server (mongod) installs here",
    "delta_lake": "a table format on object storage, not a server; the sandbox keeps no Delta table",
}


def bindings(platform: Platform, among: Sequence[Launcher] | None = None) -> dict[str, list[str]]:
    """Component name -> the platform services it stands for: those of its kinds, unless platform.yaml's
    `sandbox` section gives them to a component or skips them; plus those that section gives it."""
    given = {sid for sids in platform.sandbox.components.values() for sid in sids}
    out: dict[str, list[str]] = {}
    for launcher in all_launchers() if among is None else among:
        by_kind = [
            sid
            for sid, svc in platform.services.items()
            if svc.kind in launcher.kinds and sid not in given and sid not in platform.sandbox.skip
        ]
        out[launcher.name] = [*platform.sandbox.components.get(launcher.name, []), *by_kind]
    return out


def not_in_sandbox(platform: Platform) -> dict[str, str]:
    """Service -> why the sandbox does not run it: skipped in platform.yaml, or a kind nothing here serves."""
    out = {sid: why for sid, why in platform.sandbox.skip.items() if sid in platform.services}
    for sid, svc in platform.services.items():
        if sid not in out and svc.kind in NOT_IN_SANDBOX:
            out[sid] = NOT_IN_SANDBOX[svc.kind]
    return out


def launchers(profile: Profile) -> list[Launcher]:
    """The components of a profile, in start order (a component starts after those it needs)."""
    from sre.sandbox.launchers import (
        alertmanager,
        blackbox,
        cdn,
        clickhouse,
        exporters,
        gateway,
        http_metrics,
        mlflow,
        nats,
        otel,
        postgres,
        probe_exporter,
        prometheus,
        redis,
        seaweedfs,
        serve,
        server_metrics,
        webhook,
        workers,
    )

    ordered = [
        *(postgres.LAUNCHER, redis.LAUNCHER, nats.LAUNCHER, workers.LAUNCHER),
        *(clickhouse.LAUNCHER, seaweedfs.LAUNCHER, mlflow.LAUNCHER, otel.LAUNCHER),
        *(gateway.LAUNCHER, cdn.LAUNCHER),
        *(
            webhook.LAUNCHER,
            alertmanager.LAUNCHER,
            blackbox.LAUNCHER,
            exporters.LAUNCHER,
            http_metrics.LAUNCHER,
            server_metrics.LAUNCHER,
            probe_exporter.LAUNCHER,
        ),
        *(prometheus.LAUNCHER, serve.LAUNCHER),
    ]
    # Each launcher says which profile it belongs to; the full profile runs them all.
    return [launcher for launcher in ordered if profile in ("full", launcher.profile)]


def all_launchers() -> list[Launcher]:
    return launchers("full")

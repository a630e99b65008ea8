"""Which component stands for which platform service, what cannot run here, and the two profiles."""

from __future__ import annotations

from sre.sandbox.context import Launcher, Profile

# Platform services with no server that installs on this kind of machine: never faked in the sandbox.
NOT_IN_SANDBOX: dict[str, str] = {
    "vault": "no Vault or OpenBao server installs here (nothing in Debian or PyPI)",
    "grafana": "no Grafana server installs here (nothing in Debian, PyPI or npm)",
    "elk": "no Elasticsearch, Logstash or Kibana installs here",
    "kafka": "no Apache Kafka broker installs here",
    "mongo": "no MongoDB server (mongod) installs here",
    "ai_engine": "no inference engine with model weights installs here",
    "delta_lake": "a table format on object storage, not a server; the sandbox keeps no Delta table",
}


def launchers(profile: Profile) -> list[Launcher]:
    """The components of a profile, in start order (a component starts after those it needs)."""
    from sre.sandbox.launchers import (
        alertmanager,
        blackbox,
        cdn,
        clickhouse,
        exporters,
        gateway,
        mlflow,
        nats,
        otel,
        postgres,
        probe_exporter,
        prometheus,
        redis,
        seaweedfs,
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
            probe_exporter.LAUNCHER,
        ),
        prometheus.LAUNCHER,
    ]
    # Each launcher says which profile it belongs to; the full profile runs them all.
    return [launcher for launcher in ordered if profile in ("full", launcher.profile)]


def all_launchers() -> list[Launcher]:
    return launchers("full")

"""The exporters the dashboards read, for the servers the sandbox runs: postgres_exporter and
redis_exporter per running tier, one node_exporter for the host they all share (Debian packages).

Each writes a file_sd target file (DIR/exporters/<job>.json) labelled with the platform's service,
zone, tier and dc, which Prometheus reads; passwords go by file, never on a command line or in the
environment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sre.sandbox import binaries, health
from sre.sandbox.context import Launcher, Run, write_private
from sre.sandbox.launchers import postgres
from sre.sandbox.supervisor import ProcessSpec

NAME = "exporters"
JOBS = ("postgres_exporter", "redis_exporter", "node_exporter")
# The kinds whose dashboards show their hosts (node_exporter's USE panels), as dashboards/_panels.py has it.
ON_HOSTS = frozenset(
    {"postgres", "mongodb", "clickhouse", "redis", "kafka", "nats", "vault", "elasticsearch"}
)


@dataclass(frozen=True)
class Group:
    port: int
    service: str
    tier: str

    def labels(self, run: Run) -> dict[str, str]:
        return {
            "service": self.service,
            "zone": run.platform.services[self.service].zone,
            "tier": self.tier,
            "dc": run.platform.tiers[self.tier].dc,
        }


def target_file(root: Path, job: str) -> Path:
    return root / "exporters" / f"{job}.json"


def _write(run: Run, job: str, groups: list[Group]) -> None:
    body = [{"targets": [f"127.0.0.1:{g.port}"], "labels": g.labels(run)} for g in groups]
    path = target_file(run.root, job)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")


def _running(run: Run, kind: str) -> list[tuple[str, str, int]]:
    """(service, tier, port) of every running server of this kind, from the endpoints recorded."""
    services = run.platform.services
    return [
        (r.service, r.tier, urlsplit(r.endpoint).port or 0)
        for r in run.rows
        if r.state == "running" and r.endpoint and r.service in services and services[r.service].kind == kind
    ]


# Debian's postgres_exporter (0.11) has no replication-lag collector; the newer ones name it so.
PG_QUERIES = """\
pg_replication:
  query: >-
    SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0
    ELSE GREATEST(0, EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())) END AS lag_seconds
  master: true
  metrics:
    - lag_seconds:
        usage: GAUGE
        description: Replication lag behind the primary in seconds
"""


def start(run: Run) -> None:
    folder = run.folder("exporters", mode=0o700)
    queries = folder / "postgres-queries.yaml"
    queries.write_text(PG_QUERIES, encoding="utf-8")
    urls: dict[str, str] = {}
    pg_groups = []
    for service, tier, server_port in _running(run, "postgres"):
        port = run.port(f"postgres_exporter.{tier}")
        name = f"postgres-exporter-{tier}"
        run.supervisor.start(
            ProcessSpec(
                name=name,
                component=NAME,
                argv=[
                    str(run.binary("prometheus-postgres-exporter")),
                    f"--web.listen-address=127.0.0.1:{port}",
                    f"--extend.query-path={queries}",
                ],
                env={
                    "DATA_SOURCE_URI": f"127.0.0.1:{server_port}/postgres?sslmode=disable",
                    "DATA_SOURCE_USER": postgres.ADMIN,
                    "DATA_SOURCE_PASS_FILE": str(run.secret("postgres-admin")),
                },
                health=health.http_get(port, "/metrics"),
                ports={"http": port},
            )
        )
        pg_groups.append(Group(port, service, tier))
        urls[name] = run.url("http", port)
    redis_groups = []
    for service, tier, server_port in _running(run, "redis"):
        port = run.port(f"redis_exporter.{tier}")
        address = f"redis://127.0.0.1:{server_port}"
        # redis_exporter's password file maps each address to its password (JSON).
        passwords = write_private(
            folder / f"redis-{tier}.json", json.dumps({address: run.read_secret("redis")})
        )
        name = f"redis-exporter-{tier}"
        run.supervisor.start(
            ProcessSpec(
                name=name,
                component=NAME,
                argv=[
                    str(run.binary("prometheus-redis-exporter")),
                    f"-web.listen-address=127.0.0.1:{port}",
                    f"-redis.addr={address}",
                    f"-redis.password-file={passwords}",
                ],
                health=health.http_get(port, "/metrics"),
                ports={"http": port},
            )
        )
        redis_groups.append(Group(port, service, tier))
        urls[name] = run.url("http", port)
    node_port = run.port("node_exporter.http")
    run.supervisor.start(
        ProcessSpec(
            name="node-exporter",
            component=NAME,
            argv=[str(run.binary("prometheus-node-exporter")), f"--web.listen-address=127.0.0.1:{node_port}"],
            health=health.http_get(node_port, "/metrics"),
            ports={"http": node_port},
        )
    )
    urls["node-exporter"] = run.url("http", node_port)
    # Every server here shares this host: node_exporter is scraped once per service and tier it stands for.
    from sre.grafana.panels.kinds import ON_HOSTS  # the kinds whose dashboards show their hosts

    hosts = sorted(
        {
            (r.service, r.tier)
            for r in run.rows
            if r.state == "running"
            and r.service in run.platform.services
            and run.platform.services[r.service].kind in ON_HOSTS
        }
    )
    _write(run, "postgres_exporter", pg_groups)
    _write(run, "redis_exporter", redis_groups)
    _write(run, "node_exporter", [Group(node_port, s, t) for s, t in hosts])
    run.urls[NAME] = urls


LAUNCHER = Launcher(
    name=NAME,
    title="postgres_exporter, redis_exporter, node_exporter (Debian prometheus-*-exporter)",
    kinds=(),
    binaries=(
        binaries.apt("prometheus-postgres-exporter"),
        binaries.apt("prometheus-redis-exporter"),
        binaries.apt("prometheus-node-exporter"),
    ),
    start=start,
    needs=("postgres", "redis"),
    profile="full",
    stage=3,
)

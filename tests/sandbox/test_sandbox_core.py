"""The core profile for real: one sandbox for the module, brought up and down around these tests."""

from __future__ import annotations

import json
import socket
import ssl
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from sandbox_helpers import (
    Running,
    env,
    eventually,
    get,
    get_json,
    haproxy,
    nats_js,
    nats_role,
    pg,
    rd,
    sre,
    tls_context,
)

from sre.sandbox.ports import port_is_open
from sre.sandbox.supervisor import is_ours

pytestmark = pytest.mark.integration

GATEWAYS = ("ext_api", "int_api", "push_svc", "analytics_gw")


def test_environment_loads_and_inventory_commands_work(core: Running) -> None:
    e = env(core)
    for service in ("db_postgres", "k8s_workers", *GATEWAYS, "cdn"):
        assert set(e.endpoints[service]) == {"primary", "secondary", "tertiary"}, service
    assert set(e.endpoints["redis"]) == {"primary", "secondary"}  # no tertiary Redis server at all
    assert e.endpoints["k8s_workers"]["primary"].params["grpc"].startswith("127.0.0.1:")
    for service in ("vault", "grafana", "elk", "kafka", "mongo", "ai_engine"):
        assert e.unavailable[service].startswith("not in sandbox: "), service
    assert e.unavailable["clickhouse"].startswith("skipped: not in the core profile")
    assert e.ca_file and Path(e.ca_file).is_file()
    assert (
        oct(Path(e.endpoints["db_postgres"]["primary"].secrets["password"].file or "").stat().st_mode)[-3:]
        == "600"
    )

    validated = sre(core, "inventory", "validate")
    assert validated.returncode == 0, validated.stderr
    assert "environments: prod, sandbox" in validated.stdout
    shown = sre(core, "inventory", "show", "--env", "sandbox")
    assert shown.returncode == 0, shown.stderr
    assert "127.0.0.1" in shown.stdout


def test_status_shows_every_service_in_every_tier(core: Running) -> None:
    done = sre(core, "sandbox", "status", "--format", "json", "--dir", str(core.sandbox.root))
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    platform = core.place.platform()
    rows = {(r["service"], r["tier"]): r for r in body["services"]}
    assert set(rows) == {(s, t) for s in platform.services for t in platform.tiers}
    assert rows[("db_postgres", "secondary")]["state"] == "running"
    assert rows[("db_postgres", "tertiary")]["state"] == "stopped"
    assert rows[("ext_api", "tertiary")]["state"] == "stopped"
    assert rows[("redis", "tertiary")]["state"] == "not_in_sandbox"
    assert rows[("vault", "primary")]["state"] == "not_in_sandbox"
    assert rows[("s3", "primary")]["state"] == "skipped"
    assert all(r["reason"] for r in body["services"] if r["state"] != "running")
    table = sre(core, "sandbox", "status", "--dir", str(core.sandbox.root))
    assert table.returncode == 0, table.stderr
    assert "not in sandbox" in table.stdout


def test_postgres_replica_streams_and_receives_writes(core: Running) -> None:
    marker = uuid.uuid4().hex
    with pg(core, "primary") as primary:
        states = primary.execute("SELECT application_name, state FROM pg_stat_replication").fetchall()
        assert ("postgres-secondary", "streaming") in states
        primary.execute("INSERT INTO events (service, tier) VALUES (%s, 'test')", (marker,))
    with pg(core, "secondary") as replica:
        assert replica.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
        eventually(lambda: replica.execute("SELECT 1 FROM events WHERE service = %s", (marker,)).fetchone())
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            replica.execute("INSERT INTO events (service, tier) VALUES ('x', 'x')")


def test_redis_replica_is_linked_and_receives_writes(core: Running) -> None:
    primary, replica = rd(core, "primary"), rd(core, "secondary")
    assert replica.info("replication")["master_link_status"] == "up"
    key, value = f"test:{uuid.uuid4().hex}", uuid.uuid4().hex
    primary.set(key, value)
    assert eventually(lambda: replica.get(key)) == value.encode()
    with pytest.raises(redis.ReadOnlyError):
        replica.set(key, "nope")


def test_gateways_and_cdn_accept_tls13_only(core: Running) -> None:
    e = env(core)
    ca = Path(e.ca_file or "")
    for service in (*GATEWAYS, "cdn"):
        for tier in ("primary", "secondary"):
            port = int(e.endpoints[service][tier].url.rsplit(":", 1)[1])
            with (
                socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
                tls_context(ca).wrap_socket(raw, server_hostname="localhost") as tls,
            ):
                assert tls.version() == "TLSv1.3", (service, tier)
            old = tls_context(ca, maximum=ssl.TLSVersion.TLSv1_2)
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, pytest.raises(ssl.SSLError):
                old.wrap_socket(raw, server_hostname="localhost")


def test_healthz_through_every_gateway_and_spa_on_cdn(core: Running) -> None:
    e = env(core)
    ca = Path(e.ca_file or "")
    for service in GATEWAYS:
        for tier in ("primary", "secondary"):
            status, body = get_json(e.endpoints[service][tier].url + "/healthz", ca)
            assert (status, body["status"], body["service"], body["tier"]) == (200, "ok", service, tier)
            assert set(body["dependencies"]) == {"db_postgres", "redis", "nats_js"}
    status, headers, page = get(e.endpoints["cdn"]["primary"].url + "/", ca)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert '<div id="app">' in page


def test_the_secondary_nats_mirrors_the_primary_stream_and_its_worker_reads_it(core: Running) -> None:
    ack = nats_js(core, "primary", lambda js: js.publish("sandbox.test.mirror", b"to-the-mirror"))
    assert ack.domain == "primary"
    found = eventually(
        lambda: (
            nats_js(core, "secondary", lambda js: js.get_msg("SANDBOX", ack.seq))
            if _mirrored(core, ack.seq)
            else None
        )
    )
    assert (found.subject, found.data) == ("sandbox.test.mirror", b"to-the-mirror")  # the same number
    assert nats_role(core, "secondary") == "mirror of SANDBOX ($JS.primary.API)"
    e = env(core)
    status, body = get_json(e.endpoints["k8s_workers"]["secondary"].url + "/healthz", Path(e.ca_file or ""))
    assert status == 200 and body["dependencies"]["nats_js"]["role"] == "mirror"
    status, body = get_json(e.endpoints["k8s_workers"]["primary"].url + "/healthz", Path(e.ca_file or ""))
    assert status == 200 and body["dependencies"]["nats_js"]["role"] == "primary"


def _mirrored(core: Running, seq: int) -> bool:
    return bool(nats_js(core, "secondary", lambda js: js.stream_info("SANDBOX")).state.last_seq >= seq)


def test_worker_answers_grpc_health(core: Running) -> None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    address = env(core).endpoints["k8s_workers"]["primary"].params["grpc"]
    with grpc.insecure_channel(address) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=5
        )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_runtime_api_moves_a_tiers_traffic(core: Running) -> None:
    e = env(core)
    ca = Path(e.ca_file or "")
    url = e.endpoints["ext_api"]["primary"].url + "/healthz"
    haproxy(core, "set map {map} primary secondary")
    try:
        assert get_json(url, ca)[1]["tier"] == "secondary"
    finally:
        haproxy(core, "set map {map} primary primary")
    assert get_json(url, ca)[1]["tier"] == "primary"


def test_worker_health_fails_when_a_dependency_stops(core: Running) -> None:
    e = env(core)
    ca = Path(e.ca_file or "")
    url = e.endpoints["ext_api"]["primary"].url + "/healthz"
    assert core.sandbox.stop_process("redis-primary")
    try:

        def failing() -> tuple[int, dict[str, Any]] | None:
            reply = get_json(url, ca)
            return reply if reply[0] == 503 else None

        _status, body = eventually(failing)
        assert body["status"] == "failing" and body["failing"] == ["redis"]
        down = sre(core, "sandbox", "status", "--format", "json", "--dir", str(core.sandbox.root))
        assert down.returncode == 1
        rows = {(r["service"], r["tier"]): r for r in json.loads(down.stdout)["services"]}
        assert rows[("redis", "primary")]["state"] == "stopped"
    finally:
        core.sandbox.start_process("redis-primary")
    eventually(lambda: get_json(url, ca)[0] == 200)


def test_cold_tertiary_starts_and_catches_up(core: Running) -> None:
    base = env(core).endpoints["db_postgres"]["tertiary"].params["base_backup"]
    assert (Path(base) / "backup_label").is_file()
    marker = uuid.uuid4().hex
    with pg(core, "primary") as primary:
        primary.execute("INSERT INTO events (service, tier) VALUES (%s, 'test')", (marker,))
    core.sandbox.start_process("postgres-tertiary")
    try:
        with pg(core, "tertiary") as cold:
            assert cold.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
            eventually(lambda: cold.execute("SELECT 1 FROM events WHERE service = %s", (marker,)).fetchone())
    finally:
        assert core.sandbox.stop_process("postgres-tertiary")


def test_up_twice_is_harmless(core: Running) -> None:
    before = {r.name: r.pid for r in core.sandbox.state().processes.values()}
    again = sre(core, "sandbox", "up", "--dir", str(core.sandbox.root))
    assert again.returncode == 0, again.stderr
    assert "already running" in again.stdout
    assert {r.name: r.pid for r in core.sandbox.state().processes.values()} == before


def test_commands_without_dir_use_the_sandbox_up_last_used(core: Running) -> None:
    assert sre(core, "sandbox", "up", "--dir", str(core.sandbox.root)).returncode == 0
    done = sre(core, "sandbox", "status", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["dir"] == str(core.sandbox.root)
    stopped = sre(core, "sandbox", "stop", "redis-secondary")
    assert stopped.stdout.strip() == "redis-secondary stopped", stopped.stderr
    started = sre(core, "sandbox", "start", "redis-secondary")
    assert started.stdout.strip() == "redis-secondary started", started.stderr


def test_down_twice_leaves_no_process_and_no_port(core: Running) -> None:
    state = core.sandbox.state()
    records = list(state.processes.values())
    ports = [p for r in records for p in r.ports.values()]
    assert sre(core, "sandbox", "up", "--dir", str(core.sandbox.root)).returncode == 0
    first = sre(core, "sandbox", "down")  # the sandbox `up --dir` last used
    assert first.returncode == 0, first.stderr
    assert "stopped" in first.stdout
    default = core.place.folder / ".sre" / "sandbox"
    after = sre(core, "sandbox", "status")  # down forgot it: back to the default folder
    assert after.stdout.strip() == f"no sandbox in {default}; `sre sandbox up` starts one", after.stderr
    second = sre(core, "sandbox", "down", "--dir", str(core.sandbox.root))
    assert second.returncode == 0, second.stderr
    assert "nothing running" in second.stdout
    assert not [r.name for r in records if is_ours(r)]
    assert not [p for p in ports if port_is_open(p)]
    assert not (core.place.folder / ".sre" / "sandbox" / "environment.yaml").exists()

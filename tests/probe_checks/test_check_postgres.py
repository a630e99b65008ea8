"""PostgreSQL check against a real primary and streaming replica (initdb + pg_basebackup on free ports)."""

from __future__ import annotations

import os
import time

import pytest
from checkrun import probe
from checkservers import PgCluster, closed_port, wait_until

from sre.probes.model import Reason

pytestmark = pytest.mark.integration
SECRET = {"password": PgCluster.PASSWORD}


def test_primary_is_writable_and_sees_its_replica(pg: PgCluster) -> None:
    seen = probe("postgres", pg.url(pg.primary_port), secrets=SECRET).ok()
    assert seen.facts["role"] == "primary"
    assert seen.facts["pg_in_recovery"] is False
    assert seen.facts["writable"] is True
    assert seen.facts["pg_read_only"] is False
    assert seen.facts["pg_replicas"] == 1
    assert seen.facts["pg_server_version"] >= 100000
    assert {"connect", "query", "write"} <= seen.phases.keys()


def test_replica_streaming_and_caught_up_has_zero_lag(pg: PgCluster) -> None:
    pg.sql(pg.primary_port, "CREATE TABLE IF NOT EXISTS t (x int)")
    pg.sql(pg.primary_port, "INSERT INTO t VALUES (1)")
    wait_until(
        lambda: pg.sql(
            pg.primary_port, "SELECT bool_and(replay_lsn = pg_current_wal_lsn()) FROM pg_stat_replication"
        )[0],
        "replica caught up with the primary",
    )
    seen = probe("postgres", pg.url(pg.replica_port), secrets=SECRET, upstream=pg.url(pg.primary_port)).ok()
    assert seen.facts["role"] == "replica"
    assert seen.facts["pg_in_recovery"] is True
    assert seen.facts["writable"] is False
    assert seen.facts["pg_wal_receiver"] == "streaming"
    assert seen.facts["pg_replay_caught_up"] is True
    assert seen.facts["pg_primary_lag_bytes"] == 0  # replayed up to the primary's position
    assert seen.facts["lag_seconds"] == 0.0
    assert seen.facts["lag_bytes"] == 0
    assert "write" not in seen.phases
    assert "primary" in seen.phases


def test_replica_without_its_primary_is_judged_on_what_it_heard_last(pg: PgCluster) -> None:
    # No primary to ask (none in the model, or down): the time since the replica last heard from it.
    alone = probe("postgres", pg.url(pg.replica_port), secrets=SECRET).ok()
    assert alone.facts["lag_seconds"] == alone.facts["pg_receipt_age_seconds"]
    assert "pg_primary_lag_bytes" not in alone.facts
    down = probe(
        "postgres",
        pg.url(pg.replica_port),
        secrets=SECRET,
        upstream=f"postgresql://127.0.0.1:{closed_port()}/x",
    ).ok()
    assert "refused" in down.facts["pg_primary_error"]
    assert down.facts["role"] == "replica" and isinstance(down.facts["lag_seconds"], float)


def test_replica_with_replay_paused_reports_byte_and_time_lag(pg: PgCluster) -> None:
    pg.sql(pg.primary_port, "CREATE TABLE IF NOT EXISTS t (x int)")
    pg.sql(pg.replica_port, "SELECT pg_wal_replay_pause()")
    try:
        time.sleep(0.2)  # so the last replayed commit is measurably in the past
        pg.sql(pg.primary_port, "INSERT INTO t SELECT generate_series(1, 1000)")
        wait_until(
            lambda: pg.sql(pg.replica_port, "SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()")[0],
            "WAL received but not replayed",
        )
        seen = probe("postgres", pg.url(pg.replica_port), secrets=SECRET).ok()
    finally:
        pg.sql(pg.replica_port, "SELECT pg_wal_replay_resume()")
    assert seen.facts["pg_replay_paused"] is True
    assert seen.facts["pg_replay_caught_up"] is False
    assert seen.facts["lag_bytes"] > 0
    assert seen.facts["lag_seconds"] > 0
    assert seen.facts["lag_seconds"] == seen.facts["pg_replay_timestamp_lag_seconds"]


def test_stopped_replica_is_connect_refused(pg: PgCluster) -> None:
    pg.stop_replica()
    try:
        seen = probe("postgres", pg.url(pg.replica_port), secrets=SECRET)
    finally:
        pg.start_replica()
    assert seen.reason is Reason.connect_refused
    assert "connect:" in seen.message


def test_wrong_password_is_auth_and_never_echoed(pg: PgCluster) -> None:
    seen = probe("postgres", pg.url(pg.primary_port), secrets={"password": "wrong-secret-91"})
    assert seen.reason is Reason.auth
    assert "wrong-secret-91" not in seen.message
    assert "password authentication failed" in seen.message


def test_read_only_user_on_primary_is_not_writable(pg: PgCluster) -> None:
    pg.sql(pg.primary_port, "DROP ROLE IF EXISTS probe_ro")
    pg.sql(pg.primary_port, f"CREATE ROLE probe_ro LOGIN PASSWORD '{PgCluster.PASSWORD}'")
    pg.sql(pg.primary_port, "ALTER ROLE probe_ro SET default_transaction_read_only = on")
    seen = probe("postgres", pg.url(pg.primary_port), settings={"user": "probe_ro"}, secrets=SECRET).ok()
    assert seen.facts["role"] == "primary"
    assert seen.facts["pg_read_only"] is True
    assert seen.facts["writable"] is False


def test_write_check_catches_a_refused_write(pg: PgCluster) -> None:
    # No TEMP privilege: the session is not read-only, but the write fails, and says why.
    pg.sql(pg.primary_port, "DROP ROLE IF EXISTS probe_notemp")
    pg.sql(pg.primary_port, f"CREATE ROLE probe_notemp LOGIN PASSWORD '{PgCluster.PASSWORD}'")
    pg.sql(pg.primary_port, "REVOKE TEMPORARY ON DATABASE postgres FROM PUBLIC")
    try:
        seen = probe(
            "postgres", pg.url(pg.primary_port), settings={"user": "probe_notemp"}, secrets=SECRET
        ).ok()
    finally:
        pg.sql(pg.primary_port, "GRANT TEMPORARY ON DATABASE postgres TO PUBLIC")
    assert seen.facts["writable"] is False
    assert "permission denied" in seen.facts["pg_write_error"]


def test_unknown_scheme_is_unsupported() -> None:
    seen = probe("postgres", "mysql://127.0.0.1:3306/x")
    assert seen.reason is Reason.unsupported


def test_cold_tier_reports_its_base_backup_age_while_down(pg: PgCluster) -> None:
    base = pg.base_backup()
    fresh = probe("postgres", pg.url(closed_port()), params={"base_backup": str(base)}, secrets=SECRET)
    assert fresh.reason is Reason.connect_refused
    assert 0 <= fresh.facts["backup_age_hours"] < 1
    day_old = time.time() - 30 * 3600
    os.utime(base / "backup_label", (day_old, day_old))
    old = probe("postgres", pg.url(closed_port()), params={"base_backup": str(base)}, secrets=SECRET)
    assert old.facts["backup_age_hours"] == pytest.approx(30, abs=0.01)
    missing = probe("postgres", pg.url(closed_port()), params={"base_backup": str(base / "nope")})
    assert "backup_age_hours" not in missing.facts
    assert "No such file" in missing.facts["pg_base_backup_error"]

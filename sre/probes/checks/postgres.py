"""PostgreSQL: connect, `SELECT 1`, role, replication lag on a replica, writability on a primary.

Replica lag has two honest measures and one trap. The timestamp lag
(`now() - pg_last_xact_replay_timestamp()`) grows on a perfectly healthy
replica while the primary is idle, so when the WAL receiver streams and
everything received is replayed (`receive_lsn = replay_lsn`) the lag is 0;
otherwise it is the timestamp lag, an upper bound. The byte lag is what has
been received but not yet replayed.

A cold tier's endpoint may name the base backup it would start from
(`params.base_backup`, a folder with pg_basebackup's `backup_label`); its age
is recorded as `backup_age_hours` before connecting, so it is known even
while that tier is down.

Secrets: `password`. Settings: see `PostgresSettings`.
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path
from typing import Any

import psycopg

from sre.probes import tlsinfo
from sre.probes.checks._support import (
    Secrets,
    load_settings,
    one_line,
    reason_from_text,
    split_url,
)
from sre.probes.context import ProbeContext
from sre.probes.model import ProbeError, Reason, Target
from sre.probes.settings import PostgresSettings

STATE = """
SELECT 1, pg_is_in_recovery(), current_setting('server_version_num')::int,
       current_setting('transaction_read_only') = 'on'
"""
REPLICA = """
SELECT pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(),
       pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint,
       extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8,
       pg_is_wal_replay_paused(),
       (SELECT coalesce(status, CASE WHEN pid IS NOT NULL THEN 'running' END) FROM pg_stat_wal_receiver)
"""
PRIMARY = "SELECT count(*) FROM pg_stat_replication"
# libpq's SSL attributes are not exposed by psycopg; the server's view of this session is.
TLS = "SELECT version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl"
# A temporary table is WAL-logged in the catalog: creating one needs a writable primary.
WRITE = "CREATE TEMPORARY TABLE sre_probe_write (x int) ON COMMIT DROP"

# Most specific first: libpq reports connection failures as text only (no SQLSTATE).
CONNECT_REASONS: tuple[tuple[re.Pattern[str], Reason], ...] = (
    (
        re.compile(
            r"password authentication failed|no pg_hba\.conf entry|role \S+ does not exist|"
            r"authentication failed|no password supplied|fe_sendauth",
            re.I,
        ),
        Reason.auth,
    ),
    (
        re.compile(r"starting up|shutting down|in recovery mode|not yet accepting|too many clients", re.I),
        Reason.not_ready,
    ),
    (re.compile(r"does not match host name", re.I), Reason.hostname_mismatch),
    (
        re.compile(
            r"expected authentication request|invalid response to SSL negotiation|"
            r"unexpected message|lost synchronization|invalid message",
            re.I,
        ),
        Reason.protocol,
    ),
)


async def check_postgres(target: Target, ctx: ProbeContext) -> None:
    opts = load_settings(PostgresSettings, target.settings)
    secrets = Secrets(ctx)
    if "base_backup" in target.endpoint.params:
        # A cold tier names the base backup it would start from: its age is known even while it is down.
        record_base_backup(Path(target.endpoint.params["base_backup"]), ctx)
    conn = await connect(target, opts, secrets, ctx)
    async with conn:
        try:
            await observe(conn, opts, ctx)
        except psycopg.Error as exc:
            raise ProbeError(query_reason(exc), f"query: {secrets.scrub(one_line(exc))}") from None


async def connect(
    target: Target, opts: PostgresSettings, secrets: Secrets, ctx: ProbeContext
) -> psycopg.AsyncConnection[Any]:
    parts = split_url(target.endpoint.url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ProbeError(Reason.unsupported, f"postgres: expected a postgresql:// URL, got {parts.scheme}://")
    # libpq's connect_timeout is whole seconds, at least 2.
    params: dict[str, Any] = {"connect_timeout": max(2, math.ceil(target.timeout))}
    params["application_name"] = "sre-probe"
    password = secrets.get("password")
    if password is not None:
        params["password"] = password
    if opts.user is not None:
        params["user"] = opts.user
    if opts.database is not None:
        params["dbname"] = opts.database
    if target.endpoint.ca_file is not None:
        params["sslrootcert"] = target.endpoint.ca_file
    try:
        with ctx.phase("connect"):
            conn = await psycopg.AsyncConnection.connect(target.endpoint.url, autocommit=True, **params)
    except psycopg.Error as exc:
        text = secrets.scrub(one_line(exc))
        raise ProbeError(connect_reason(text), f"connect: {text}") from None
    return conn


async def observe(conn: psycopg.AsyncConnection[Any], opts: PostgresSettings, ctx: ProbeContext) -> None:
    with ctx.phase("query"):
        row = await fetch(conn, STATE)
    one, in_recovery, version, read_only = row
    if one != 1:
        raise ProbeError(Reason.protocol, f"SELECT 1 returned {one!r}")
    if conn.pgconn.ssl_in_use:
        tls = await (await conn.execute(TLS)).fetchone()
        if tls is not None:
            ctx.fact("tls_version", tlsinfo.version_name(tls[0]))
            ctx.fact("tls_cipher", tls[1])
    ctx.fact("pg_server_version", version)
    ctx.fact("pg_in_recovery", in_recovery)
    ctx.fact("role", "replica" if in_recovery else "primary")
    if in_recovery:
        ctx.fact("writable", False)
        with ctx.phase("replication"):
            await observe_replica(conn, ctx)
        return
    with ctx.phase("replication"):
        ctx.fact("pg_replicas", (await fetch(conn, PRIMARY))[0])
    ctx.fact("pg_read_only", read_only)
    if read_only or not opts.write_check:
        ctx.fact("writable", not read_only)
        return
    with ctx.phase("write"):
        ctx.fact("writable", await try_write(conn, ctx))


async def observe_replica(conn: psycopg.AsyncConnection[Any], ctx: ProbeContext) -> None:
    caught_up, lag_bytes, timestamp_lag, paused, receiver = await fetch(conn, REPLICA)
    ctx.fact("pg_wal_receiver", receiver)  # streaming, catchup, ...; None: not connected to a primary
    ctx.fact("pg_replay_paused", paused)
    ctx.fact("pg_replay_caught_up", bool(caught_up))
    if lag_bytes is not None:
        ctx.fact("lag_bytes", max(0, int(lag_bytes)))
    if timestamp_lag is not None:
        ctx.fact("pg_replay_timestamp_lag_seconds", round(max(0.0, timestamp_lag), 3))
    streaming = receiver in ("streaming", "running")
    if streaming and caught_up:
        ctx.fact("lag_seconds", 0.0)
    elif timestamp_lag is not None:
        ctx.fact("lag_seconds", round(max(0.0, timestamp_lag), 3))


async def try_write(conn: psycopg.AsyncConnection[Any], ctx: ProbeContext) -> bool:
    try:
        async with conn.transaction(force_rollback=True):
            await conn.execute(WRITE)
    except psycopg.errors.ReadOnlySqlTransaction:
        return False
    except psycopg.DatabaseError as exc:
        if isinstance(exc, psycopg.OperationalError) and conn.closed:
            raise
        ctx.fact("pg_write_error", one_line(exc))
        return False
    return True


async def fetch(conn: psycopg.AsyncConnection[Any], sql: str) -> tuple[Any, ...]:
    cur = await conn.execute(sql)
    row = await cur.fetchone()
    if row is None:
        raise ProbeError(Reason.protocol, "a query that returns one row returned none")
    return tuple(row)


def record_base_backup(folder: Path, ctx: ProbeContext) -> None:
    """`backup_age_hours` from the backup_label pg_basebackup writes (copies keep its time)."""
    try:
        written = (folder / "backup_label").stat().st_mtime
    except OSError as exc:
        ctx.fact("pg_base_backup_error", f"{folder}: {exc.strerror or exc}")
        return
    ctx.fact("pg_base_backup_at", int(written))
    ctx.fact("backup_age_hours", round(max(0.0, time.time() - written) / 3600, 4))


def connect_reason(text: str) -> Reason:
    for pattern, reason in CONNECT_REASONS:
        if pattern.search(text):
            return reason
    return reason_from_text(text) or Reason.connect_error


def query_reason(exc: psycopg.Error) -> Reason:
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return Reason.auth
    if isinstance(exc, psycopg.OperationalError):
        return Reason.connect_error
    return Reason.protocol

"""PostgreSQL: connect, `SELECT 1`, role, replication lag on a replica, writability on a primary.

A replica is measured against its primary, not only against itself: a replica
whose WAL receiver is stalled has replayed everything it received and looks
perfectly caught up from the inside. So on a replica the check

- asks the primary (the same service on the active tier, `Target.upstream`)
  for its WAL position and records `lag_bytes` = that position minus the
  replica's replay position (0 when it has replayed everything);
- records how long ago the replica last heard from its primary
  (`pg_stat_wal_receiver.last_msg_receipt_time`, `pg_receipt_age_seconds`).

`lag_seconds` is 0 when the replica has replayed up to the primary's
position; otherwise the time since it last heard from the primary (a stalled
stream grows it), or, while it replays what it already received, the age of
the last replayed transaction when that is larger (an upper bound). When the
primary cannot be asked (down, or no time left), the replica is judged on
what it said: `pg_primary_error` says why, the byte lag is its own
receive-minus-replay and `lag_seconds` the time since it heard from the primary.
The primary question gets at most half the time left, so a hung primary
cannot turn the replica's own answer into a timeout.

A cold tier's endpoint may name the base backup it would start from
(`params.base_backup`, a folder with pg_basebackup's `backup_label`); its age
is recorded as `backup_age_hours` before connecting, so it is known even
while that tier is down.

Secrets: `password`. Settings: see `PostgresSettings`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import re
import time
from pathlib import Path
from typing import Any

import psycopg

from sre.errors import one_line
from sre.probes import tlsinfo
from sre.probes.checks._support import Secrets, load_settings, reason_from_text, split_url
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
       (SELECT coalesce(status, CASE WHEN pid IS NOT NULL THEN 'running' END) FROM pg_stat_wal_receiver),
       extract(epoch FROM now() - (SELECT last_msg_receipt_time FROM pg_stat_wal_receiver))::float8
"""
# On the primary: its WAL position (NULL when it is itself in recovery: then there is nothing to compare).
PRIMARY_POSITION = """
SELECT pg_is_in_recovery(), CASE WHEN NOT pg_is_in_recovery() THEN pg_current_wal_lsn()::text END
"""
# Back on the replica, after the primary answered, so the difference is never an underestimate.
BEHIND = "SELECT pg_wal_lsn_diff(%(lsn)s::pg_lsn, pg_last_wal_replay_lsn())::bigint"
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
        if ctx.observation.facts.get("role") == "replica" and target.upstream is not None:
            with ctx.phase("primary"):
                await compare_with_primary(conn, target, opts, ctx)
        settle_lag(ctx.observation.facts)


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
    caught_up, lag_bytes, timestamp_lag, paused, receiver, receipt_age = await fetch(conn, REPLICA)
    ctx.fact("pg_wal_receiver", receiver)  # streaming, catchup, ...; None: not connected to a primary
    ctx.fact("pg_replay_paused", paused)
    ctx.fact("pg_replay_caught_up", bool(caught_up))
    if lag_bytes is not None:
        ctx.fact("pg_replay_pending_bytes", max(0, int(lag_bytes)))  # received, not yet replayed
    if timestamp_lag is not None:
        ctx.fact("pg_replay_timestamp_lag_seconds", round(max(0.0, timestamp_lag), 3))
    if receipt_age is not None:
        ctx.fact("pg_receipt_age_seconds", round(max(0.0, receipt_age), 3))


async def compare_with_primary(
    conn: psycopg.AsyncConnection[Any], target: Target, opts: PostgresSettings, ctx: ProbeContext
) -> None:
    """`pg_primary_lag_bytes`: how far the replica's replay is behind the primary's WAL position.

    Budgeted: a primary that hangs or is down leaves the replica judged on its own answer.
    """
    assert target.upstream is not None
    primary = dataclasses.replace(
        target, endpoint=target.upstream, secrets={**target.secrets, **target.upstream.secrets}
    )
    side = ProbeContext(ctx.run, primary)
    secrets = Secrets(side)
    budget = ctx.side_budget()
    try:
        async with asyncio.timeout(budget):
            upstream = await connect(primary, opts, secrets, side)
            async with upstream:
                in_recovery, position = await fetch(upstream, PRIMARY_POSITION)
    except TimeoutError:
        ctx.fact("pg_primary_error", f"the primary gave no answer within {budget:.2g} s")
        return
    except ProbeError as exc:
        ctx.fact("pg_primary_error", exc.message)
        return
    except psycopg.Error as exc:
        ctx.fact("pg_primary_error", secrets.scrub(one_line(exc)))
        return
    if in_recovery or position is None:
        ctx.fact("pg_primary_error", "the primary tier's server is itself in recovery")
        return
    try:
        (behind,) = await fetch(conn, BEHIND, {"lsn": position})
    except psycopg.Error as exc:
        raise ProbeError(query_reason(exc), f"query: {one_line(exc)}") from None
    ctx.fact("pg_primary_lsn", position)
    ctx.fact("pg_primary_lag_bytes", max(0, int(behind)) if behind is not None else None)


def settle_lag(facts: dict[str, Any]) -> None:
    """`lag_bytes` and `lag_seconds` of a replica from what was seen (see the module's text)."""
    if facts.get("role") != "replica":
        return
    behind = facts.get("pg_primary_lag_bytes")
    pending = facts.get("pg_replay_pending_bytes")
    if isinstance(behind, int):
        facts["lag_bytes"] = behind
    elif isinstance(pending, int):
        facts["lag_bytes"] = pending
    if behind == 0:
        facts["lag_seconds"] = 0.0
        return
    candidates: list[float] = []
    heard = facts.get("pg_receipt_age_seconds")
    if isinstance(heard, float):
        candidates.append(heard)
    stamp = facts.get("pg_replay_timestamp_lag_seconds")
    replaying = not facts.get("pg_replay_caught_up")
    if isinstance(stamp, float) and (replaying or heard is None):
        candidates.append(stamp)
    if candidates:
        facts["lag_seconds"] = round(max(candidates), 3)


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


async def fetch(
    conn: psycopg.AsyncConnection[Any], sql: str, params: dict[str, Any] | None = None
) -> tuple[Any, ...]:
    cur = await conn.execute(sql, params)
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

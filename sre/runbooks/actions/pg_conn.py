"""Superuser connections for the PostgreSQL DR actions, from the endpoint's `admin_user` param and
`admin_password` secret (the app role cannot promote, go read-only or rewind).

Every message is scrubbed of the secrets it resolved; a server that cannot be
reached is an ActionFailed naming the service and tier, never a traceback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from sre.errors import one_line
from sre.runbooks.actions.base import ActionFailed, Context

if TYPE_CHECKING:
    import psycopg

CONNECT_TIMEOUT = 5


def admin_credentials(ctx: Context, service: str, tier: str) -> dict[str, Any]:
    """Connection keywords: the endpoint's URL with the admin user and password, database postgres."""
    endpoint = ctx.endpoint(service, tier)
    user = endpoint.params.get("admin_user")
    password = ctx.secret(endpoint, "admin_password")
    extra: dict[str, Any] = {"dbname": "postgres"}
    if user and password:
        extra |= {"user": user, "password": password}
    else:  # no superuser in the model: the endpoint's own role, which may lack the privileges
        own = ctx.secret(endpoint, "password")
        extra = {"password": own} if own else {}
    return {"conninfo": endpoint.url, **extra}


@asynccontextmanager
async def admin(ctx: Context, service: str, tier: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    import psycopg

    try:
        conn = await psycopg.AsyncConnection.connect(
            **admin_credentials(ctx, service, tier), connect_timeout=CONNECT_TIMEOUT, autocommit=True
        )
    except (psycopg.Error, OSError) as exc:
        raise ActionFailed(ctx.scrub(f"{service}/{tier}: {one_line(exc)}")) from None
    try:
        async with conn:
            yield conn
    except psycopg.Error as exc:
        raise ActionFailed(ctx.scrub(f"{service}/{tier}: {one_line(exc)}")) from None


async def one(conn: psycopg.AsyncConnection[Any], sql: str, params: Any = None) -> tuple[Any, ...]:
    cur = await conn.execute(sql.encode(), params)
    row = await cur.fetchone()
    if row is None:
        raise ActionFailed(f"{sql.split(maxsplit=1)[0]}: no row")
    return tuple(row)


async def in_recovery(ctx: Context, service: str, tier: str) -> bool:
    async with admin(ctx, service, tier) as conn:
        return bool((await one(conn, "SELECT pg_is_in_recovery()"))[0])


# The WAL position a server is at: written on a primary, replayed on a standby. And its timeline,
# from the WAL file name of that position (pg_control's lags until the next checkpoint).
POSITION = """
SELECT pg_is_in_recovery(),
       CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END,
       CASE WHEN pg_is_in_recovery() THEN (SELECT received_tli FROM pg_stat_wal_receiver)
            ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END
"""


async def position(ctx: Context, service: str, tier: str) -> tuple[bool, str, int | None]:
    """(in recovery, WAL position as text, timeline) of one server."""
    async with admin(ctx, service, tier) as conn:
        recovering, lsn, timeline = await one(conn, POSITION)
    return bool(recovering), str(lsn), None if timeline is None else int(timeline)


async def behind(ctx: Context, service: str, tier: str, lsn: str) -> int:
    """Bytes of WAL a standby has still to replay to reach `lsn` (0 or less: there)."""
    async with admin(ctx, service, tier) as conn:
        (gap,) = await one(conn, "SELECT pg_wal_lsn_diff(%s::pg_lsn, pg_last_wal_replay_lsn())", (lsn,))
    return int(gap) if gap is not None else 1 << 62

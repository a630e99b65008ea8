"""The worker's `POST /write`: one acknowledged row in `drill_writes`, for the DR drill to count.

A write is acknowledged (200) only after its COMMIT on this worker's tier's
PostgreSQL; anything else (a read-only replica, a database that is down, a
gateway frozen for a switchover) is not a 2xx, so a writer can tell exactly
which rows the platform promised to keep. A repeated (writer, seq) is a no-op
that still answers 200: a writer that lost an answer may send it again.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

MAX_BODY = 1024
INT32 = 2**31 - 1
INT64 = 2**63 - 1

INSERT = "INSERT INTO drill_writes (writer, seq, tier) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING"


class BadWrite(ValueError):
    """The body is not `{"writer": int, "seq": int}` within bounds."""


def parse(body: bytes) -> tuple[int, int]:
    """(writer, seq) from a request body, or BadWrite naming what is wrong."""
    if len(body) > MAX_BODY:
        raise BadWrite(f"body over {MAX_BODY} bytes")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise BadWrite("body is not JSON") from None
    if not isinstance(data, dict) or set(data) != {"writer", "seq"}:
        raise BadWrite('expected {"writer": int, "seq": int}')
    writer, seq = data["writer"], data["seq"]
    # bool is an int in Python; a writer id of `true` is a mistake, not writer 1.
    for name, value, top in (("writer", writer, INT32), ("seq", seq, INT64)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= top:
            raise BadWrite(f"{name}: expected an integer in [0, {top}]")
    return writer, seq


class Writer:
    """One connection for writes (apart from the health round's), reopened after any failure."""

    def __init__(self, connect: Any, tier: str) -> None:
        self._connect = connect  # async () -> psycopg.AsyncConnection (autocommit off)
        self._tier = tier
        self._conn: Any = None
        self._lock = asyncio.Lock()

    async def write(self, writer: int, seq: int) -> None:
        """Insert and COMMIT; raises on any failure (the caller answers non-2xx).

        A connection that broke while idle (its server restarted, a switchover ended the
        session) is replaced and the write tried once more: the insert is idempotent, so a
        second try is safe even when the first did commit.
        """
        import psycopg

        async with self._lock:
            fresh = self._conn is None or self._conn.closed
            try:
                await self._once(writer, seq)
            except psycopg.OperationalError:
                if fresh:
                    raise
                await self._once(writer, seq)

    async def _once(self, writer: int, seq: int) -> None:
        if self._conn is None or self._conn.closed:
            self._conn = await self._connect()
        try:
            await self._conn.execute(INSERT, (writer, seq, self._tier))
            await self._conn.commit()
        except BaseException:
            conn, self._conn = self._conn, None
            await conn.close()
            raise

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()

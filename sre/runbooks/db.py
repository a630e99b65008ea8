"""One SQL dialect over two databases: SQLite (one file, WAL) and PostgreSQL.

Statements are written once with `?` placeholders and the same schema; the only
difference a caller sees is `Tx.skip_locked`, the `FOR UPDATE SKIP LOCKED` suffix
PostgreSQL needs for a work queue that several receivers share (SQLite has one
writer at a time, so it needs none).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from sre.errors import InputError, SreError

BUSY_TIMEOUT_MS = 10_000


class StoreError(SreError):
    """The store could not be read or written (the webhook answers 5xx so Alertmanager retries)."""


class Tx(Protocol):
    skip_locked: str

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]: ...

    def run(self, sql: str, *params: Any) -> int: ...


class Database(Protocol):
    url: str

    def tx(self, write: bool = True) -> Any: ...  # a context manager yielding a Tx

    def close(self) -> None: ...


class _SqliteTx:
    skip_locked = ""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return list(self._conn.execute(sql, params).fetchall())

    def run(self, sql: str, *params: Any) -> int:
        return self._conn.execute(sql, params).rowcount


class SqliteDatabase:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self._local = threading.local()
        # One writer at a time inside the process: waiting on a lock is fair and prompt, where SQLite's
        # busy handler sleeps in growing steps (tens of ms at the tail).
        self._write = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"--store {path}: cannot create its folder: {exc.strerror}") from None

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
                conn.execute("PRAGMA journal_mode=WAL")
                # FULL: a commit is on disk before the webhook answers 200 (NORMAL may lose the last
                # transactions on power loss, which would lose an acknowledged notification).
                conn.execute("PRAGMA synchronous=FULL")
                conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            except sqlite3.Error as exc:
                raise StoreError(f"store {self.path}: {exc}") from None
            self._local.conn = conn
        return conn

    @contextmanager
    def tx(self, write: bool = True) -> Iterator[Tx]:
        conn = self._conn()
        if not write:
            # A read sees one snapshot and takes no write lock (WAL readers do not block the writer).
            with self._begin(conn, "BEGIN"):
                yield _SqliteTx(conn)
            return
        with self._write, self._begin(conn, "BEGIN IMMEDIATE"):
            yield _SqliteTx(conn)

    @contextmanager
    def _begin(self, conn: sqlite3.Connection, statement: str) -> Iterator[None]:
        try:
            conn.execute(statement)
        except sqlite3.Error as exc:
            raise StoreError(f"store {self.path}: {exc}") from None
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(f"store {self.path}: {exc}") from None

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class _PgTx:
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, cur: Any) -> None:
        self._cur = cur

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        self._cur.execute(_pg(sql), params)
        return list(self._cur.fetchall()) if self._cur.description else []

    def run(self, sql: str, *params: Any) -> int:
        self._cur.execute(_pg(sql), params)
        return int(self._cur.rowcount)


def _pg(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


class PostgresDatabase:
    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()

    def _conn(self) -> Any:
        import psycopg

        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            try:
                conn = psycopg.connect(self.url, connect_timeout=10)
            except psycopg.Error as exc:
                raise StoreError(f"store {public(self.url)}: {_first_line(exc)}") from None
            self._local.conn = conn
        return conn

    @contextmanager
    def tx(self, write: bool = True) -> Iterator[Tx]:
        import psycopg

        conn = self._conn()
        try:
            with conn.transaction(), conn.cursor() as cur:
                yield _PgTx(cur)
        except psycopg.OperationalError as exc:
            conn.close()
            raise StoreError(f"store {public(self.url)}: {_first_line(exc)}") from None

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def public(url: str) -> str:
    """The store URL as it may be shown: no password."""
    from sre.probes.model import public_url

    return public_url(url)


def open_database(url: str | None, default: Path) -> Database:
    """`--store`: a postgresql:// URL, a sqlite:/// URL or a file path; default: `default`."""
    if not url:
        return SqliteDatabase(default)
    scheme = urlsplit(url).scheme
    if scheme in ("postgresql", "postgres"):
        return PostgresDatabase(url)
    if scheme == "sqlite":
        # sqlite:///relative/path or sqlite:////absolute/path, as SQLAlchemy spells them.
        return SqliteDatabase(Path(url[len("sqlite:///") :]))
    if scheme:
        raise InputError(
            f"--store: expected postgresql://..., sqlite:///PATH or a file path; got {scheme}://"
        )
    return SqliteDatabase(Path(url))


def first(rows: Sequence[tuple[Any, ...]]) -> tuple[Any, ...] | None:
    return rows[0] if rows else None

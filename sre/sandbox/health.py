"""Health checks the supervisor polls while a server starts: each returns None when healthy, else why not."""

from __future__ import annotations

import http.client
import ssl
import subprocess
from collections.abc import Callable

from sre.sandbox import binaries
from sre.sandbox.ports import HOST, port_is_open
from sre.sandbox.supervisor import HealthCheck


def tcp(port: int) -> HealthCheck:
    def check() -> str | None:
        return None if port_is_open(port) else f"nothing accepts connections on {HOST}:{port}"

    return check


def postgres_accepting(port: int) -> HealthCheck:
    """PostgreSQL accepts sessions (pg_isready): it listens on TCP while it still answers "starting up"."""
    pg_isready = binaries.find(binaries.postgres("pg_isready"))

    def check() -> str | None:
        if pg_isready is None:
            return "pg_isready not found (apt-get install postgresql)"
        try:
            done = subprocess.run(
                [str(pg_isready), "-q", "-h", HOST, "-p", str(port), "-t", "2"], check=False, timeout=5
            )
        except subprocess.TimeoutExpired:
            return f"pg_isready on {HOST}:{port} did not answer"
        return None if done.returncode == 0 else f"PostgreSQL on {HOST}:{port} does not accept sessions yet"

    return check


def http_get(
    port: int,
    path: str,
    *,
    expect: int = 200,
    tls: ssl.SSLContext | None = None,
    accept: Callable[[str], bool] | None = None,
) -> HealthCheck:
    """GET path answers `expect` (and `accept(body)` holds, when given)."""

    def check() -> str | None:
        conn = (
            http.client.HTTPSConnection(HOST, port, timeout=2, context=tls)
            if tls is not None
            else http.client.HTTPConnection(HOST, port, timeout=2)
        )
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read(65536).decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as exc:
            return f"GET {path}: {exc.__class__.__name__}: {exc}"
        finally:
            conn.close()
        if resp.status != expect:
            return f"GET {path}: status {resp.status}, expected {expect}"
        if accept is not None and not accept(body):
            return f"GET {path}: unexpected body {body[:80]!r}"
        return None

    return check


def all_of(*checks: HealthCheck) -> HealthCheck:
    def check() -> str | None:
        for one in checks:
            why = one()
            if why:
                return why
        return None

    return check

"""Health checks the supervisor polls while a server starts: each returns None when healthy, else why not."""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Callable

from sre.sandbox.ports import HOST, port_is_open
from sre.sandbox.supervisor import HealthCheck


def tcp(port: int) -> HealthCheck:
    def check() -> str | None:
        return None if port_is_open(port) else f"nothing accepts connections on {HOST}:{port}"

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

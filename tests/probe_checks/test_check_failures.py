"""Every network check against a closed port and against a server that answers bytes of no protocol:
refused is `connect_refused` at once, garbage is `protocol`, and neither hangs."""

from __future__ import annotations

from typing import Any

import pytest
from checkrun import probe
from checkservers import GarbageServer, closed_port

from sre.probes.model import Reason

# check -> URL template; extra probe options where a kind needs them to get past its own set-up.
URLS = {
    "postgres": "postgresql://postgres@127.0.0.1:{port}/postgres?sslmode=disable",
    "redis": "redis://127.0.0.1:{port}",
    "nats": "nats://127.0.0.1:{port}",
    "kafka": "kafka://127.0.0.1:{port}",
    "mongodb": "mongodb://127.0.0.1:{port}/",
    "clickhouse": "http://127.0.0.1:{port}",
    "s3": "http://127.0.0.1:{port}",
    "vault": "http://127.0.0.1:{port}",
    "elasticsearch": "http://127.0.0.1:{port}",
    "mlflow": "http://127.0.0.1:{port}",
    "kubernetes": "http://127.0.0.1:{port}",
}
OPTIONS: dict[str, dict[str, Any]] = {
    "s3": {"params": {"bucket": "b"}, "secrets": {"access_key_id": "k", "secret_access_key": "s"}}
}


@pytest.mark.parametrize("check", sorted(URLS))
def test_closed_port_is_connect_refused(check: str) -> None:
    seen = probe(check, URLS[check].format(port=closed_port()), timeout=3, **OPTIONS.get(check, {}))
    assert seen.reason is Reason.connect_refused, seen.message


@pytest.mark.parametrize("check", sorted(URLS))
def test_garbage_answer_is_protocol(check: str, garbage: GarbageServer) -> None:
    seen = probe(check, URLS[check].format(port=garbage.port), timeout=3, **OPTIONS.get(check, {}))
    assert seen.reason is Reason.protocol, seen.message

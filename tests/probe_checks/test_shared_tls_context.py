"""Probes of one run share its SSLContext (one per CA file and policy) instead of building one per
connection on the event loop, which costs tens of milliseconds of CPU each. The handshakes stay real and
new: a real TLS-only redis-server counts them, and an untrusted CA still fails."""

from __future__ import annotations

import importlib
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from checkrun import probe
from checkservers import HttpFixture, RedisTls, Route, tls_server

from sre.probes.context import RunContext
from sre.probes.model import Reason

pytestmark = pytest.mark.integration
ROUNDS = 4
VAULT_HEALTH = {
    "initialized": True,
    "sealed": False,
    "standby": False,
    "version": "1.15.2",
    "cluster_name": "vault-cluster-3bd69ca2",
}


@pytest.fixture
def redis_tls() -> Iterator[RedisTls]:
    server = RedisTls()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def constructions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts every SSLContext built (ssl.create_default_context builds one too) while the test runs."""
    # The libraries build a few contexts when imported (aiohttp's defaults): that is before any clock.
    for name in ("sre.probes.checks.redis", "sre.probes.checks.vault"):
        importlib.import_module(name)

    built = [0]
    original = ssl.SSLContext.__new__

    def counting(cls: type[ssl.SSLContext], *args: Any, **kwargs: Any) -> ssl.SSLContext:
        built[0] += 1
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "__new__", staticmethod(counting))
    return built


def handshakes(server: RedisTls) -> int:
    import redis

    client = redis.Redis(port=server.port, ssl=True, ssl_ca_certs=str(server.ca_file), socket_timeout=5)
    try:
        return int(client.info("stats")["total_connections_received"])
    finally:
        client.close()


def test_rediss_and_https_probes_share_one_context_per_ca(
    redis_tls: RedisTls, tmp_path: Path, constructions: list[int]
) -> None:
    ca, server_tls = tls_server(tmp_path)
    api = HttpFixture({"GET /v1/sys/health": Route(200, VAULT_HEALTH)}, tls=server_tls)
    before = handshakes(redis_tls)
    constructions[0] = 0
    run = RunContext()
    try:
        for _ in range(ROUNDS):
            probe(
                "redis", f"rediss://127.0.0.1:{redis_tls.port}", ca_file=str(redis_tls.ca_file), run=run
            ).ok()
            probe("vault", api.url, ca_file=str(ca), run=run).ok()
    finally:
        api.close()
    built = constructions[0]
    # One context per distinct CA file (two here), however many probes and connections.
    assert built <= 2, f"{built} SSLContexts built for {ROUNDS} rediss:// and {ROUNDS} https probes"
    # Every probe still made its own connection and handshake (the info call above is one more).
    assert handshakes(redis_tls) - before >= ROUNDS + 1
    assert len(api.seen) == ROUNDS


def test_rediss_with_an_untrusted_ca_still_fails(redis_tls: RedisTls) -> None:
    run = RunContext()
    seen = probe("redis", f"rediss://127.0.0.1:{redis_tls.port}", run=run)
    assert seen.reason is Reason.cert_invalid, (seen.reason, seen.message)
    trusted = probe("redis", f"rediss://127.0.0.1:{redis_tls.port}", ca_file=str(redis_tls.ca_file), run=run)
    assert trusted.ok().facts["role"] == "primary"

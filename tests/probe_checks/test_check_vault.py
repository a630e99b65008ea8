"""Vault check against a local HTTP fixture of `GET /v1/sys/health` (no Vault server can be installed
here): status codes and bodies as Vault's API documentation gives them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from checkrun import probe
from checkservers import HttpFixture, Route, tls_server

from sre.probes.model import Reason

HEALTH = "GET /v1/sys/health"


def body(**changes: Any) -> dict[str, Any]:
    """The documented sample answer of an active node, with changes."""
    sample = {
        "initialized": True,
        "sealed": False,
        "standby": False,
        "performance_standby": False,
        "replication_performance_mode": "disabled",
        "replication_dr_mode": "disabled",
        "server_time_utc": 1516639589,
        "version": "1.15.2",
        "cluster_name": "vault-cluster-3bd69ca2",
        "cluster_id": "00af5aa8-c87d-b5be-e53b-f3a3e1c5e4d5",
    }
    return {**sample, **changes}


@pytest.mark.parametrize(
    ("code", "answer", "role", "state"),
    [
        (200, body(), "primary", "active"),
        (429, body(standby=True), "replica", "standby"),
        (473, body(standby=True, performance_standby=True), "replica", "performance standby"),
        (472, body(standby=True, replication_dr_mode="secondary"), "replica", "DR secondary"),
    ],
)
def test_serving_codes_give_the_role(
    api: HttpFixture, code: int, answer: dict[str, Any], role: str, state: str
) -> None:
    api.routes[HEALTH] = Route(code, answer)
    seen = probe("vault", api.url).ok()
    assert seen.facts["vault_status_code"] == code
    assert seen.facts["http_status"] == code
    assert seen.facts["role"] == role
    assert seen.facts["vault_state"] == state
    assert seen.facts["vault_sealed"] is False
    assert seen.facts["vault_version"] == "1.15.2"
    assert api.seen[-1].path == "/v1/sys/health"  # no standbyok & co: the raw code is the verdict
    assert api.seen[-1].headers["X-SRE-Probe-Id"].endswith("test_vault/primary/vault")
    assert (
        json.loads(seen.body or b"")["cluster_name"] == "vault-cluster-3bd69ca2"
    )  # for `body.$...` conditions


@pytest.mark.parametrize(
    ("code", "answer", "words"),
    [
        (503, body(sealed=True, standby=True), "sealed"),
        (501, body(initialized=False, sealed=True), "not initialised"),
        (474, body(standby=True), "cannot reach the active node"),
    ],
)
def test_not_serving_codes_are_not_ready(
    api: HttpFixture, code: int, answer: dict[str, Any], words: str
) -> None:
    api.routes[HEALTH] = Route(code, answer)
    seen = probe("vault", api.url)
    assert seen.reason is Reason.not_ready
    assert words in seen.message
    assert seen.facts["vault_status_code"] == code
    assert "role" not in seen.facts


def test_unknown_code_is_status_code(api: HttpFixture) -> None:
    api.routes[HEALTH] = Route(404, {"errors": []})
    assert probe("vault", api.url).reason is Reason.status_code


def test_html_instead_of_health_json_is_protocol(api: HttpFixture) -> None:
    api.routes[HEALTH] = Route(200, "<html>login</html>", {"Content-Type": "text/html"})
    seen = probe("vault", api.url)
    assert seen.reason is Reason.protocol
    assert "not JSON" in seen.message


def test_json_that_is_not_a_health_answer_is_protocol(api: HttpFixture) -> None:
    api.routes[HEALTH] = Route(200, {"status": "ok"})
    assert probe("vault", api.url).reason is Reason.protocol


def test_tls_facts_and_untrusted_certificate(tmp_path: Path) -> None:
    ca, server_tls = tls_server(tmp_path)
    server = HttpFixture({HEALTH: Route(200, body())}, tls=server_tls)
    try:
        trusted = probe("vault", server.url, ca_file=str(ca)).ok()
        untrusted = probe("vault", server.url)
    finally:
        server.close()
    assert trusted.facts["tls_version"] == "1.3"
    assert trusted.facts["tls_cipher"]
    assert trusted.facts["cert_not_after"] > 0
    assert untrusted.reason is Reason.cert_invalid

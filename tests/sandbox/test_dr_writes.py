"""The gateway's acknowledged write (`POST /write`), the DR drill's measure of lost data, for real."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sandbox_helpers import Running, env, haproxy, pg, post

pytestmark = pytest.mark.integration


def _write_url(core: Running, tier: str = "primary") -> tuple[str, Path]:
    e = env(core)
    return e.endpoints["ext_api"][tier].url + "/write", Path(e.ca_file or "")


def _rows(core: Running, writer: int) -> list[tuple[int, str]]:
    with pg(core, "primary") as conn:
        return [
            (int(seq), str(tier))
            for seq, tier in conn.execute(
                "SELECT seq, tier FROM drill_writes WHERE writer = %s ORDER BY seq", (writer,)
            )
        ]


def test_a_write_is_acknowledged_after_commit_and_a_repeat_is_a_no_op(core: Running) -> None:
    url, ca = _write_url(core)
    for _ in range(2):
        assert post(url, json.dumps({"writer": 7, "seq": 1}).encode(), ca) == (
            200,
            {"ok": True, "tier": "primary"},
        )
    assert post(url, b'{"writer": 7, "seq": 2}', ca)[0] == 200
    assert _rows(core, 7) == [(1, "primary"), (2, "primary")]


def test_a_write_through_the_replicas_gateway_is_refused(core: Running) -> None:
    url, ca = _write_url(core, "secondary")
    status, body = post(url, b'{"writer": 8, "seq": 1}', ca)
    assert status == 503 and body["ok"] is False and "read-only" in body["error"]
    assert _rows(core, 8) == []


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b"not json", 400, "not JSON"),
        (b"[1, 2]", 400, "expected"),
        (b'{"writer": 1}', 400, "expected"),
        (b'{"writer": 1, "seq": 2, "tier": "x"}', 400, "expected"),
        (b'{"writer": true, "seq": 2}', 400, "writer"),
        (b'{"writer": 1, "seq": -1}', 400, "seq"),
        (b'{"writer": 1, "seq": 1e3}', 400, "seq"),
        (b'{"writer": 1, "seq": 99999999999999999999999}', 400, "seq"),
        (b'{"writer": "1; DROP TABLE drill_writes", "seq": 1}', 400, "writer"),
        (b"[" * 5000, 413, "over"),
        (b'{"writer": 1, "seq": 1, "pad": "' + b"x" * 4096 + b'"}', 413, "over"),
    ],
)
def test_hostile_bodies_are_refused_with_their_reason(
    core: Running, body: bytes, status: int, says: str
) -> None:
    url, ca = _write_url(core)
    got, answer = post(url, body, ca)
    assert got == status and says in answer["error"], answer


def test_a_frozen_tier_acknowledges_nothing(core: Running) -> None:
    url, ca = _write_url(core)
    haproxy(core, "set map {map} primary frozen")
    try:
        status, body = post(url, b'{"writer": 9, "seq": 1}', ca)
        assert status == 503 and body["status"] == "frozen"
    finally:
        haproxy(core, "set map {map} primary primary")
    assert _rows(core, 9) == []
    assert post(url, b'{"writer": 9, "seq": 2}', ca)[0] == 200

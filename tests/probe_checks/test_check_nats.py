"""NATS check against a real nats-server with JetStream (and one without), on free ports."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import nats
import pytest
from checkrun import probe
from checkservers import NatsServer

from sre.probes.model import Reason

pytestmark = pytest.mark.integration
AUTH = {"username": NatsServer.USER, "password": NatsServer.PASSWORD}


def admin(server: NatsServer, job) -> Any:  # type: ignore[no-untyped-def]
    async def go() -> Any:
        nc = await nats.connect(server.url, user=NatsServer.USER, password=NatsServer.PASSWORD)
        try:
            return await job(nc.jetstream())
        finally:
            await nc.close()

    return asyncio.run(go())


def test_account_info_without_stream(nats_js: NatsServer) -> None:
    seen = probe("nats", nats_js.url, secrets=AUTH).ok()
    assert seen.facts["nats_js_streams"] >= 0
    assert re.fullmatch(r"\d+\.\d+\.\d+", seen.facts["nats_server_version"])
    assert "role" not in seen.facts
    assert {"connect", "account"} <= seen.phases.keys()


def test_publish_to_created_stream_is_acked(nats_js: NatsServer) -> None:
    settings = {"stream": "SRE_PROBE_A", "create_stream": True}
    first = probe("nats", nats_js.url, secrets=AUTH, settings=settings).ok()
    second = probe("nats", nats_js.url, secrets=AUTH, settings=settings).ok()
    assert first.facts["nats_js_stream_created"] is True
    assert "nats_js_stream_created" not in second.facts
    assert second.facts["nats_js_publish_seq"] == first.facts["nats_js_publish_seq"] + 1
    assert second.facts["role"] == "primary"
    assert second.facts["writable"] is True


def test_the_probe_message_carries_no_expected_stream_header(nats_js: NatsServer) -> None:
    """A stored Nats-Expected-Stream header breaks every stream that sources this one later (nats-server
    2.9 checks it again on the copy: "expected stream does not match"), so the probe checks its ack."""
    settings = {"stream": "SRE_PROBE_H", "create_stream": True}
    seen = probe("nats", nats_js.url, secrets=AUTH, settings=settings).ok()
    stored: list[object] = []

    async def read(js) -> None:  # type: ignore[no-untyped-def]
        stored.append(await js.get_msg("SRE_PROBE_H", seen.facts["nats_js_publish_seq"]))

    admin(nats_js, read)
    assert not (getattr(stored[0], "headers", None) or {}), stored[0]


def test_a_subject_stored_by_another_stream_fails_the_probe(nats_js: NatsServer) -> None:
    async def setup(js) -> None:  # type: ignore[no-untyped-def]
        await js.add_stream(name="SRE_PROBE_OWNER", subjects=["owned.>"])
        await js.add_stream(name="SRE_PROBE_EMPTY", subjects=["elsewhere.x"])

    admin(nats_js, setup)
    seen = probe(
        "nats", nats_js.url, secrets=AUTH, settings={"stream": "SRE_PROBE_EMPTY", "subject": "owned.probe"}
    )
    assert seen.reason is Reason.not_ready, seen.message
    assert "SRE_PROBE_OWNER" in seen.message and "SRE_PROBE_EMPTY" in seen.message


def test_missing_stream_is_not_created_unless_asked(nats_js: NatsServer) -> None:
    seen = probe("nats", nats_js.url, secrets=AUTH, settings={"stream": "SRE_NOT_THERE"})
    assert seen.reason is Reason.not_ready
    assert "not found" in seen.message


def mirrored(server: NatsServer, origin: str, subject: str) -> str:
    """A stream `origin` with one message and its mirror on the same server; the mirror's name."""

    async def setup(js) -> None:  # type: ignore[no-untyped-def]
        await js.add_stream(name=origin, subjects=[f"{subject}.>"])
        await js.publish(f"{subject}.x", b"1")
        await js.add_stream(name=f"{origin}_MIRROR", mirror={"name": origin})

    admin(server, setup)
    return f"{origin}_MIRROR"


def test_mirror_stream_is_a_replica_with_its_lag(nats_js: NatsServer) -> None:
    mirrored(nats_js, "ORIGIN", "origin")
    seen = probe("nats", nats_js.url, secrets=AUTH, settings={"stream": "ORIGIN_MIRROR"}).ok()
    assert seen.facts["role"] == "replica"
    assert seen.facts["nats_js_mirror_of"] == "ORIGIN"
    assert "publish" not in seen.phases


def test_server_without_jetstream_is_not_ready(nats_plain: NatsServer) -> None:
    seen = probe("nats", nats_plain.url, secrets=AUTH)
    assert seen.reason is Reason.not_ready
    assert "JetStream" in seen.message


def test_wrong_password_is_auth(nats_js: NatsServer) -> None:
    seen = probe("nats", nats_js.url, secrets={"username": "probe", "password": "nope-secret-3"})
    assert seen.reason is Reason.auth
    assert "nope-secret-3" not in seen.message


def test_mirror_that_never_reached_its_source_is_not_current(nats_js: NatsServer) -> None:
    # A mirror of a stream in a JetStream domain nobody serves: nats-server reports lag 0 for it, since
    # it never learnt of anything to lag behind. That is no contact, not a current copy.
    async def setup(js) -> None:  # type: ignore[no-untyped-def]
        source = {"name": "ORIGIN", "external": {"api": "$JS.nowhere.API"}}
        await js.add_stream(name="LOST_MIRROR", mirror=source)

    admin(nats_js, setup)
    seen = probe("nats", nats_js.url, secrets=AUTH, settings={"stream": "LOST_MIRROR"})
    assert seen.reason is Reason.replication_lag
    assert seen.message == "mirror LOST_MIRROR of ORIGIN: no contact with its source"
    assert seen.facts["role"] == "replica"


def test_mirror_lag_in_seconds_is_the_time_since_its_source_was_heard(nats_js: NatsServer) -> None:
    mirrored(nats_js, "ORIGIN_B", "origin-b")
    seen = probe("nats", nats_js.url, secrets=AUTH, settings={"stream": "ORIGIN_B_MIRROR"}).ok()
    assert seen.facts["lag_seconds"] == seen.facts["nats_js_mirror_active_seconds"]


def test_endpoint_params_name_the_stream_and_subject(nats_js: NatsServer) -> None:
    async def setup(js) -> None:  # type: ignore[no-untyped-def]
        await js.add_stream(name="PLATFORM", subjects=["platform.>"])

    admin(nats_js, setup)
    params = {"stream": "PLATFORM", "subject": "platform.sre-probe"}
    settings = {"stream": "SRE_PROBE_C", "create_stream": True}
    seen = probe("nats", nats_js.url, secrets=AUTH, settings=settings, params=params).ok()
    assert seen.facts["nats_js_stream"] == "PLATFORM"
    assert seen.facts["role"] == "primary"

    async def last_headers(js) -> object:  # type: ignore[no-untyped-def]
        return (await js.get_last_msg("PLATFORM", "platform.sre-probe")).headers

    # Nothing a DR copy of the stream would trip on (2.9 refuses to source a Nats-Expected-Stream).
    assert not (admin(nats_js, last_headers) or {})


def test_a_stream_the_endpoint_names_is_never_created_by_the_probe(nats_js: NatsServer) -> None:
    # It is the platform's stream (a DR move may be re-creating it): a probe must not make its own.
    params = {"stream": "PLATFORM_MISSING", "subject": "platform-missing.sre-probe"}
    settings = {"stream": "SRE_PROBE_D", "create_stream": True}
    seen = probe("nats", nats_js.url, secrets=AUTH, settings=settings, params=params)
    assert seen.reason is Reason.not_ready
    assert seen.message == "stream PLATFORM_MISSING: not found (create_stream is off)"

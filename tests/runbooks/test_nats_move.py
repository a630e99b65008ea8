"""`nats_move` against two real nats-servers (own JetStream domains, a mirror over a leafnode), started here.

The move there and back keeps every acknowledged publish and every consumer's place: a message
acknowledged before the move is not delivered again, one not yet acknowledged is, and sequence
numbers are the source's. A mirror cut off from its source (the leafnode relay paused) makes the plan
refuse with the lag; a failover from a stopped source journals what may be lost.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nats.js.api import AckPolicy, ConsumerConfig
from nats_pair import Pair, js_call, started
from rb_support import World, wait
from test_actions import act, context

from sre.runbooks.actions import ActionFailed

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return str(tmp_path / "store.db")


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    yield from started(tmp_path / "nats")


@pytest.fixture
def nworld(tmp_path: Path, store_url: str, target_db: str, pair: Pair) -> World:
    world = World(tmp_path, store_url, target_db)
    text = world.platform_file.read_text()
    tiers = "".join(
        f'        {tier}: {{url: "{url}", params: {{js_domain: {tier}, stream: SANDBOX}}}}\n'
        for tier, url in pair.urls.items()
    )
    text = text.replace('      bus:\n        primary: "nats://127.0.0.1:4222"\n', f"      bus:\n{tiers}")
    world.platform_file.write_text(text)
    return world


def move(ctx: Any, src: str, dst: str, **more: Any) -> Any:
    return act("nats_move", {"service": "bus", "from": src, "to": dst, **more}, ctx)


def publish(url: str, subject: str, payload: bytes) -> Any:
    return js_call(url, lambda js: js.publish(subject, payload))


def reader(url: str, *, make: bool = False, ack: int = 0, fetch: int = 1) -> list[tuple[bytes, int]]:
    """Fetch from the durable `reader` (made first when `make`), acknowledging the first `ack` messages."""

    async def job(js: Any) -> list[tuple[bytes, int]]:
        if make:
            config = ConsumerConfig(durable_name="reader", ack_policy=AckPolicy.EXPLICIT, ack_wait=1)
            await js.add_consumer("SANDBOX", config)
        sub = await js.pull_subscribe_bind("reader", stream="SANDBOX")
        got = await sub.fetch(fetch, timeout=3)
        for msg in got[:ack]:
            await msg.ack_sync()
        return [(m.data, m.metadata.sequence.stream) for m in got]

    found: list[tuple[bytes, int]] = js_call(url, job)
    return found


def drain(url: str) -> list[bytes]:
    """Everything `reader` has still to deliver, acknowledged."""

    async def job(js: Any) -> list[bytes]:
        import nats.errors

        sub = await js.pull_subscribe_bind("reader", stream="SANDBOX")
        out: list[bytes] = []
        while True:
            try:
                got = await sub.fetch(1000, timeout=1)
            except nats.errors.TimeoutError:
                return out
            for msg in got:
                await msg.ack()
                out.append(msg.data)

    found: list[bytes] = js_call(url, job)
    return found


def payloads(url: str) -> set[bytes]:
    async def job(js: Any) -> set[bytes]:
        info = await js.stream_info("SANDBOX")
        found = set()
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            found.add((await js.get_msg("SANDBOX", seq)).data)
        return found

    seen: set[bytes] = js_call(url, job)
    return seen


class Publisher(threading.Thread):
    """Publishes through the source's server until stopped; remembers what JetStream acknowledged."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.refused, self.stop = url, 0, threading.Event()
        self.acked: list[bytes] = []

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            payload = b"during-%d" % n
            try:
                publish(self.url, "sandbox.load", payload)
                self.acked.append(payload)
            except Exception:
                self.refused += 1  # sealed, or no stream takes it for a moment: not acknowledged


def test_move_there_and_back_keeps_acknowledged_messages_and_consumer_places(
    nworld: World, pair: Pair
) -> None:
    primary, secondary = pair.urls["primary"], pair.urls["secondary"]
    for n in (1, 2, 3):
        publish(primary, "sandbox.a", b"m%d" % n)
    # Published expecting the stream by name (Nats-Expected-Stream): 2.9 refuses to source such a
    # message into a stream of another name, so the copy must keep the name.
    js_call(primary, lambda js: js.publish("sandbox.z", b"expects-SANDBOX", stream="SANDBOX"))
    first = reader(primary, make=True, ack=1, fetch=2)  # m1 acknowledged, m2 delivered but not
    assert [d for d, _ in first] == [b"m1", b"m2"]
    filtered = ConsumerConfig(
        durable_name="only-a", filter_subject="sandbox.a", ack_policy=AckPolicy.EXPLICIT
    )
    js_call(primary, lambda js: js.add_consumer("SANDBOX", filtered))  # a filter must be a stream subject
    ctx = context(nworld)
    there = move(ctx, "primary", "secondary")
    plan = there.check()
    assert plan.done is False and plan.facts == {"from_stream": "writable", "to_stream": "mirror"}

    load = Publisher(primary)
    load.start()
    wait(lambda: len(load.acked) >= 5, 10)
    facts = there.apply()
    load.stop.set()
    load.join(10)
    there.verify()
    assert there.check().done is True  # a resumed run does not move twice
    assert facts["consumers"] == {"only-a": 1, "reader": 2}  # ack floor on the source, + 1
    info = js_call(secondary, lambda js: js.consumer_info("SANDBOX", "only-a"))
    assert (info.config.filter_subject, info.num_pending) == ("sandbox.a", 3)
    assert b"expects-SANDBOX" in payloads(secondary)
    assert facts["from_last_seq"] == facts["mirror_last_seq"]

    # Nothing the source acknowledged is missing on the target, under the same sequence numbers.
    assert set(load.acked) <= payloads(secondary)
    after = reader(secondary, ack=2, fetch=2)
    assert after == [(b"m2", first[1][1]), (b"m3", first[1][1] + 1)]  # m1 is not delivered again
    # Publishes reach the new writable stream, from either server (the primary's over the leafnode).
    assert publish(secondary, "sandbox.b", b"new-1").domain == "secondary"
    assert publish(primary, "sandbox.b", b"new-2").domain == "secondary"
    wait(lambda: b"new-2" in payloads(primary), 10)  # the old source mirrors the new stream

    back = move(ctx, "secondary", "primary")
    assert back.check().facts == {"from_stream": "writable", "to_stream": "mirror"}
    facts = back.apply()
    back.verify()
    assert publish(secondary, "sandbox.c", b"back").domain == "primary"
    rest = drain(primary)
    assert b"m2" not in rest and rest[-1] == b"back"
    assert b"new-2" in rest and set(load.acked) <= set(rest)  # reader had not consumed them yet


def test_a_mirror_whose_link_stalls_is_refused_with_its_lag(nworld: World, pair: Pair) -> None:
    primary = pair.urls["primary"]
    publish(primary, "sandbox.a", b"before")
    secondary = pair.urls["secondary"]
    wait(lambda: js_call(secondary, lambda js: js.stream_info("SANDBOX")).state.last_seq == 1, 10)
    pair.relay.pause()
    for n in range(12):
        publish(primary, "sandbox.a", b"x%d" % n)
    there = move(context(nworld), "primary", "secondary")
    with pytest.raises(ActionFailed) as caught:
        there.check()
    assert caught.value.permanent
    assert str(caught.value) == (
        "nats: mirror on secondary lags 12 messages behind primary's SANDBOX (last sequence 13, mirror 1)"
    )
    pair.relay.resume()
    wait(lambda: _refusal(there) is None, 20)  # reconnected and caught up: the plan holds again


def _refusal(step: Any) -> str | None:
    try:
        step.check()
    except ActionFailed as exc:
        return str(exc)
    return None


def test_failover_from_a_stopped_source_records_what_may_be_lost(nworld: World, pair: Pair) -> None:
    primary, secondary = pair.urls["primary"], pair.urls["secondary"]
    for n in range(3):
        publish(primary, "sandbox.a", b"f%d" % n)
    wait(lambda: js_call(secondary, lambda js: js.stream_info("SANDBOX")).state.last_seq == 3, 10)
    pair.procs["primary"].terminate()
    pair.procs["primary"].wait(10)
    ctx = context(nworld)
    with pytest.raises(ActionFailed, match="bus/primary"):  # a switchover needs the source
        move(ctx, "primary", "secondary").check()
    step = move(ctx, "primary", "secondary", mode="failover", subjects=["sandbox.>"])
    assert step.check().facts == {"from_stream": "unreachable", "to_stream": "mirror"}
    facts = step.apply()
    step.verify()
    assert facts["possible_loss_after_seq"] == 3 and facts["consumers"] == {}
    assert publish(secondary, "sandbox.a", b"f3").seq == 4  # numbering goes on from the mirror's

    # The old server comes back with its stream still writable (two actives): the switch back makes
    # it a mirror of the live one first, discarding what only it had, then moves as usual.
    pair.restart("primary")
    assert publish(primary, "sandbox.a", b"stale").domain in ("primary", "secondary")
    back = move(ctx, "secondary", "primary")
    assert back.check().facts == {"from_stream": "writable", "to_stream": "writable"}
    facts = back.apply()
    back.verify()
    assert facts["discarded_last_seq"] >= 3
    assert publish(secondary, "sandbox.a", b"f4").domain == "primary"
    assert payloads(primary) >= {b"f0", b"f1", b"f2", b"f3", b"f4"}


def test_bad_moves_are_refused_before_anything_changes(nworld: World, pair: Pair) -> None:
    ctx = context(nworld)
    with pytest.raises(ActionFailed, match="from and to are both secondary"):
        move(ctx, "secondary", "secondary").check()
    assert move(ctx, "secondary", "primary").check().done is True  # primary writable, secondary its mirror
    text = nworld.platform_file.read_text().replace("js_domain: secondary, ", "")
    nworld.platform_file.write_text(text)
    with pytest.raises(ActionFailed, match=r"bus/secondary has no params.js_domain"):
        move(context(nworld), "primary", "secondary").check()
    with pytest.raises(Exception, match="subjects"):
        move(ctx, "primary", "secondary", subjects=["a b; rm"]).check()


def test_a_failover_copy_names_a_message_that_expects_its_stream(nworld: World, pair: Pair) -> None:
    primary, secondary = pair.urls["primary"], pair.urls["secondary"]
    publish(primary, "sandbox.a", b"plain")
    js_call(primary, lambda js: js.publish("sandbox.a", b"expects", stream="SANDBOX"))
    wait(lambda: js_call(secondary, lambda js: js.stream_info("SANDBOX")).state.last_seq == 2, 10)
    pair.procs["primary"].terminate()
    pair.procs["primary"].wait(10)
    step = move(context(nworld), "primary", "secondary", mode="failover", subjects=["sandbox.>"], deadline=1)
    with pytest.raises(ActionFailed) as caught:
        step.apply()
    assert caught.value.permanent
    assert str(caught.value).startswith(
        "nats: secondary: message 2 of SANDBOX was published expecting stream SANDBOX; nats-server 2.9 "
        "will not copy it into SANDBOX_MOVE"
    )
    assert js_call(secondary, lambda js: js.stream_info("SANDBOX")).config.mirror is not None  # untouched


def test_a_failover_takes_a_mirror_that_lost_contact_with_its_stopped_source(
    nworld: World, pair: Pair
) -> None:
    """A minute after its source stops, nats-server resets the mirror's contact (active -1): in a
    failover from an unreachable source that is the expected state, not a refusal. With the source
    alive, a mirror without contact is still refused."""
    import asyncio
    import dataclasses

    from sre.runbooks.actions.nats_move import NatsMoveArgs, _Move
    from sre.runbooks.actions.nats_streams import Stream

    secondary = pair.urls["secondary"]
    publish(pair.urls["primary"], "sandbox.a", b"x")
    wait(lambda: js_call(secondary, lambda js: js.stream_info("SANDBOX")).state.last_seq == 1, 10)
    info = js_call(secondary, lambda js: js.stream_info("SANDBOX"))
    lost = Stream(
        "SANDBOX", "mirror", dataclasses.replace(info, mirror=dataclasses.replace(info.mirror, active=-1))
    )
    ctx = context(nworld)

    def refusal(mode: str, source: Stream | None) -> str | None:
        args = NatsMoveArgs.model_validate(
            {"service": "bus", "from": "primary", "to": "secondary", "mode": mode}
        )
        return asyncio.run(_Move(args, ctx).refusal(source, lost))

    assert refusal("failover", None) is None
    source = Stream(
        "SANDBOX", "writable", js_call(pair.urls["primary"], lambda js: js.stream_info("SANDBOX"))
    )
    assert refusal("failover", source) == "nats: mirror on secondary has no contact with primary"
    assert refusal("switchover", source) == "nats: mirror on secondary has no contact with primary"

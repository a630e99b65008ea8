"""`nats_move`: the writable JetStream stream and its durable consumers move from tier `from` to tier `to`.

The tiers' NATS servers are separate JetStream domains (endpoint param `js_domain`), the
target's stream a mirror of the source's over a leafnode (`external.api = $JS.<from>.API`),
which keeps the source's sequence numbers. nats-server 2.9 cannot make a mirror writable
(2.12 can, nats-io/nats-server#7171), so the move does what the JetStream DR practice
does instead:

1. the source stream is sealed (it takes no more messages; a publisher gets an error, so
   nothing it was told is stored can be missing on the target);
2. the mirror catches up: its last sequence and message count equal the sealed source's;
3. every durable consumer's ack floor is read on the source;
4. the mirror is replaced by a stream with the same messages under the same sequence
   numbers, filled from the sealed source (nats_streams.copy);
5. the source stream is re-created as a mirror of the new one
   (`external.api = $JS.<to>.API`), so the next switch runs the same steps back;
6. the new stream takes the platform's subjects: publishes go there;
7. each durable consumer is created on it at its ack floor + 1 (acknowledged messages
   are not delivered again; unacknowledged ones are).

`mode: failover` does the same when the source still answers, and otherwise goes on
without it: no seal, no ack floors, no reverse mirror; the mirror's last sequence and how
long ago it heard from its source are journaled as what may be lost (anything the source
stored after it), and durable consumers are left to their clients to re-create. The old
source's stream is still writable when its server comes back; the switch back makes it a
mirror first (below).

A target whose stream is still writable, left so by a failover whose source came back, first
becomes a mirror of the source: what only it holds is discarded and journaled
(`discarded_last_seq`, `discarded_messages`), as pg_rewind discards a diverged primary's WAL.

The check is read-only and refuses with the reason: a target that is not a mirror of the
source, a mirror without contact, or one that lags (`nats: mirror on secondary lags 12
messages behind primary's SANDBOX`). Every phase looks at what is there first, so a
retried or resumed step goes on where it stopped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from contextlib import AsyncExitStack
from typing import Annotated, Any, Literal

from pydantic import Field

from sre.runbooks.actions.base import Action, ActionFailed, Args, Check, Context
from sre.runbooks.actions.nats_conn import connected
from sre.runbooks.actions.nats_streams import (
    Stream,
    api_prefix,
    call,
    copy,
    describe,
    detach,
    mirror_of,
    wait_copied,
    writable,
)

NAME = r"^[A-Za-z0-9_-]{1,100}$"
SUBJECT = r"^[A-Za-z0-9_.>*-]{1,200}$"
CATCH_UP_GRACE = 2.0  # seconds a plan waits for a mirror that is a publish or two behind
POLL = 0.05


class NatsMoveArgs(Args):
    service: str
    from_: str = Field(alias="from")  # the tier whose stream is writable now
    to: str  # the tier whose mirror becomes the writable stream
    mode: Literal["switchover", "failover"] = "switchover"
    stream: str | None = Field(None, pattern=NAME)  # default: the endpoints' params.stream
    # The subjects the writable stream takes; default: the endpoint's params.stream_subjects
    # (comma-separated), else the source stream's own.
    subjects: list[Annotated[str, Field(pattern=SUBJECT)]] | None = None
    deadline: float = Field(10.0, gt=0, le=600)  # seconds for the catch-up and each copy


class _Move:
    """One run of the move: the two servers' JetStream contexts and what the move found on them."""

    def __init__(self, a: NatsMoveArgs, ctx: Context) -> None:
        if a.from_ == a.to:
            raise ActionFailed(f"nats_move: from and to are both {a.to}", permanent=True)
        self.a, self.ctx = a, ctx
        target = ctx.endpoint(a.service, a.to)
        self.name = a.stream or target.params.get("stream") or ""
        if not self.name:
            raise ActionFailed(
                f"nats: no stream to move: give `stream` or {a.service}/{a.to}'s params.stream",
                permanent=True,
            )
        self.temp = f"{self.name}_MOVE"
        self.from_domain = self._domain(a.from_)
        self.to_domain = self._domain(a.to)
        self.js: dict[str, Any] = {}
        self.unreachable: str | None = None  # why a failover's source was left out

    def _domain(self, tier: str) -> str:
        endpoint = self.ctx.endpoint(self.a.service, tier)
        domain = endpoint.params.get("js_domain")
        if not domain:
            raise ActionFailed(
                f"nats: {self.a.service}/{tier} has no params.js_domain (its JetStream domain)",
                permanent=True,
            )
        return domain

    async def connect(self, stack: AsyncExitStack) -> None:
        """Both servers; in a failover, a source that does not answer is left out (self.unreachable)."""
        for tier in (self.a.from_, self.a.to):
            try:
                nc = await stack.enter_async_context(connected(self.ctx, self.a.service, tier))
            except ActionFailed as exc:
                if tier != self.a.from_ or self.a.mode != "failover":
                    raise
                self.unreachable = str(exc)
                continue
            self.js[tier] = nc.jetstream(timeout=5)

    async def source(self) -> Stream | None:
        """The source stream; None in a failover whose source does not answer."""
        if self.a.from_ not in self.js:
            return None
        try:
            return await describe(self.js[self.a.from_], self.name, self.a.from_)
        except ActionFailed as exc:
            if self.a.mode != "failover":
                raise
            self.unreachable = str(exc)
            return None

    async def target(self, name: str | None = None) -> Stream:
        return await describe(self.js[self.a.to], name or self.name, self.a.to)

    def done(self, source: Stream | None, target: Stream) -> bool:
        moved = source is None or source.mirrors(self.name, self.to_domain)
        return target.role == "writable" and moved

    def subjects(self, source: Stream | None) -> list[str]:
        given = self.a.subjects
        if given:
            return given
        param = self.ctx.endpoint(self.a.service, self.a.to).params.get("stream_subjects", "")
        found = [s.strip() for s in param.split(",") if s.strip()]
        if not found and source is not None and source.role in ("writable", "sealed"):
            found = list(source.info.config.subjects or [])
        if not found:
            raise ActionFailed(
                f"nats: the subjects of {self.name} are not known: give `subjects` or "
                f"{self.a.service}/{self.a.to}'s params.stream_subjects",
                permanent=True,
            )
        return found

    # --- the plan's gate ------------------------------------------------------------------
    async def refusal(self, source: Stream | None, target: Stream) -> str | None:
        a = self.a
        if target.role == "writable" and source is not None and source.role == "writable":
            if a.mode == "switchover":
                return None  # the target is left from a failover: it becomes a mirror first (rejoin)
            return f"nats: {self.name} is writable on both {a.from_} and {a.to}"
        if target.role != "mirror":
            return None  # a move under way (a copy, a sealed source): the run goes on with it
        if not target.mirrors(self.name, self.from_domain):
            return f"nats: {self.name} on {a.to} is a {target.shown()}, not of {a.from_}'s {self.name}"
        if source is None:
            # a failover from a source that does not answer: the mirror has what it last got (journaled
            # as the possible loss), and a minute after the source stopped nats-server says it has no
            # contact (active -1), which is that same state
            return None
        active = target.info.mirror.active if target.info.mirror else None
        if active is None or active < 0:
            return f"nats: mirror on {a.to} has no contact with {a.from_}"
        if source.role not in ("writable", "sealed"):
            return f"nats: {self.name} on {a.from_} is {source.shown()}, not the writable stream"
        deadline = time.monotonic() + CATCH_UP_GRACE
        while target.last_seq < source.last_seq and time.monotonic() < deadline:
            await asyncio.sleep(POLL)
            target = await self.target()
        if target.last_seq < source.last_seq:
            behind = source.last_seq - target.last_seq
            return (
                f"nats: mirror on {a.to} lags {behind} messages behind {a.from_}'s {self.name} "
                f"(last sequence {source.last_seq}, mirror {target.last_seq})"
            )
        return None

    # --- the move, phase by phase ---------------------------------------------------------
    async def rejoin(self, source: Stream, target: Stream) -> tuple[Stream, dict[str, Any]]:
        """A target still writable from a failover becomes a mirror of the source first.

        What only it holds (published there after the failover that left it) is discarded and
        journaled, as pg_rewind discards a diverged primary's WAL: the source is where the
        platform runs, which the runbook's PostgreSQL gates established.
        """
        if not (source.role == "writable" and target.role == "writable"):
            return target, {}
        js, where = self.js[self.a.to], self.a.to
        gone = {"discarded_last_seq": target.last_seq, "discarded_messages": target.messages}
        await call(
            f"{where}: delete the writable {self.name} left by a failover", js.delete_stream(self.name)
        )
        config = mirror_of(target.info.config, self.name, self.from_domain)
        await call(f"{where}: mirror {self.name} of {self.a.from_}", js.add_stream(config))
        return await self.target(), gone

    async def seal(self, source: Stream) -> Stream:
        if source.role == "writable":
            config = dataclasses.replace(source.info.config, sealed=True)
            await call(f"{self.a.from_}: seal {self.name}", self.js[self.a.from_].update_stream(config))
            return await self.source() or source
        return source

    async def caught_up(self, source: Stream, target: Stream) -> Stream:
        started = time.monotonic()
        while (target.last_seq, target.messages) != (source.last_seq, source.messages):
            if time.monotonic() - started > self.a.deadline:
                raise ActionFailed(
                    f"nats: mirror on {self.a.to} stopped at sequence {target.last_seq}, "
                    f"{source.last_seq - target.last_seq} messages short of {self.a.from_}'s last "
                    f"sequence {source.last_seq}"
                )
            await asyncio.sleep(POLL)
            target = await self.target()
        return target

    async def floors(self, source: Stream) -> dict[str, Any]:
        """Each durable consumer of the source and the first sequence it has not acknowledged."""
        found = await call(
            f"{self.a.from_}: consumers of {self.name}", self.js[self.a.from_].consumers_info(self.name)
        )
        out: dict[str, Any] = {}
        for info in found:
            if info.config.durable_name:
                floor = info.ack_floor.stream_seq if info.ack_floor else 0
                out[info.config.durable_name] = (int(floor) + 1, info.config)
        return out

    async def replace_mirror(self, target: Stream, source: Stream | None) -> Stream:
        """The mirror becomes a stream of the same messages, numbers and limits, taking no publishes yet.

        With the sealed source at hand, the new stream is filled from it over the leafnode: one
        copy, under the stream's own name (nats-server 2.9 will not source a message published
        with a Nats-Expected-Stream header into a stream of another name). Without it (a failover),
        from the mirror, through `<stream>_MOVE`, as the name is taken until the mirror is gone.
        """
        js, where = self.js[self.a.to], self.a.to
        if source is not None and source.role == "sealed":
            if target.role == "mirror":
                await call(f"{where}: delete the mirror {self.name}", js.delete_stream(self.name))
                target = await self.target()
            if target.role == "missing":
                await copy(js, source, self.name, source.info.config, where, api=api_prefix(self.from_domain))
                target = await self.target()
            if target.role == "filling":
                target = await wait_copied(js, source, self.name, self.a.deadline, where)
            return target
        if target.role == "mirror":
            temp = await self.target(self.temp)
            if temp.role == "missing":
                await copy(js, target, self.temp, target.info.config, where)
            await detach(js, await wait_copied(js, target, self.temp, self.a.deadline, where), where)
            await call(f"{where}: delete the mirror {self.name}", js.delete_stream(self.name))
            target = await self.target()
        temp = await self.target(self.temp)
        if target.role == "missing":
            if temp.role == "missing":
                raise ActionFailed(f"nats: {where}: neither {self.name} nor its copy {self.temp} is there")
            await copy(js, temp, self.name, temp.info.config, where)
            target = await self.target()
        if target.role == "filling" and temp.role != "missing":
            target = await wait_copied(js, temp, self.name, self.a.deadline, where)
        return target

    async def consumers(self, floors: dict[str, Any]) -> None:
        """Each durable consumer on the writable target at its ack floor + 1.

        Made once the stream takes its subjects (a consumer's filter must be one of them); a
        message published in between is at a sequence past every floor, so it is delivered. A
        consumer that a client made in that moment (from new messages) is made again at its floor.
        """
        from nats.js.api import DeliverPolicy
        from nats.js.errors import NotFoundError

        js, where = self.js[self.a.to], self.a.to
        for name, (start, config) in floors.items():
            try:
                found = await js.consumer_info(self.name, name)
            except NotFoundError:
                found = None
            if found is not None:
                if (
                    found.config.deliver_policy == DeliverPolicy.BY_START_SEQUENCE
                    and found.config.opt_start_seq == start
                ):
                    continue  # made by an earlier attempt of this step
                await call(
                    f"{where}: delete consumer {name} (not at its floor)", js.delete_consumer(self.name, name)
                )
            moved = dataclasses.replace(
                config,
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=start,
                opt_start_time=None,
            )
            await call(f"{where}: consumer {name} at {start}", js.add_consumer(self.name, moved))

    async def reverse(self, source: Stream) -> None:
        """The old source's stream again, as a mirror of the new one: the next switch's target."""
        if source.mirrors(self.name, self.to_domain):
            return
        js, where = self.js[self.a.from_], self.a.from_
        if source.role != "missing":
            await call(f"{where}: delete {self.name}", js.delete_stream(self.name))
        base = source.info.config if source.info else (await self.target()).info.config
        await call(
            f"{where}: mirror {self.name} of {self.a.to}",
            js.add_stream(mirror_of(base, self.name, self.to_domain)),
        )

    async def open(self, target: Stream, subjects: list[str]) -> None:
        if target.role != "writable":
            config = writable(target.info.config, self.name, subjects)
            await call(f"{self.a.to}: make {self.name} writable", self.js[self.a.to].update_stream(config))
        if (await self.target(self.temp)).role != "missing":
            await call(f"{self.a.to}: delete {self.temp}", self.js[self.a.to].delete_stream(self.temp))


class NatsMove(Action):
    name = "nats_move"
    Args = NatsMoveArgs

    async def check(self, args: Any, ctx: Context) -> Check:
        move = _Move(args, ctx)
        async with AsyncExitStack() as stack:
            await move.connect(stack)
            source, target = await move.source(), await move.target()
            facts = {"from_stream": source.role if source else "unreachable", "to_stream": target.role}
            if move.done(source, target):
                return Check(done=True, facts=facts)
            why = await move.refusal(source, target)
            if why is not None:
                raise ActionFailed(ctx.scrub(why), permanent=True)
            return Check(done=False, facts=facts)

    async def apply(self, args: Any, ctx: Context) -> dict[str, Any]:
        move = _Move(args, ctx)
        started = time.monotonic()
        facts: dict[str, Any] = {"mode": args.mode, "stream": move.name}
        async with AsyncExitStack() as stack:
            await move.connect(stack)
            source, target = await move.source(), await move.target()
            if move.done(source, target):
                return facts
            subjects = move.subjects(source)
            floors: dict[str, Any] = {}
            if source is not None:
                target, gone = await move.rejoin(source, target)
                facts |= gone
                source = await move.seal(source)
                if target.role == "mirror":
                    target = await move.caught_up(source, target)
                if source.role == "sealed":
                    floors = await move.floors(source)
                facts["from_last_seq"] = source.last_seq
            elif target.role == "mirror":
                active = target.info.mirror.active if target.info.mirror else None
                facts["source"] = move.unreachable
                facts["possible_loss_after_seq"] = target.last_seq
                facts["mirror_last_heard_seconds"] = round(active / 1e9, 3) if active and active > 0 else None
            if target.role == "mirror":
                facts["mirror_last_seq"] = target.last_seq
            target = await move.replace_mirror(target, source)
            if source is not None:
                await move.reverse(source)  # first: never two streams taking the subjects at once
            await move.open(target, subjects)
            await move.consumers(floors)
            facts["consumers"] = {name: start for name, (start, _) in sorted(floors.items())}
            facts["messages"] = target.messages
            facts["seconds"] = round(time.monotonic() - started, 3)
        return facts

    async def verify(self, args: Any, ctx: Context) -> None:
        move = _Move(args, ctx)
        async with AsyncExitStack() as stack:
            await move.connect(stack)
            source, target = await move.source(), await move.target()
            if not move.done(source, target):
                shown = source.shown() if source else "unreachable"
                raise ActionFailed(
                    f"nats: {move.name} on {args.to} is {target.shown()}, on {args.from_} {shown}"
                )

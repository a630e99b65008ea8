"""JetStream stream operations for the NATS DR move, on nats-server 2.9 and later.

What a stream is for the move (`describe`), and a copy of a stream into a new one that keeps
its sequence numbers (`copy`). nats-server 2.9 has no `first_seq` in a stream's
configuration and cannot turn a mirror into a writable stream (2.12 can); a purge up to a
sequence on an empty stream does set where its numbering starts, and a stream sourcing
another appends the source's messages in order. So a new stream, purged to the source's
first sequence and then sourcing it, holds the same messages under the same numbers, as
long as the source has no gaps inside (deleted messages); `copy` refuses one that has.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Literal

from sre.errors import one_line
from sre.runbooks.actions.base import ActionFailed

POLL = 0.05
Role = Literal["missing", "writable", "sealed", "mirror", "filling"]


def api_prefix(domain: str) -> str:
    return f"$JS.{domain}.API"


@dataclass(frozen=True)
class Stream:
    """One stream as the move sees it."""

    name: str
    role: Role
    info: Any = None  # nats-py StreamInfo, None when missing

    @property
    def first_seq(self) -> int:
        return int(self.info.state.first_seq) if self.info else 0

    @property
    def last_seq(self) -> int:
        return int(self.info.state.last_seq) if self.info else 0

    @property
    def messages(self) -> int:
        return int(self.info.state.messages) if self.info else 0

    def mirrors(self, name: str, domain: str) -> bool:
        """A mirror of stream `name` in JetStream domain `domain`."""
        mirror = self.info.config.mirror if self.info else None
        if mirror is None or mirror.name != name:
            return False
        return mirror.external is not None and mirror.external.api == api_prefix(domain)

    def shown(self) -> str:
        if self.role == "mirror":
            mirror = self.info.config.mirror
            api = mirror.external.api if mirror.external else "this domain"
            return f"mirror of {mirror.name} ({api})"
        return self.role


async def describe(js: Any, name: str, where: str) -> Stream:
    from nats.js.errors import NotFoundError

    try:
        info = await js.stream_info(name)
    except NotFoundError:
        return Stream(name, "missing")
    except Exception as exc:  # nats-py's errors share no base with OSError and TimeoutError
        raise ActionFailed(f"nats: {where}: stream {name}: {one_line(exc, with_type=True)}") from None
    config = info.config
    role: Role
    if config.mirror is not None:
        role = "mirror"
    elif config.sources:
        role = "filling"
    elif config.sealed:
        role = "sealed"
    else:
        role = "writable"
    return Stream(name, role, info)


async def call(what: str, awaitable: Any) -> Any:
    """One JetStream API call; its failure is an ActionFailed naming what was asked."""
    try:
        return await awaitable
    except Exception as exc:
        raise ActionFailed(f"nats: {what}: {one_line(exc, with_type=True)}") from None


def holes(stream: Stream) -> int:
    """Messages deleted inside the stream: a copy cannot keep their numbers."""
    return int(getattr(stream.info.state, "num_deleted", 0) or 0) if stream.info else 0


async def copy(js: Any, source: Stream, name: str, base: Any, where: str, *, api: str | None = None) -> None:
    """Start copying `source` into a new stream `name` with `base`'s limits and no subjects.

    `source` is on this server, or behind the JetStream API prefix `api` (another domain).

    Nothing publishes into the copy: a stream without subjects, mirror or sources takes
    its own name as its subject, so it is made, purged to the source's first sequence,
    and only then pointed at the source. `wait_copied` waits for it to hold everything.
    """
    from nats.js.api import ExternalStream, StreamSource

    if holes(source):
        raise ActionFailed(
            f"nats: {where}: {source.name} has {holes(source)} deleted messages inside; a copy on "
            "nats-server 2.9 cannot keep their sequence numbers",
            permanent=True,
        )
    config = _config(base, name, subjects=None)
    await call(f"{where}: create {name}", js.add_stream(config))
    if source.first_seq > 1:
        await call(
            f"{where}: number {name} from {source.first_seq}", js.purge_stream(name, seq=source.first_seq)
        )
    config.subjects = None
    external = ExternalStream(api=api) if api else None
    config.sources = [StreamSource(name=source.name, external=external)]
    await call(f"{where}: fill {name} from {source.name}", js.update_stream(config))


async def wait_copied(js: Any, source: Stream, name: str, deadline: float, where: str) -> Stream:
    """Until stream `name` holds what `source` holds (same first and last sequence, same count)."""
    started = time.monotonic()
    while True:
        found = await describe(js, name, where)
        if (found.first_seq, found.last_seq, found.messages) == (
            source.first_seq,
            source.last_seq,
            source.messages,
        ):
            return found
        if found.last_seq > source.last_seq or (found.messages and found.first_seq != source.first_seq):
            raise ActionFailed(
                f"nats: {where}: the copy {name} holds sequences {found.first_seq}..{found.last_seq}, "
                f"not {source.first_seq}..{source.last_seq} of {source.name}",
                permanent=True,
            )
        if time.monotonic() - started > deadline:
            await _why_stuck(js, source, name, found.last_seq + 1, where)
            raise ActionFailed(
                f"nats: {where}: the copy {name} reached sequence {found.last_seq} of "
                f"{source.name}'s {source.last_seq} within {deadline:g} s"
            )
        await asyncio.sleep(POLL)


async def detach(js: Any, stream: Stream, where: str) -> None:
    """A finished copy stops sourcing (it would make a cycle with a stream that sources it next)."""
    if stream.role == "filling":
        config = dataclasses.replace(stream.info.config, sources=None)
        await call(f"{where}: detach {stream.name}", js.update_stream(config))


async def _why_stuck(js: Any, source: Stream, name: str, seq: int, where: str) -> None:
    """A copy that stopped at a message published expecting its stream by name: say so, for good."""
    try:
        msg = await js.get_msg(source.name, seq)
    except Exception:  # the source is elsewhere, or the message is gone: the plain timeout says enough
        return
    expected = (msg.headers or {}).get("Nats-Expected-Stream")
    if expected and expected != name:
        raise ActionFailed(
            f"nats: {where}: message {seq} of {source.name} was published expecting stream {expected}; "
            f"nats-server 2.9 will not copy it into {name} (a failover without the source cannot "
            "keep such messages: move them by hand, or on nats-server 2.12 promote the mirror)",
            permanent=True,
        )


def _config(base: Any, name: str, *, subjects: list[str] | None) -> Any:
    """`base`'s limits (retention, sizes, ages, storage) under another name, no mirror or sources."""
    return dataclasses.replace(base, name=name, subjects=subjects, mirror=None, sources=None, sealed=False)


def writable(base: Any, name: str, subjects: list[str]) -> Any:
    """The configuration that makes stream `name` take publishes on `subjects`."""
    return _config(base, name, subjects=subjects)


def mirror_of(base: Any, name: str, domain: str) -> Any:
    """A mirror of stream `name` in JetStream domain `domain`, with `base`'s limits."""
    from nats.js.api import ExternalStream, StreamSource

    config = _config(base, name, subjects=None)
    config.mirror = StreamSource(name=name, external=ExternalStream(api=api_prefix(domain)))
    return config

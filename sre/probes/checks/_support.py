"""Helpers shared by the datastore and API checks: error reasons, redaction, TLS facts, settings.

Drivers report failures in their own words; these helpers turn the common
ones (refused, unresolvable, timed out, bad certificate) into one `Reason`,
and keep secrets out of every message a check raises.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
from collections.abc import Mapping
from typing import Any, NoReturn, TypeVar
from urllib.parse import SplitResult, urlsplit

from pydantic import BaseModel, ValidationError

from sre.errors import one_line
from sre.probes import net, tlsinfo
from sre.probes.context import ProbeContext
from sre.probes.model import ProbeError, Reason
from sre.urls import public_url

S = TypeVar("S", bound=BaseModel)


def load_settings(model: type[S], settings: Mapping[str, Any]) -> S:
    """The target's settings as `model`; a bad definition fails the probe with one readable line."""
    try:
        return model.model_validate(dict(settings))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ProbeError(Reason.internal, f"settings.{where}: {first['msg']}") from None


class Secrets:
    """A probe's secrets; each one resolved is registered with the run's scrubber (sre.scrub)."""

    def __init__(self, ctx: ProbeContext) -> None:
        self._ctx = ctx

    def get(self, name: str) -> str | None:
        return self._ctx.secret(name)

    def remember(self, derived: str) -> None:
        """A value made from a secret (an encoded header) is kept out of messages too."""
        self._ctx.run.scrubber.add(derived)

    def scrub(self, text: str) -> str:
        return self._ctx.run.scrubber.text(text)


def login(secrets: Secrets) -> dict[str, str]:
    """`password` and `username` secrets as driver keyword arguments; empty when no password is named."""
    password = secrets.get("password")
    if password is None:
        return {}
    username = secrets.get("username")
    return {"password": password, **({"username": username} if username else {})}


def split_url(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - validates the port
    except ValueError as exc:
        raise ProbeError(Reason.internal, f"bad endpoint URL {public_url(url)!r}: {exc}") from None
    return parts


def reason_for(exc: BaseException) -> Reason:
    """The reason for a low-level failure, following the exception's causes."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            break
        if isinstance(seen, ssl.SSLError):
            return tlsinfo.handshake_error(seen, "").reason
        if isinstance(seen, ConnectionRefusedError):
            return Reason.connect_refused
        if isinstance(seen, socket.gaierror):
            return Reason.dns
        if isinstance(seen, TimeoutError):
            return Reason.timeout
        seen = seen.__cause__ or seen.__context__
    return reason_from_text(str(exc)) or Reason.connect_error


_TEXT_REASONS: tuple[tuple[re.Pattern[str], Reason], ...] = (
    (re.compile(r"connection refused|errno 111\b", re.I), Reason.connect_refused),
    (
        re.compile(
            r"name or service not known|could not translate host|failed to resolve|nodename nor", re.I
        ),
        Reason.dns,
    ),
    (re.compile(r"certificate verify failed|certificate has expired|self.signed", re.I), Reason.cert_invalid),
    (re.compile(r"\bssl\b|\btls\b", re.I), Reason.tls_handshake),
    (re.compile(r"timed out|timeout", re.I), Reason.timeout),
)


def reason_from_text(text: str) -> Reason | None:
    """For drivers that flatten socket errors into a message (libpq, pymongo, librdkafka)."""
    for pattern, reason in _TEXT_REASONS:
        if pattern.search(text):
            return reason
    return None


def fail(exc: BaseException, what: str, secrets: Secrets | None = None) -> NoReturn:
    """Raise the ProbeError for a low-level failure while doing `what`."""
    text = one_line(exc)
    if secrets is not None:
        text = secrets.scrub(text)
    raise ProbeError(reason_for(exc), f"{what}: {text}") from None


async def reach(ctx: ProbeContext, host: str, port: int, *, tls: bool) -> None:
    """Open (and drop) one TCP connection, with a TLS handshake when `tls`, recording its facts.

    For drivers that report every failure to connect as one opaque error:
    this tells refused, unresolvable, timed out and bad certificate apart, and
    records the TLS facts the driver does not expose.
    """
    where = net.Address(host, port)
    try:
        async with asyncio.timeout(ctx.target.timeout):
            _, writer, ip = await net.connect(ctx, where)
            try:
                if tls:
                    await net.start_tls(ctx, writer, where, ip, ctx.target.endpoint.server_name)
            finally:
                net.close(writer)
    except TimeoutError:
        raise ProbeError(Reason.timeout, f"{where}: no answer within {ctx.target.timeout:g} s") from None

"""A fresh connection per probe, with each phase timed: resolve, connect, tls.

Used by the tcp, tls and http checks (and by any check that opens its own
socket). Socket errors become ProbeErrors with a reason here, so every check
reports a refused port or an unknown name the same way.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from sre.probes import tlsinfo
from sre.probes.context import ProbeContext
from sre.probes.model import ProbeError, Reason

DEFAULT_PORTS = {"http": 80, "https": 443, "tls": 443, "grpc": 80, "grpcs": 443, "dns": 53}


@dataclass(frozen=True, slots=True)
class Address:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def address(url: str, default_port: int | None = None) -> tuple[Address, SplitResult]:
    """Host and port of a URL (`https://h`, `tcp://h:p`) or of a bare `host:port`."""
    parts = urlsplit(url if "://" in url else f"tcp://{url}")
    try:
        port = parts.port
    except ValueError:
        raise ProbeError(Reason.unsupported, f"{url}: the port is not a number") from None
    port = port or DEFAULT_PORTS.get(parts.scheme) or default_port
    if not parts.hostname or port is None:
        raise ProbeError(Reason.unsupported, f"{url}: expected host and port")
    return Address(parts.hostname, port), parts


async def resolve(ctx: ProbeContext, where: Address) -> str:
    """One IP address for the host (the first the resolver gives), recorded as the `ip` fact."""
    if _is_ip(where.host):
        ctx.fact("ip", where.host)
        return where.host
    loop = asyncio.get_running_loop()
    with ctx.phase("resolve"):
        try:
            infos = await loop.getaddrinfo(where.host, where.port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise ProbeError(Reason.dns, f"cannot resolve {where.host}: {exc.strerror}") from None
    ip = str(infos[0][4][0])
    ctx.fact("ip", ip)
    return ip


async def connect(
    ctx: ProbeContext, where: Address
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, str]:
    ip = await resolve(ctx, where)
    with ctx.phase("connect"):
        try:
            reader, writer = await asyncio.open_connection(ip, where.port)
        except ConnectionRefusedError:
            raise ProbeError(Reason.connect_refused, f"{where}: connection refused") from None
        except OSError as exc:
            raise ProbeError(Reason.connect_error, f"{where}: {exc.strerror or exc}") from None
    return reader, writer, ip


async def start_tls(
    ctx: ProbeContext, writer: asyncio.StreamWriter, where: Address, ip: str, server_name: str | None
) -> None:
    """Upgrade the connection to TLS and record what was negotiated.

    The client accepts TLS 1.2 and up so an old server is observed, then judged
    against the policy. When verification fails, the certificate is still
    reported from a second, unverified handshake before the error is raised.
    """
    name = server_name or where.host
    with ctx.phase("tls"):
        try:
            await writer.start_tls(ctx.ssl_context(), server_hostname=name)
        except (ssl.SSLError, ConnectionError) as exc:
            error = (
                tlsinfo.handshake_error(exc, str(where))
                if isinstance(exc, ssl.SSLError)
                else ProbeError(Reason.tls_handshake, f"{where}: connection closed during the TLS handshake")
            )
            if isinstance(exc, ssl.SSLCertVerificationError):
                await tlsinfo.record_unverified(ctx, ip, where.port, name)
            raise error from None
    ssl_object = writer.get_extra_info("ssl_object")
    if ssl_object is not None:
        tlsinfo.record_session(ctx, ssl_object)


def _is_ip(host: str) -> bool:
    try:  # inet_pton first: it runs for every probe, and is 20 times faster than ipaddress
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except (OSError, ValueError):
        if "%" not in host:  # a scoped IPv6 address is the one form only ipaddress reads
            return False
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return False
    return True


def classify(exc: BaseException) -> ProbeError | None:
    """A network error a check let through, as a reason; None for anything else (a bug)."""
    if isinstance(exc, socket.gaierror):
        return ProbeError(Reason.dns, f"cannot resolve the host: {exc.strerror}")
    if isinstance(exc, ConnectionRefusedError):
        return ProbeError(Reason.connect_refused, "connection refused")
    if isinstance(exc, ssl.SSLError):
        return tlsinfo.handshake_error(exc, "the server")
    if isinstance(exc, ConnectionError | OSError) and not isinstance(exc, FileNotFoundError):
        return ProbeError(Reason.connect_error, f"{type(exc).__name__}: {exc.strerror or exc}")
    return None


def close(writer: asyncio.StreamWriter) -> None:
    """Drop the connection without waiting for the peer: the probe has seen what it needed."""
    writer.transport.abort()

"""Real local servers for probe tests: a throw-away CA, TLS 1.3 / TLS 1.2-only / expired-cert HTTPS
servers, a server that never answers, one that answers garbage, a DNS server and a gRPC health server.

Everything binds 127.0.0.1 on a port the kernel picks, and runs on an event loop in a
thread of its own, so tests (and the CLI's own asyncio.run) can probe it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
import ssl
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from sre.sandbox.tls import issue, new_ca

HEALTH_BODY = json.dumps({"status": "ok"}).encode()
SPA_BODY = b'<!doctype html><html><body><div id="app"></div></body></html>'


@dataclass(frozen=True)
class Pki:
    ca_file: Path
    good: tuple[Path, Path]  # cert, key: localhost and 127.0.0.1, valid a year
    expired: tuple[Path, Path]
    expiring: tuple[Path, Path]  # valid 5 more days
    other_host: tuple[Path, Path]  # valid, but for another name


def make_pki(folder: Path) -> Pki:
    """A throw-away CA (the sandbox's own CA code) and leaf certificates with the validity a test needs."""
    now = dt.datetime.now(dt.UTC)
    ca, ca_key = new_ca("sre test CA", days=3650, backdate=dt.timedelta(days=90))
    ca_file = folder / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))

    def leaf(name: str, days_before: int, days_after: int, host: str = "localhost") -> tuple[Path, Path]:
        cert, key = issue(
            ca,
            ca_key,
            host=host,
            not_before=now - dt.timedelta(days=days_before),
            not_after=now + dt.timedelta(days=days_after),
        )
        cert_file, key_file = folder / f"{name}.pem", folder / f"{name}.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return cert_file, key_file

    return Pki(
        ca_file=ca_file,
        good=leaf("good", 1, 365),
        expired=leaf("expired", 60, -1),
        expiring=leaf("expiring", 1, 5),
        other_host=leaf("other", 1, 365, host="other.example"),
    )


def server_context(
    cert: tuple[Path, Path], *, minimum: ssl.TLSVersion, maximum: ssl.TLSVersion
) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    ctx.minimum_version = minimum
    ctx.maximum_version = maximum
    return ctx


class LoopThread:
    """An event loop in a daemon thread, for servers that outlive one asyncio.run."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.servers: list[Any] = []

    def call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout=10)

    def serve_tcp(self, handler: Callable[..., Awaitable[None]], tls: ssl.SSLContext | None = None) -> int:
        async def start() -> int:
            server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=tls)
            self.servers.append(server)
            return int(server.sockets[0].getsockname()[1])

        return int(self.call(start()))

    def serve_udp(self, protocol: Callable[[], asyncio.DatagramProtocol]) -> int:
        async def start() -> int:
            transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                protocol, local_addr=("127.0.0.1", 0)
            )
            self.servers.append(transport)
            return int(transport.get_extra_info("sockname")[1])

        return int(self.call(start()))

    def stop(self) -> None:
        async def close() -> None:
            for server in self.servers:
                server.close()

        self.call(close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


LAST_MODIFIED = "Wed, 21 Oct 2026 07:28:00 GMT"  # /healthz's Last-Modified header


async def http_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A small HTTP/1.1 server: /healthz (JSON ok), / (the SPA), /status/NNN, /redirect[/N], else 404."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        writer.close()
        return
    request_line = head.split(b"\r\n", 1)[0].decode()
    path = request_line.split(" ")[1] if " " in request_line else "/"
    headers = {
        k.strip().lower(): v.strip()
        for k, _, v in (line.decode().partition(":") for line in head.split(b"\r\n")[1:] if line)
    }
    if path == "/healthz":
        status, ctype, body = 200, "application/json", HEALTH_BODY
    elif path == "/":
        status, ctype, body = 200, "text/html; charset=utf-8", SPA_BODY
    elif path.startswith("/status/"):
        status, ctype, body = int(path.rsplit("/", 1)[1]), "application/json", b'{"status": "down"}'
    elif path in ("/chunked", "/until-close"):
        framing = "Transfer-Encoding: chunked" if path == "/chunked" else "X-Framing: none"
        writer.write(f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n{framing}\r\n\r\n".encode())
        parts = [b"hello ", b"world"]
        if path == "/chunked":
            writer.write(b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n")
        else:
            writer.write(b"".join(parts))
        await writer.drain()
        writer.close()
        return
    elif path.startswith("/redirect"):  # /redirect/N: N redirects, then /healthz
        left = int(path.rsplit("/", 1)[1]) if path.count("/") == 2 else 1
        location = f"/redirect/{left - 1}" if left > 1 else "/healthz"
        writer.write(f"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n".encode())
        await writer.drain()
        writer.close()
        return
    elif path == "/echo":
        status, ctype, body = 200, "application/json", json.dumps(headers).encode()
    else:
        status, ctype, body = 404, "text/plain", b"not found"
    extra = f"Last-Modified: {LAST_MODIFIED}\r\n" if path == "/healthz" else ""
    writer.write(
        f"HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
        f"{extra}Connection: close\r\n\r\n".encode()
        + body
    )
    try:
        await writer.drain()
    finally:
        writer.close()


async def silent_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accepts, reads, and never answers."""
    try:
        await reader.read()
    finally:
        writer.close()


async def garbage_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"\x00\x01SSH-2.0-not-http at all\r\n\r\n")
    try:
        await writer.drain()
    finally:
        writer.close()


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dns_answer(data: bytes) -> bytes:
    """The answer to a query: A 127.0.0.1 for probe.test., NXDOMAIN for anything else."""
    import dns.message
    import dns.rcode
    import dns.rrset

    query = dns.message.from_wire(data)
    response = dns.message.make_response(query)
    question = query.question[0]
    if question.name.to_text() == "probe.test.":
        response.answer.append(dns.rrset.from_text(question.name, 300, "IN", "A", "127.0.0.1"))
    else:
        response.set_rcode(dns.rcode.NXDOMAIN)
    return bytes(response.to_wire())


class DnsProtocol(asyncio.DatagramProtocol):
    """DNS over UDP (dns_answer)."""

    transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.transport.sendto(dns_answer(data), addr)


async def dns_tcp_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """DNS over TCP (dns_answer): each message with its two-byte length, as RFC 1035 frames them."""
    try:
        while True:
            size = int.from_bytes(await reader.readexactly(2), "big")
            answer = dns_answer(await reader.readexactly(size))
            writer.write(len(answer).to_bytes(2, "big") + answer)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def start_grpc_health() -> tuple[Any, int]:
    """A real gRPC server with the standard health service: "" SERVING, "down" NOT_SERVING."""
    from concurrent import futures

    import grpc
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    servicer.set("down", health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port

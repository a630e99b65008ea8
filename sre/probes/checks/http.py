"""HTTP and HTTPS: one request on a fresh connection, every phase timed, TLS facts recorded.

A new TCP (and TLS) connection per probe, as blackbox_exporter does, so the
handshake and the certificate are really checked each time. The I/O is plain
asyncio streams (the phases line up with the sockets), the HTTP/1.1 framing is
h11's. Redirects are not followed: the status is what the endpoint said.
"""

from __future__ import annotations

import asyncio

import h11

from sre.probes import net
from sre.probes.context import ProbeContext
from sre.probes.model import ProbeError, Reason, Target
from sre.probes.settings import HttpSettings, status_allowed

READ_SIZE = 65536


async def check_http(target: Target, ctx: ProbeContext) -> None:
    settings = HttpSettings.model_validate(target.settings)
    where, url = net.address(target.endpoint.url)
    if url.scheme not in ("http", "https"):
        raise ProbeError(Reason.unsupported, f"{target.endpoint.url}: expected an http:// or https:// URL")
    reader, writer, ip = await net.connect(ctx, where)
    try:
        if url.scheme == "https":
            await net.start_tls(ctx, writer, where, ip, target.endpoint.server_name)
        path = url.path if url.path not in ("", "/") else settings.path
        if url.query:
            path = f"{path}?{url.query}"
        host = target.endpoint.server_name or url.netloc.rpartition("@")[2]
        await _exchange(ctx, (reader, writer), settings, host, path)
    finally:
        net.close(writer)


async def _exchange(
    ctx: ProbeContext,
    streams: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    settings: HttpSettings,
    host: str,
    path: str,
) -> None:
    reader, writer = streams
    conn = h11.Connection(our_role=h11.CLIENT)
    body = settings.body.encode() if settings.body is not None else b""
    headers = [
        ("Host", host),
        ("User-Agent", ctx.run.user_agent),
        ("X-SRE-Probe-Id", ctx.probe_id),
        ("Accept", "*/*"),
        ("Connection", "close"),
        *settings.headers.items(),
    ]
    if body or settings.method in ("POST", "PUT"):
        headers.append(("Content-Length", str(len(body))))
    request = conn.send(h11.Request(method=settings.method, target=path, headers=headers)) or b""
    if body:
        request += conn.send(h11.Data(data=body)) or b""
    request += conn.send(h11.EndOfMessage()) or b""

    with ctx.phase("processing"):
        writer.write(request)
        await writer.drain()
        response = await _next(conn, reader)
    if not isinstance(response, h11.Response):
        raise ProbeError(Reason.protocol, f"expected an HTTP response; got {type(response).__name__}")
    status = response.status_code
    ctx.fact("http_status", status)
    ctx.fact("http_version", response.http_version.decode())
    ctx.observation.headers = {k.decode().lower(): v.decode("latin-1") for k, v in response.headers}

    chunks: list[bytes] = []
    size = 0
    with ctx.phase("transfer"):
        while True:
            event = await _next(conn, reader)
            if isinstance(event, h11.Data):
                size += len(event.data)
                if size <= settings.max_body_bytes:
                    chunks.append(bytes(event.data))
                continue
            if isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                break
    ctx.observation.body = b"".join(chunks)[: settings.max_body_bytes]
    ctx.fact("http_content_length", size)
    if not status_allowed(status, settings.valid_status_codes):
        expected = ", ".join(str(c) for c in settings.valid_status_codes)
        raise ProbeError(Reason.status_code, f"HTTP {status} {response.reason.decode()}; expected {expected}")


async def _next(conn: h11.Connection, reader: asyncio.StreamReader) -> object:
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as exc:
            raise ProbeError(Reason.protocol, f"not an HTTP/1.1 response: {exc}") from None
        if event is not h11.NEED_DATA:
            return event
        try:
            data = await reader.read(READ_SIZE)
        except ConnectionError as exc:
            raise ProbeError(Reason.connect_error, f"connection lost: {exc}") from None
        if not data and conn.their_state is h11.SEND_RESPONSE:
            raise ProbeError(Reason.protocol, "the server closed the connection without an answer")
        conn.receive_data(data)

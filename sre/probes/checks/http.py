"""HTTP and HTTPS: one request on a fresh connection, every phase timed, TLS facts recorded.

A new TCP (and TLS) connection per probe, as blackbox_exporter does, so the
handshake and the certificate are really checked each time. The I/O is plain
asyncio streams (the phases line up with the sockets); the answer is parsed by
httptools (llhttp, the parser of Node.js). Redirects are not followed: the status is what the endpoint said.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import quote

import httptools

from sre.probes import net
from sre.probes.context import ProbeContext
from sre.probes.model import ProbeError, Reason, Target
from sre.probes.settings import HttpSettings, status_allowed
from sre.probes.verdict import HEALTH_FAILING

READ_SIZE = 65536
MAX_FAILING = 32
PATH_SAFE = "/%?=&:@!$'()*+,;~-._"


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


class _Response:
    """httptools callbacks: the status line and headers (bounded), then the body up to a limit.

    httptools gathers a header before calling back, so the bytes fed before the head is complete are
    capped too (`head_limit`): a server that floods headers costs at most that much memory.
    """

    def __init__(self, settings: HttpSettings, head_only: bool) -> None:
        self.limit = settings.max_body_bytes
        self.max_headers = settings.max_headers
        self.max_field = settings.max_header_bytes
        self.head_limit = settings.max_headers * settings.max_header_bytes + READ_SIZE
        self.head_only = head_only
        self.values: dict[str, list[str]] = {}
        self.count = 0
        self.head_bytes = 0
        self.breach: str | None = None
        self.chunks: list[bytes] = []
        self.size = 0
        self.head_done = False
        self.done = False

    @property
    def headers(self) -> dict[str, str]:
        return {key: ", ".join(values) for key, values in self.values.items()}

    def on_header(self, name: bytes, value: bytes) -> None:
        self.count += 1
        if self.count > self.max_headers:
            self.breach = f"more than {self.max_headers} response headers"
        elif len(name) + len(value) > self.max_field:
            self.breach = f"a response header over {self.max_field} bytes ({name[:40].decode('latin-1')!r})"
        if self.breach is None:
            self.values.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))

    def on_headers_complete(self) -> None:
        self.head_done = True
        self.done = self.head_only  # a HEAD answer announces a length it does not send

    def on_body(self, body: bytes) -> None:
        if self.head_only:
            return
        self.size += len(body)
        if self.size - len(body) < self.limit:
            self.chunks.append(body)

    def on_message_complete(self) -> None:
        self.done = True


def _request(ctx: ProbeContext, settings: HttpSettings, host: str, path: str) -> bytes:
    body = settings.body.encode() if settings.body is not None else b""
    headers = {
        "Host": host,
        "User-Agent": ctx.run.user_agent,
        "X-SRE-Probe-Id": ctx.probe_id,
        "Accept": "*/*",
        "Connection": "close",
        **settings.headers,
    }
    if settings.bearer_secret is not None:
        token = ctx.secret(settings.bearer_secret)
        if token is None:
            raise ProbeError(
                Reason.auth, f"settings.bearer_secret names {settings.bearer_secret!r}, which is not defined"
            )
        headers["Authorization"] = f"Bearer {token}"
    if body or settings.method in ("POST", "PUT"):
        headers["Content-Length"] = str(len(body))
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"{settings.method} {quote(path, safe=PATH_SAFE)} HTTP/1.1\r\n{head}\r\n".encode("latin-1") + body


async def _exchange(
    ctx: ProbeContext,
    streams: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    settings: HttpSettings,
    host: str,
    path: str,
) -> None:
    reader, writer = streams
    response = _Response(settings, head_only=settings.method == "HEAD")
    parser = httptools.HttpResponseParser(response)
    with ctx.phase("processing"):
        writer.write(_request(ctx, settings, host, path))
        await writer.drain()
        while not response.head_done:
            await _feed(parser, reader, response)
    status = parser.get_status_code()
    ctx.fact("http_status", status)
    ctx.fact("http_version", parser.get_http_version())
    ctx.observation.headers = response.headers
    with ctx.phase("transfer"):
        while not response.done:
            await _feed(parser, reader, response)
    ctx.observation.body = body = b"".join(response.chunks)[: settings.max_body_bytes]
    response.chunks.clear()
    ctx.fact("http_content_length", response.size)
    failing = health_failing(body)
    if failing:
        ctx.fact(HEALTH_FAILING, failing)
    if not status_allowed(status, settings.valid_status_codes):
        expected = ", ".join(str(c) for c in settings.valid_status_codes)
        named = f"; its health answer names failing: {', '.join(failing)}" if failing else ""
        raise ProbeError(Reason.status_code, f"HTTP {status}; expected {expected}{named}")


def health_failing(body: bytes) -> list[str]:
    """The `failing` list of a health answer (`{"status": "failing", "failing": ["redis"]}`), if any."""
    if not body.startswith(b"{") or b'"failing"' not in body:
        return []
    try:
        found = json.loads(body).get("failing")
    except (ValueError, AttributeError):
        return []
    if not isinstance(found, list):
        return []
    return [str(name)[:64] for name in found[:MAX_FAILING] if isinstance(name, str)]


async def _feed(
    parser: httptools.HttpResponseParser, reader: asyncio.StreamReader, response: _Response
) -> None:
    try:
        data = await reader.read(READ_SIZE)
    except ConnectionError as exc:
        raise ProbeError(Reason.connect_error, f"connection lost: {exc}") from None
    if not data:
        if not response.head_done:
            raise ProbeError(Reason.protocol, "the server closed the connection without an HTTP answer")
        response.done = True  # a body that ends when the connection does
        return
    if not response.head_done:
        response.head_bytes += len(data)
        if response.head_bytes > response.head_limit:
            response.breach = f"a response head over {response.head_limit} bytes"
    if response.breach is None:
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            response.done = True
        except httptools.HttpParserError as exc:
            if response.breach is None:
                raise ProbeError(Reason.protocol, f"not an HTTP/1.1 answer: {exc}") from None
    if response.breach is not None:
        raise ProbeError(
            Reason.protocol, f"answer refused: {response.breach} (settings.max_headers, max_header_bytes)"
        )

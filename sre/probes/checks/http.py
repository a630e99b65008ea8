"""HTTP and HTTPS: one request on a fresh connection, every phase timed, TLS facts recorded.

A new TCP (and TLS) connection per probe, as blackbox_exporter does, so the
handshake and the certificate are really checked each time. The I/O is plain
asyncio streams (the phases line up with the sockets); an HTTP/1.1 answer is parsed by
httptools (llhttp, the parser of Node.js). When the run's TLS context offers `h2` by ALPN
(blackbox modules do, as Go's client does) and the server takes it, the request goes
over HTTP/2 instead (_http2.py). Redirects are not followed: the status is what the endpoint said.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import httptools

from sre.probes import net
from sre.probes.checks._http_message import Request, Response, Streams, Wire, read
from sre.probes.context import ProbeContext
from sre.probes.model import ProbeError, Reason, Target
from sre.probes.settings import HttpSettings, status_allowed
from sre.probes.verdict import HEALTH_FAILING

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
        ssl_object = writer.get_extra_info("ssl_object")
        h2 = ssl_object is not None and ssl_object.selected_alpn_protocol() == "h2"
        request = _request(ctx, settings, host, path)
        response = Response(settings, head_only=settings.method == "HEAD")
        wire: Wire = _http2((reader, writer), response) if h2 else _Http1((reader, writer), response)
        await _exchange(ctx, wire, request, response, settings)
    finally:
        net.close(writer)


def _http2(streams: Streams, response: Response) -> Wire:
    from sre.probes.checks._http2 import Http2  # 30 ms of imports, for blackbox modules' h2 targets only

    return Http2(streams, response)


def _request(ctx: ProbeContext, settings: HttpSettings, host: str, path: str) -> Request:
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
    return Request(settings.method, quote(path, safe=PATH_SAFE), headers, body)


async def _exchange(
    ctx: ProbeContext, wire: Wire, request: Request, response: Response, settings: HttpSettings
) -> None:
    with ctx.phase("processing"):
        await wire.send(request)
        while not response.head_done:
            await wire.feed()
    status = wire.status
    ctx.fact("http_status", status)
    ctx.fact("http_version", wire.version)
    ctx.observation.headers = response.headers
    with ctx.phase("transfer"):
        while not response.done:
            await wire.feed()
    ctx.observation.body = body = response.take_body()
    ctx.fact("http_content_length", response.size)
    ctx.fact("http_declared_length", wire.declared_length)
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


class _Http1:
    """HTTP/1.1: the request as text, the answer through httptools."""

    def __init__(self, streams: Streams, response: Response) -> None:
        self._reader, self._writer = streams
        self._response = response
        self._parser = httptools.HttpResponseParser(response)

    @property
    def status(self) -> int:
        return int(self._parser.get_status_code())

    @property
    def version(self) -> str:
        return str(self._parser.get_http_version())

    @property
    def declared_length(self) -> int:
        # Go's net/http readTransfer and fixLength: a HEAD answer's header as given, no body for
        # 1xx/204/304, unknown when chunked or unsized (read to the connection's end).
        response, status = self._response, self.status
        length = response.content_length()
        if response.head_only:
            return -1 if length is None else length
        if status // 100 == 1 or status in (204, 304):
            return 0
        if "chunked" in response.headers.get("transfer-encoding", "").lower():
            return -1
        return -1 if length is None else length

    async def send(self, request: Request) -> None:
        head = "".join(f"{name}: {value}\r\n" for name, value in request.headers.items())
        line = f"{request.method} {request.target} HTTP/1.1\r\n"
        self._writer.write(f"{line}{head}\r\n".encode("latin-1") + request.body)
        await self._writer.drain()

    async def feed(self) -> None:
        response = self._response
        data = await read(self._reader)
        if not data:
            if not response.head_done:
                raise ProbeError(Reason.protocol, "the server closed the connection without an HTTP answer")
            response.done = True  # a body that ends when the connection does
            return
        response.read(len(data))
        if response.breach is None:
            try:
                self._parser.feed_data(data)
            except httptools.HttpParserUpgrade:
                response.done = True
            except httptools.HttpParserError as exc:
                if response.breach is None:
                    raise ProbeError(Reason.protocol, f"not an HTTP/1.1 answer: {exc}") from None
        response.refuse_breach()

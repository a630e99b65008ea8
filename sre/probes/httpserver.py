"""The exporter's HTTP/1.1 server: a small asyncio protocol, strict and bounded.

`sre probe serve` answers a few GET paths (and POST /-/reload) to Prometheus; a
general web framework cost about a sixth of its CPU per probe and 12 MiB of
memory. This server reads a request head of at most MAX_HEAD bytes (the request
line at most MAX_LINE, at most MAX_HEADERS headers) within HEAD_TIMEOUT seconds
of its first byte, a body of at most MAX_BODY bytes with a Content-Length (no
chunked bodies), keeps connections alive (HTTP/1.1, or 1.0 that asks), answers
pipelined requests one after the other, and closes idle connections after
IDLE_TIMEOUT (deadlines are looked at each second, not timed per request).
Anything else gets one 4xx answer with a one-line reason and the connection is
closed; each refusal is logged as one line on `sre.probes.httpserver`.
Memory per connection is bounded: reading pauses while a request is being answered,
and until a client has read the answers written to it (the transport's flow control).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from typing import cast
from urllib.parse import parse_qsl, unquote

MAX_LINE = 8192
MAX_HEAD = 16384
MAX_HEADERS = 64
MAX_BODY = 65536
HEAD_TIMEOUT = 10.0  # a slow sender (slowloris) gets this long for a whole request head
IDLE_TIMEOUT = 60.0  # a keep-alive connection with no request in flight
MAX_CONNECTIONS = 1024
METHODS = frozenset({"GET", "HEAD", "POST"})
# RFC 9110's token, a request target's bytes, a header value's: checked by regular expressions (C
# speed), not character by character.
TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
TARGET = re.compile(rb"/[\x21-\x7e]*")  # a URI is ASCII (RFC 3986): anything else is refused
FIELD = re.compile(rb"[^\x00-\x08\x0a-\x1f\x7f]*")
TEXT = "text/plain; charset=utf-8"

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str  # percent-decoded
    query: dict[str, str]  # the first value of each parameter
    headers: dict[str, str]  # names in lower case


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    content_type: str = TEXT
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def text(cls, text: str, status: int = 200) -> Reply:
        return cls(status, text.encode())


Handler = Callable[[Request], Awaitable[Reply]]


class BadRequest(Exception):
    """A request this server does not take: the status and the one line that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True, slots=True)
class Head:
    request: Request
    length: int  # of the body that follows
    keep_alive: bool
    version: str


def parse_head(data: bytes) -> Head:
    """A request head (up to, not including, the blank line). Raises BadRequest."""
    line, _, rest = data.partition(b"\r\n")
    if len(line) > MAX_LINE:
        raise BadRequest(414, f"request line over {MAX_LINE} bytes")
    parts = line.split(b" ")
    if len(parts) != 3:
        raise BadRequest(400, "malformed request line")
    raw_method, raw_target, raw_version = parts
    if not TOKEN.fullmatch(raw_method):
        raise BadRequest(400, "malformed method")
    method = raw_method.decode("latin-1")
    if raw_version not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise BadRequest(505 if raw_version.startswith(b"HTTP/") else 400, "HTTP/1.0 or 1.1 only")
    if not TARGET.fullmatch(raw_target):
        raise BadRequest(400, "malformed request target")
    headers: dict[str, str] = {}
    lines = rest.split(b"\r\n") if rest else []
    if len(lines) > MAX_HEADERS:
        raise BadRequest(431, f"more than {MAX_HEADERS} headers")
    for raw in lines:
        name, colon, value = raw.partition(b":")
        if not colon or not TOKEN.fullmatch(name):
            raise BadRequest(400, "malformed header")  # folded lines and spaces before ':' too
        if not FIELD.fullmatch(value):
            raise BadRequest(400, "control character in a header")
        key = name.decode("latin-1").lower()
        text = value.strip(b" \t").decode("latin-1")
        if key in headers and key in ("content-length", "host"):
            if headers[key] != text:
                raise BadRequest(400, f"conflicting {key} headers")
            continue
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    if "transfer-encoding" in headers:
        raise BadRequest(501, "chunked request bodies are not accepted")
    length_text = headers.get("content-length", "0")
    if not length_text.isdigit() or not length_text.isascii():
        raise BadRequest(400, "malformed content-length")
    length = int(length_text)
    if length > MAX_BODY:
        raise BadRequest(413, f"request body over {MAX_BODY} bytes")
    version = raw_version.decode()
    connection = headers.get("connection", "").lower()
    keep = "keep-alive" in connection if version == "HTTP/1.0" else "close" not in connection
    target = raw_target.decode("latin-1")
    path, _, query = target.partition("?")
    params: dict[str, str] = {}
    for param, given in parse_qsl(query, keep_blank_values=True):
        params.setdefault(param, given)
    return Head(Request(method, unquote(path), params, headers), length, keep, version)


@functools.lru_cache(maxsize=1)
def _date_of(second: int) -> str:
    return formatdate(second, usegmt=True)


def _http_date() -> str:
    """The Date header, made once a second."""
    return _date_of(int(time.time()))


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def encode(reply: Reply, *, keep_alive: bool, version: str, head_only: bool = False) -> bytes:
    lines = [
        f"HTTP/1.1 {reply.status} {_reason(reply.status)}",
        f"Content-Type: {reply.content_type}",
        f"Content-Length: {len(reply.body)}",
        f"Date: {_http_date()}",
        *(f"{name}: {value}" for name, value in reply.headers),
    ]
    if not keep_alive:
        lines.append("Connection: close")
    elif version == "HTTP/1.0":
        lines.append("Connection: keep-alive")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + reply.body


class Connection(asyncio.Protocol):
    """One client connection: requests in order, one at a time."""

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.busy = False  # a request is being answered, or its answer waits for the client to read
        self.waiting = False  # an answer is written, the client has not read it (flow control)
        self.writable = True
        self.closing = False
        self.loop = asyncio.get_running_loop()
        self.deadline = math.inf  # loop time; the server's sweep acts on it (no timer per request)
        self.task: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)  # uvloop's is not a subclass
        if len(self.server.connections) >= self.server.max_connections:
            self._refuse(BadRequest(503, "too many connections"))
            return
        self.server.connections.add(self)
        self._arm(self.server.idle_timeout)
        self.server.sweep_soon()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self.closing = True
        self.buffer.clear()

    def eof_received(self) -> bool:
        if self.busy:
            self.closing = True  # answer what was asked, then close
            return True
        return False

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        if not self.buffer and not self.busy:
            self._arm(self.server.head_timeout)  # the first byte of a request starts its clock
        self.buffer += data
        if not self.busy:
            self._next()

    def _arm(self, seconds: float) -> None:
        self.deadline = self.loop.time() + seconds

    def pause_writing(self) -> None:
        self.writable = False  # the next request waits until the client reads what it was sent

    def resume_writing(self) -> None:
        self.writable = True
        if self.waiting and not self.closing:
            self._continue()

    def timed_out(self) -> None:
        if self.waiting and self.transport is not None:
            self.closing = True  # a client that does not read its answers: dropped, unflushed
            self.transport.abort()
            return
        if self.busy or self.closing:
            return
        if self.buffer:
            self._refuse(BadRequest(408, f"no complete request within {self.server.head_timeout:g} s"))
        elif self.transport is not None:
            self.closing = True
            self.transport.close()

    def _refuse(self, error: BadRequest) -> None:
        log.warning("bad request: %s %s", error.status, error.message)
        self.closing = True
        self.buffer.clear()
        if self.transport is not None:
            reply = Reply.text(f"{error.status} {_reason(error.status)}: {error.message}\n", error.status)
            self.transport.write(encode(reply, keep_alive=False, version="HTTP/1.1"))
            self.transport.close()

    def _next(self) -> None:
        """Start on the next complete request in the buffer, if there is one."""
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > MAX_HEAD:
                first = self.buffer.find(b"\r\n")
                too_long = first > MAX_LINE or (first < 0 and len(self.buffer) > MAX_LINE)
                self._refuse(
                    BadRequest(414, f"request line over {MAX_LINE} bytes")
                    if too_long
                    else BadRequest(431, f"request head over {MAX_HEAD} bytes")
                )
            return
        if end > MAX_HEAD:
            self._refuse(BadRequest(431, f"request head over {MAX_HEAD} bytes"))
            return
        try:
            head = parse_head(bytes(self.buffer[:end]))
        except BadRequest as error:
            self._refuse(error)
            return
        start = end + 4
        if len(self.buffer) < start + head.length:
            return  # the body is still coming (within the same head timeout)
        del self.buffer[: start + head.length]  # the body is not used by any path served
        if head.request.method not in METHODS:
            self._refuse(BadRequest(405, f"method {head.request.method[:16]} not allowed"))
            return
        self.busy = True
        self.deadline = math.inf
        assert self.transport is not None
        self.transport.pause_reading()  # pipelined requests wait in the kernel, not here
        self.task = asyncio.get_running_loop().create_task(self._answer(head))

    async def _answer(self, head: Head) -> None:
        try:
            reply = await self.server.handler(head.request)
        except Exception as exc:  # a bug in a handler: one line and a 500, never a traceback
            log.error("internal error answering %s: %s: %s", head.request.path[:64], type(exc).__name__, exc)
            reply = Reply.text("500 Internal Server Error\n", 500)
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        keep = head.keep_alive and not self.closing
        transport.write(
            encode(reply, keep_alive=keep, version=head.version, head_only=head.request.method == "HEAD")
        )
        if not keep:
            self.closing = True
            transport.close()
            return
        self.task = None
        if self.writable:
            self._continue()
        else:
            self.waiting = True
            self._arm(self.server.idle_timeout)

    def _continue(self) -> None:
        """The next request, once the answer before it has gone to the client."""
        self.busy = self.waiting = False
        self._arm(self.server.head_timeout if self.buffer else self.server.idle_timeout)
        assert self.transport is not None
        self.transport.resume_reading()
        if self.buffer:
            self._next()


@dataclass
class HttpServer:
    handler: Handler
    head_timeout: float = HEAD_TIMEOUT
    idle_timeout: float = IDLE_TIMEOUT
    max_connections: int = MAX_CONNECTIONS

    def __post_init__(self) -> None:
        self.connections: set[Connection] = set()
        self._sweep: asyncio.TimerHandle | None = None

    def sweep_soon(self) -> None:
        """Look at the connections' deadlines every `tick` seconds while there are connections."""
        if self._sweep is None:
            tick = min(1.0, self.head_timeout / 4, self.idle_timeout / 4)
            self._sweep = asyncio.get_running_loop().call_later(tick, self._swept)

    def _swept(self) -> None:
        self._sweep = None
        now = asyncio.get_running_loop().time()
        for conn in [c for c in self.connections if c.deadline <= now]:
            conn.timed_out()
        if self.connections:
            self.sweep_soon()

    async def start(self, host: str, port: int) -> asyncio.Server:
        """Listen; raises OSError when the address cannot be bound."""
        loop = asyncio.get_running_loop()
        return await loop.create_server(lambda: Connection(self), host, port, backlog=1024)

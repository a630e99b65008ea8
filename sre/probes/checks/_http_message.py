"""One request of the HTTP check and its answer, whatever the wire: HTTP/1.1 (http.py) or HTTP/2 (_http2.py).

Both wire protocols hand their header fields and body bytes to the same `Response`, so a header flood
or a huge body is refused or counted with the same limits whichever protocol the server chose.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

from sre.probes.model import ProbeError, Reason
from sre.probes.settings import HttpSettings

READ_SIZE = 65536
Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    target: str  # the path and query, percent-encoded
    headers: dict[str, str]  # with Host, as an HTTP/1.1 request carries it
    body: bytes


class Wire(Protocol):
    """A request sent on an open connection, then its answer fed into a `Response` one read at a time."""

    @property
    def status(self) -> int: ...

    @property
    def version(self) -> str: ...

    @property
    def declared_length(self) -> int:
        """What Go's client makes resp.ContentLength (probe_http_content_length): -1 when unknown."""
        ...

    async def send(self, request: Request) -> None: ...

    async def feed(self) -> None: ...


async def read(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.read(READ_SIZE)
    except ConnectionError as exc:
        raise ProbeError(Reason.connect_error, f"connection lost: {exc}") from None


class Response:
    """The status line's facts aside, what the server answered: headers (bounded) and the body up to a limit.

    The bytes read before the head is complete are capped too (`head_limit`): a server that floods
    headers costs at most that much memory, however its protocol frames them.
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

    def read(self, size: int) -> None:
        """Count bytes read off the wire while the head is not complete."""
        if not self.head_done:
            self.head_bytes += size
            if self.head_bytes > self.head_limit:
                self.breach = f"a response head over {self.head_limit} bytes"

    def refuse_breach(self) -> None:
        if self.breach is not None:
            raise ProbeError(
                Reason.protocol, f"answer refused: {self.breach} (settings.max_headers, max_header_bytes)"
            )

    def content_length(self) -> int | None:
        """The Content-Length header's value when it is one number, else None."""
        values = set(self.values.get("content-length", []))
        if len(values) != 1:
            return None
        value = values.pop().strip()
        return int(value) if value.isdigit() else None

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

    def take_body(self) -> bytes:
        body = b"".join(self.chunks)[: self.limit]
        self.chunks.clear()
        return body

"""HTTP/2 for the HTTP check: one request on stream 1 of a connection whose TLS handshake chose `h2`.

The framing is the `h2` library's (sans-I/O); the reads and writes are the check's own asyncio
streams, so the processing and transfer phases time the same socket work as over HTTP/1.1. What
Go's client (blackbox_exporter's) does is followed: the Host header becomes `:authority`, the
connection-specific headers are not sent, server push is refused. A server that breaks the framing,
resets the stream or goes away before the answer's end fails the probe with `protocol`; the answer's
headers and body meet the same bounds as an HTTP/1.1 answer's (`Response`).
"""

from __future__ import annotations

import h2.errors
import h2.events
import h2.exceptions
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.settings import SettingCodes, Settings

from sre.probes.checks._http_message import Request, Response, Streams, read
from sre.probes.model import ProbeError, Reason

# Not sent over HTTP/2 (RFC 9113 8.2.2), as Go's transport leaves them out; Host is `:authority`.
CONNECTION_HEADERS = frozenset(
    {"host", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"}
)


class Http2:
    """`Wire` over HTTP/2."""

    def __init__(self, streams: Streams, response: Response) -> None:
        self._reader, self._writer = streams
        self._response = response
        self._conn = H2Connection(H2Configuration(client_side=True, header_encoding=None))
        self._stream = 0
        self._status = 0
        self._frames = _Frames()
        self._ended_with_head = False

    @property
    def status(self) -> int:
        return self._status

    @property
    def version(self) -> str:
        return "2.0"  # Go's resp.Proto is "HTTP/2.0", what valid_http_versions is compared with

    @property
    def declared_length(self) -> int:
        # x/net/http2's handleResponse: the one Content-Length, else 0 for an answer that ended with
        # its headers (not to HEAD), else unknown.
        length = self._response.content_length()
        if length is not None:
            return length
        return 0 if self._ended_with_head and not self._response.head_only else -1

    async def send(self, request: Request) -> None:
        conn = self._conn
        conn.local_settings = Settings(
            client=True,
            initial_values={
                SettingCodes.ENABLE_PUSH: 0,
                SettingCodes.MAX_CONCURRENT_STREAMS: 1,
                SettingCodes.MAX_HEADER_LIST_SIZE: self._response.head_limit,
            },
        )
        # The answer's header block is decoded against this bound before the settings are acknowledged.
        conn.decoder.max_header_list_size = self._response.head_limit
        conn.initiate_connection()
        self._stream = conn.get_next_available_stream_id()
        authority = ""
        rest: list[tuple[str, str]] = []
        for name, value in request.headers.items():
            lower = name.lower()
            if lower == "host":
                authority = value  # the last one given, as an HTTP/1.1 server would read it
            elif lower not in CONNECTION_HEADERS and (lower != "te" or value == "trailers"):
                rest.append((lower, value))
        pseudo = [(":method", request.method), (":authority", authority), (":scheme", "https")]
        fields = [*pseudo, (":path", request.target), *rest]
        try:
            conn.send_headers(self._stream, fields, end_stream=not request.body)
        except h2.exceptions.H2Error as exc:
            raise ProbeError(Reason.unsupported, f"the request cannot be sent over HTTP/2: {exc}") from None
        await self._flush()
        await self._send_body(request.body)

    async def _send_body(self, rest: bytes) -> None:
        conn = self._conn
        while rest:
            size = min(conn.local_flow_control_window(self._stream), conn.max_outbound_frame_size, len(rest))
            if size == 0:
                await self.feed()  # the server's WINDOW_UPDATE (or its answer, before the body is sent)
                if self._response.head_done:
                    return
                continue
            conn.send_data(self._stream, rest[:size], end_stream=size == len(rest))
            rest = rest[size:]
            await self._flush()

    async def feed(self) -> None:
        response = self._response
        data = await read(self._reader)
        if not data:
            where = "an HTTP/2 answer" if not response.head_done else "the end of the HTTP/2 answer"
            raise ProbeError(Reason.protocol, f"the server closed the connection before {where}")
        response.read(len(data))
        response.refuse_breach()
        self._frames.check(data, self._conn.max_inbound_frame_size)
        try:
            events = self._conn.receive_data(data)
        except h2.exceptions.H2Error as exc:
            raise ProbeError(Reason.protocol, f"not an HTTP/2 answer: {exc}") from None
        for event in events:
            self._event(event)
            response.refuse_breach()
        await self._flush()

    def _event(self, event: h2.events.Event) -> None:
        response = self._response
        if isinstance(event, h2.events.ResponseReceived) and event.stream_id == self._stream:
            for name, value in event.headers or []:
                if name == b":status":
                    self._status = int(value)  # h2 checked it is three digits
                elif not name.startswith(b":"):
                    response.on_header(bytes(name), bytes(value))
            self._ended_with_head = event.stream_ended is not None
            response.on_headers_complete()
        elif isinstance(event, h2.events.DataReceived) and event.stream_id == self._stream:
            response.on_body(event.data or b"")
            self._conn.acknowledge_received_data(event.flow_controlled_length or 0, self._stream)
        elif isinstance(event, h2.events.StreamEnded) and event.stream_id == self._stream:
            response.on_message_complete()
        elif isinstance(event, h2.events.StreamReset) and event.stream_id == self._stream:
            if response.done:
                return  # a complete answer, then the rest of the request refused (RFC 9113 8.1)
            raise ProbeError(Reason.protocol, f"the server reset the stream ({_code(event.error_code)})")
        elif isinstance(event, h2.events.ConnectionTerminated) and not response.done:
            said = f": {event.additional_data[:80]!r}" if event.additional_data else ""
            raise ProbeError(
                Reason.protocol, f"the server ended the HTTP/2 connection ({_code(event.error_code)}{said})"
            )

    async def _flush(self) -> None:
        data = self._conn.data_to_send()
        if data:
            self._writer.write(data)
            try:
                await self._writer.drain()
            except ConnectionError as exc:
                raise ProbeError(Reason.connect_error, f"connection lost: {exc}") from None


class _Frames:
    """Each frame's length, read as its header arrives: h2 buffers a whole frame before it checks the
    length against SETTINGS_MAX_FRAME_SIZE, so a bogus 16 MiB length would be 16 MiB held first."""

    def __init__(self) -> None:
        self._header = b""
        self._left = 0  # bytes of the current frame's payload still to come

    def check(self, data: bytes, limit: int) -> None:
        at = 0
        while at < len(data):
            if self._left:
                step = min(self._left, len(data) - at)
                self._left -= step
                at += step
                continue
            taken = data[at : at + 9 - len(self._header)]
            self._header += taken
            at += len(taken)
            if len(self._header) == 9:
                length = int.from_bytes(self._header[:3], "big")
                self._header = b""
                if length > limit:
                    raise ProbeError(
                        Reason.protocol, f"not an HTTP/2 answer: a frame of {length} bytes, over {limit}"
                    )
                self._left = length


def _code(code: object) -> str:
    return code.name if isinstance(code, h2.errors.ErrorCodes) else f"error code {code}"

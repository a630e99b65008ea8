"""Servers that behave as badly as a broken or hostile endpoint can: they trickle, flood, stall or lie.

Each is an asyncio stream handler for LoopThread.serve_tcp (on 127.0.0.1, a free port).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import Iterable, Iterator
from pathlib import Path

import hpack
from hyperframe.frame import ContinuationFrame, HeadersFrame, RstStreamFrame, SettingsFrame
from probe_servers import LoopThread, server_context

TRICKLE_SECONDS = 1.0
FLOOD_BYTES = 100 << 20
BIG_BODY = 50 << 20


async def _read_head(reader: asyncio.StreamReader) -> str:
    with contextlib.suppress(asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        head = await reader.readuntil(b"\r\n\r\n")
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        return line.split(" ")[1] if " " in line else "/"
    return ""


async def _stream(writer: asyncio.StreamWriter, chunks: Iterable[bytes]) -> None:
    """Write until done or until the client hangs up."""
    try:
        for chunk in chunks:
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def trickle_head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A status line, then one byte of a header a second, forever."""
    await _read_head(reader)

    async def drip() -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        while True:
            writer.write(b"a")
            await writer.drain()
            await asyncio.sleep(TRICKLE_SECONDS)

    with contextlib.suppress(ConnectionError, OSError):
        await drip()


async def header_flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """100 MB of distinct response headers, as fast as the client reads them."""
    await _read_head(reader)
    value = b"v" * 1000
    count = FLOOD_BYTES // (len(value) + 20)
    lines = (b"X-Flood-%d: %s\r\n" % (i, value) for i in range(count))
    await _stream(writer, _chain([b"HTTP/1.1 200 OK\r\n"], lines, [b"Content-Length: 0\r\n\r\n"]))


async def big_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A 50 MB body with an honest Content-Length."""
    await _read_head(reader)
    chunk = b"x" * (1 << 20)
    head = f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {BIG_BODY}\r\n\r\n".encode()
    await _stream(writer, _chain([head], (chunk for _ in range(BIG_BODY // len(chunk)))))


async def backtracking_bait(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A body that makes `^(a+)+$` backtrack for ever in Python's re."""
    await _read_head(reader)
    body = b"a" * 100_000 + b"b"
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    await _stream(writer, [head + body])


async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accepts (with TLS: completes the handshake), reads, never answers."""
    with contextlib.suppress(ConnectionError, OSError):
        await reader.read()
    writer.close()


async def trickling_kubernetes(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A Kubernetes API whose /readyz and /version answer, and whose node list trickles 1 byte/s."""
    path = await _read_head(reader)
    if path.startswith("/api/v1/nodes"):
        body = json.dumps({"kind": "NodeList", "items": [{"metadata": {"name": "w1"}}]}).encode()
        writer.write(
            f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        with contextlib.suppress(ConnectionError, OSError):
            for byte in body:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(TRICKLE_SECONDS)
        writer.close()
        return
    answer = b"ok" if path == "/readyz" else json.dumps({"gitVersion": "v1.31.2"}).encode()
    await _stream(
        writer,
        [b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(answer), answer)],
    )


# HTTP/2 servers: TLS with ALPN `h2` (h2_context), then a server that breaks the protocol.
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SETTINGS = SettingsFrame(0).serialize()


async def _h2_request(reader: asyncio.StreamReader) -> bool:
    """The client's connection preface, then whatever it sent with it (its SETTINGS and request)."""
    with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
        if await reader.readexactly(len(H2_PREFACE)) == H2_PREFACE:
            await reader.read(65536)
            return True
    return False


async def h2_garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Takes h2 by ALPN, then answers in HTTP/1.1: no HTTP/2 frame."""
    if await _h2_request(reader):
        await _stream(writer, [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" * 100])


async def h2_header_flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A header block that never ends: HEADERS, then 100 MB of CONTINUATION frames without END_HEADERS."""
    if not await _h2_request(reader):
        return
    encoder = hpack.Encoder()
    first = HeadersFrame(1)
    first.data = encoder.encode([(":status", "200")])

    def more() -> Iterator[bytes]:
        for i in range(FLOOD_BYTES // 16000):
            frame = ContinuationFrame(1)
            frame.data = encoder.encode([(f"x-flood-{i}-{j}", "v" * 1000) for j in range(15)], huffman=False)
            yield frame.serialize()

    await _stream(writer, _chain([SETTINGS, first.serialize()], more()))


async def h2_reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Settings, then the request's stream reset (INTERNAL_ERROR) instead of an answer."""
    if await _h2_request(reader):
        await _stream(writer, [SETTINGS + RstStreamFrame(1, error_code=2).serialize()])


async def h2_stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Settings, then nothing: the request is never answered."""
    if await _h2_request(reader):
        writer.write(SETTINGS)
        await stall(reader, writer)


def serve_h2_breakers(loop: LoopThread, cert: tuple[Path, Path]) -> dict[str, int]:
    """The HTTP/2 servers above on TLS that takes `h2` by ALPN: name (garbage, flood, reset, stall) -> port."""
    tls = server_context(cert, minimum=ssl.TLSVersion.TLSv1_2, maximum=ssl.TLSVersion.TLSv1_3)
    tls.set_alpn_protocols(["h2"])
    handlers = {"garbage": h2_garbage, "flood": h2_header_flood, "reset": h2_reset, "stall": h2_stall}
    return {name: loop.serve_tcp(handler, tls) for name, handler in handlers.items()}


def _chain(*parts: Iterable[bytes]) -> Iterator[bytes]:
    for part in parts:
        yield from part

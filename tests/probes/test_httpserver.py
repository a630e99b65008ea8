"""The exporter's HTTP server against hostile clients: one clear 4xx each, bounded memory, no traceback."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvloop

from sre.probes.httpserver import MAX_HEAD, MAX_HEADERS, MAX_LINE, HttpServer, Reply, Request


async def _echo(request: Request) -> Reply:
    if request.path == "/boom":
        raise RuntimeError("a bug")
    if request.path == "/slow":
        await asyncio.sleep(0.2)
    if request.path == "/big":
        return Reply(200, b"b" * BIG)
    shown = ",".join(f"{k}={v}" for k, v in sorted(request.query.items()))
    return Reply.text(f"{request.method} {request.path} {shown}\n")


BIG = 256 * 1024


class Served:
    def __init__(self, **options: float) -> None:
        self.server = HttpServer(_echo, **options)  # type: ignore[arg-type]
        self.loop = uvloop.new_event_loop()
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.started.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        listening = self.loop.run_until_complete(self.server.start("127.0.0.1", 0))
        self.port = listening.sockets[0].getsockname()[1]
        self.started.set()
        self.loop.run_forever()
        listening.close()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def write_buffers(self) -> list[int]:
        """What the server holds to send, per connection (asked on its own loop)."""

        async def sizes() -> list[int]:
            return [c.transport.get_write_buffer_size() for c in self.server.connections if c.transport]

        return asyncio.run_coroutine_threadsafe(sizes(), self.loop).result(10)

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)


@pytest.fixture
def served() -> Iterator[Served]:
    s = Served(head_timeout=0.5, idle_timeout=5.0, max_connections=8)
    yield s
    s.stop()


def _read_all(conn: socket.socket) -> bytes:
    """Everything until the server closes the connection."""
    out = b""
    while chunk := conn.recv(65536):
        out += chunk
    return out


def _answer(served: Served, data: bytes) -> bytes:
    with served.connect() as conn:
        conn.sendall(data)
        return _read_all(conn)


def _statuses(data: bytes) -> list[int]:
    return [int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", data)]


def test_a_request_is_answered_and_the_query_decoded(served: Served) -> None:
    data = _answer(served, b"GET /probe?target=a%20b&module=x&module=y HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert _statuses(data) == [200]
    assert data.endswith(b"GET /probe module=x,target=a b\n")
    assert b"Content-Length: 31\r\n" in data and b"Connection: close\r\n" in data


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET / HTTP/1.1 extra\r\n\r\n", 400),
        (b"GET http://elsewhere/ HTTP/1.1\r\n\r\n", 400),
        (b"GET /probe?target=\xc3\xa9 HTTP/1.1\r\n\r\n", 400),  # not percent-encoded
        (b"GET / HTTP/2.0\r\n\r\n", 505),
        (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
        (b"POST /-/reload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501),
        (b"POST /-/reload HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n", 413),
        (b"PUT / HTTP/1.1\r\n\r\n", 405),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(200) + b"\r\n\r\n", 400),  # a TLS hello
    ],
)
def test_malformed_requests_get_one_clear_answer_and_a_close(
    served: Served, request_bytes: bytes, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "sre.probes.httpserver")
    data = _answer(served, request_bytes)
    assert _statuses(data) == [status], data
    body = data.partition(b"\r\n\r\n")[2]
    assert body.count(b"\n") == 1 and body.startswith(str(status).encode())
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert all("Traceback" not in r.getMessage() and r.exc_info is None for r in caplog.records)


def test_oversized_heads_are_refused_without_being_kept(served: Served) -> None:
    assert _statuses(_answer(served, b"GET /" + b"a" * (MAX_LINE + 10) + b" HTTP/1.1\r\n\r\n")) == [414]
    many = b"".join(b"X-%d: 1\r\n" % i for i in range(MAX_HEADERS + 1))
    assert _statuses(_answer(served, b"GET / HTTP/1.1\r\n" + many + b"\r\n")) == [431]
    # A head that never ends: refused once it passes MAX_HEAD, not buffered further.
    with served.connect() as conn:
        conn.sendall(b"GET / HTTP/1.1\r\n")
        sent, cut = 0, False
        while sent < 64 * MAX_HEAD and not cut:  # the server closes while more is still being sent
            try:
                conn.sendall(b"X-Filler: " + b"f" * 1000 + b"\r\n")
            except OSError:
                cut = True
            sent += 1012
            time.sleep(0.001)
        assert cut, "the server kept reading a head that never ends"
    with served.connect() as conn:
        conn.sendall(b"GET / HTTP/1.1\r\n" + b"X-Filler: f\r\n" * (MAX_HEAD // 13 + 1))
        assert _statuses(_read_all(conn)) in ([431], [])


def test_a_slow_sender_is_cut_off_at_the_head_timeout(served: Served) -> None:
    with served.connect() as conn:
        conn.sendall(b"GET / HTTP/1.1\r\n")
        data = b""
        for _ in range(100):  # one header byte every 50 ms: each keeps the connection busy
            try:
                conn.sendall(b"X")
            except OSError:
                break
            time.sleep(0.05)
            conn.setblocking(False)
            try:
                data += conn.recv(65536)
            except BlockingIOError:
                pass
            finally:
                conn.setblocking(True)
            if data:
                break
        data += _read_all(conn)
    assert _statuses(data) == [408]


def test_an_idle_connection_is_closed_quietly(caplog: pytest.LogCaptureFixture) -> None:
    served = Served(head_timeout=0.5, idle_timeout=0.3)
    try:
        with served.connect() as conn:
            assert _read_all(conn) == b""
    finally:
        served.stop()
    assert not caplog.records


def test_keep_alive_and_pipelining_answer_in_order(served: Served) -> None:
    with served.connect() as conn:
        conn.sendall(b"GET /a HTTP/1.1\r\n\r\n")
        first = conn.recv(65536)
        assert _statuses(first) == [200] and first.endswith(b"GET /a \n")
        # Three at once, the first slow: answered one after the other, the last closes.
        conn.sendall(
            b"GET /slow HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz"
            b"GET /c HTTP/1.1\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\n\r\n"
        )
        rest = _read_all(conn)
    assert _statuses(rest) == [200, 200, 200]
    assert rest.index(b"GET /slow") < rest.index(b"POST /b") < rest.index(b"GET /c")
    assert b"/never" not in rest


def test_http10_closes_unless_asked_and_head_has_no_body(served: Served) -> None:
    assert _statuses(_answer(served, b"GET / HTTP/1.0\r\n\r\n")) == [200]
    with served.connect() as conn:
        conn.sendall(b"HEAD /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        data = conn.recv(65536)
        assert b"Connection: keep-alive\r\n" in data and data.endswith(b"\r\n\r\n")
        assert b"Content-Length: 9\r\n" in data


def test_a_handler_bug_is_a_500_and_one_line(served: Served, caplog: pytest.LogCaptureFixture) -> None:
    data = _answer(served, b"GET /boom HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert _statuses(data) == [500] and b"a bug" not in data
    errors = [r for r in caplog.records if r.name == "sre.probes.httpserver"]
    assert len(errors) == 1 and errors[0].exc_info is None and "RuntimeError" in errors[0].getMessage()


def test_a_connection_flood_is_refused_past_the_limit(served: Served) -> None:
    conns = [served.connect() for _ in range(8)]
    try:
        for conn in conns:  # each is served (and so counted) before the next one comes
            conn.sendall(b"GET / HTTP/1.1\r\n\r\n")
            assert _statuses(conn.recv(65536)) == [200]
        with served.connect() as extra:
            assert _statuses(_read_all(extra)) == [503]
        conns.pop().close()
        time.sleep(0.1)
        assert _statuses(_answer(served, b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")) == [200]
    finally:
        for conn in conns:
            conn.close()


def test_a_request_flood_on_many_connections_leaves_the_server_serving(served: Served) -> None:
    for i in range(200):
        with served.connect() as conn:
            conn.sendall(b"GARBAGE %d\r\n\r\n" % i if i % 2 else b"GET / HTTP/1.1\r\n")  # half left hanging
    assert _statuses(_answer(served, b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")) == [200]
    for _ in range(100):  # the closed ones are forgotten: nothing is kept per connection gone
        if not served.server.connections:
            break
        time.sleep(0.05)
    assert not served.server.connections


def test_a_client_that_does_not_read_its_answers_costs_one_answer(served: Served) -> None:
    with served.connect() as conn:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        conn.sendall(b"GET /big HTTP/1.1\r\n\r\n" * 100)  # pipelined, and nothing read
        time.sleep(1.0)
        held = served.write_buffers()
        assert held and max(held) <= 2 * BIG, held  # not 100 answers
    # One that reads slowly gets every answer, in order.
    with served.connect() as conn:
        conn.sendall(b"GET /big HTTP/1.1\r\n\r\n" * 9 + b"GET /big HTTP/1.1\r\nConnection: close\r\n\r\n")
        time.sleep(0.5)
        assert _statuses(_read_all(conn)) == [200] * 10

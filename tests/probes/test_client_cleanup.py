"""Clients a probe opened are closed before its result is returned: nothing reconnects afterwards.

A counting server on 127.0.0.1 accepts and hangs up; a client left open (or a closed gRPC channel
still referenced from the result's traceback) dials it again, with backoff, after the probe is over.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from probe_support import make_target, run_one

from sre.probes.model import Status

pytestmark = pytest.mark.integration
QUIET_SECONDS = 4.0  # longer than gRPC's first reconnect backoff (1 s, jittered)


class Counting:
    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self.count = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.count += 1
            conn.close()


@pytest.fixture
def counting() -> Iterator[Counting]:
    server = Counting()
    yield server
    server.sock.close()


@pytest.mark.parametrize("scheme,check", [("grpc", "grpc"), ("mongodb", "mongodb")])
def test_nothing_dials_the_server_after_the_probe(counting: Counting, scheme: str, check: str) -> None:
    r = run_one(make_target(f"{scheme}://127.0.0.1:{counting.port}/", check=check, timeout=1.0))
    assert r.status is Status.failed
    assert counting.count >= 1
    after = counting.count
    time.sleep(QUIET_SECONDS)
    assert counting.count == after, f"{counting.count - after} connections after the probe returned"

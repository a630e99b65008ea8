"""`sre probe serve` under attack: allow-list bypasses, local files, junk labels, bad requests.

The witnesses are real TCP listeners on 127.0.0.1 and 127.0.0.2 (both loopback on Linux) that
count the connections they get: a bypass shows up as a connection to the host it should not reach.
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from exporter_client import serving
from probe_servers import closed_port
from prometheus_client import CollectorRegistry

from sre.platform.model import SecretSource
from sre.probes.context import RunContext
from sre.probes.definitions import Definitions, ExporterSpec, ProbeSpec
from sre.probes.exporter import Exporter, OneLine, Refusal

pytestmark = pytest.mark.integration

MODULES = ("http", "https", "tcp", "tls", "grpc", "postgres", "redis", "nats", "kafka", "mongodb")
TOKEN = "s3cr3t-bearer-token-value"


class Witness:
    """Accepts connections, counts them, and closes them."""

    def __init__(self, host: str) -> None:
        self.sock = socket.create_server((host, 0))
        self.port = int(self.sock.getsockname()[1])
        self.count = 0
        self.sock.settimeout(0.1)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.count += 1
            conn.close()

    def settle(self) -> int:
        """The count once connections waiting in the backlog are accepted."""
        for _ in range(50):
            ready, _, _ = select.select([self.sock], [], [], 0.1)
            if not ready:
                break
        time.sleep(0.2)  # the accept loop polls every 0.1 s
        return self.count

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def witnesses() -> Iterator[tuple[Witness, Witness]]:
    allowed, forbidden = Witness("127.0.0.1"), Witness("127.0.0.2")
    yield allowed, forbidden
    allowed.close()
    forbidden.close()


def _exporter(allow: list[str]) -> Exporter:
    os.environ["SRE_TEST_EXPORTER_TOKEN"] = TOKEN
    secret = {"token": SecretSource(env="SRE_TEST_EXPORTER_TOKEN")}
    kinds = {m: ProbeSpec(timeout=1.0, secrets=secret) for m in MODULES}
    kinds["http"] = ProbeSpec(timeout=1.0, secrets=secret, settings={"bearer_secret": "token"})
    kinds["delta_lake"] = ProbeSpec(timeout=1.0)
    defs = Definitions(kinds=kinds, exporter=ExporterSpec(allow=allow))
    return Exporter(defs, RunContext(vantage="test"), registry=CollectorRegistry())


async def _get(client: aiohttp.ClientSession, **params: str) -> tuple[int, str]:
    resp = await client.get("/probe", params=params, headers={"X-Prometheus-Scrape-Timeout-Seconds": "3"})
    return resp.status, await resp.text()


BYPASSES = (
    "127.0.0.1:1@127.0.0.2:{port}",
    "localhost:1@127.0.0.2:{port}",
    "127.0.0.1:@127.0.0.2:{port}",
    "127.0.0.1:\\@127.0.0.2:{port}",
    "{scheme}://127.0.0.1:1@127.0.0.2:{port}/",
    "127.0.0.1.127.0.0.2.nip.io:{port}",
)


@pytest.mark.parametrize("module", MODULES)
def test_userinfo_and_lookalikes_never_reach_another_host(
    module: str, witnesses: tuple[Witness, Witness]
) -> None:
    _, forbidden = witnesses
    exporter = _exporter(["127.0.0.1:*", "localhost:*"])
    scheme = {"postgres": "postgresql"}.get(module, module)

    async def go() -> None:
        async with serving(exporter) as client:
            for form in BYPASSES:
                target = form.format(port=forbidden.port, scheme=scheme)
                status, text = await _get(client, target=target, module=module)
                assert status in (400, 403), (target, status, text)

    asyncio.run(go())
    assert forbidden.settle() == 0


def test_the_probe_goes_exactly_where_the_pattern_matched(witnesses: tuple[Witness, Witness]) -> None:
    allowed, forbidden = witnesses
    exporter = _exporter(["127.0.0.1:*"])

    async def go() -> None:
        async with serving(exporter) as client:
            status, text = await _get(client, target=f"127.0.0.1:{allowed.port}", module="tcp")
            assert status == 200, text
            status, _ = await _get(client, target=f"127.0.0.2:{forbidden.port}", module="tcp")
            assert status == 403

    asyncio.run(go())
    assert allowed.settle() == 1 and forbidden.settle() == 0


def test_local_files_are_never_read_from_the_exporter(tmp_path: Path) -> None:
    table = tmp_path / "t" / "_delta_log"
    table.mkdir(parents=True)
    (table / f"{0:020d}.json").write_text('{"commitInfo": {"timestamp": 1}}\n')
    exporter = _exporter(["localhost:*", "*"])

    async def go() -> None:
        async with serving(exporter) as client:
            for target in (
                f"file://localhost:1{tmp_path}/t",
                f"file://{tmp_path}/t",
                f"FILE:///{tmp_path}/t",
            ):
                status, text = await _get(client, target=target, module="delta_lake")
                assert status == 400, text
                assert "delta_version" not in text and "probe_success" not in text

    asyncio.run(go())


def test_refusals_carry_their_status_and_junk_makes_no_series() -> None:
    exporter = _exporter(["127.0.0.1:*"])
    # The status is data, not read from the wording: a module called "allowed" is still a 400.
    found = exporter.resolve("allowed", "127.0.0.1:1")
    assert isinstance(found, Refusal) and found.status == 400
    found = exporter.resolve("tcp", "10.9.9.9:1")
    assert isinstance(found, Refusal) and found.status == 403

    async def go() -> str:
        async with serving(exporter) as client:
            for i in range(50):
                await _get(client, module=f"junk{i}")
                await _get(client, module=f"junk{i}", target="127.0.0.1:1")
            return await (await client.get("/metrics")).text()

    metrics = asyncio.run(go())
    series = [line for line in metrics.splitlines() if line.startswith("sre_probe_requests_total{")]
    assert "junk" not in metrics
    assert len(series) == 2, series  # ("-", bad_request) and ("-", refused)


def _serve(platform_file: Path, port: int) -> subprocess.Popen[bytes]:
    argv = [
        "probe",
        "serve",
        "--listen",
        f"127.0.0.1:{port}",
        "--env",
        "test",
        "--platform",
        str(platform_file),
    ]
    return subprocess.Popen(
        [sys.executable, "-m", "sre", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "SRE_VANTAGE": "zone-a"},
        cwd=platform_file.parent,
    )


def test_serve_announces_only_once_bound(platform_file: Path) -> None:
    taken = socket.create_server(("127.0.0.1", 0))
    try:
        proc = _serve(platform_file, int(taken.getsockname()[1]))
        _, err = proc.communicate(timeout=60)
    finally:
        taken.close()
    text = err.decode()
    assert proc.returncode == 2, text
    assert "--listen" in text and "exporter on" not in text and "Traceback" not in text


def test_malformed_requests_are_one_line_each_and_rate_limited(platform_file: Path) -> None:
    port = closed_port()
    proc = _serve(platform_file, port)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline().decode()  # written once the port is bound
        assert "exporter on" in line
        for i in range(40):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                conn.sendall(b"GARBAGE %d\r\nAuthorization: Bearer %s\r\n\r\n" % (i, TOKEN.encode()))
                conn.recv(1024)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n")
            conn.recv(1024)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    lines = err.decode().splitlines()
    assert "Traceback" not in err.decode()
    assert TOKEN not in err.decode()
    assert 1 <= len(lines) <= OneLine().burst + 1, lines
    assert all(line.startswith("sre probe exporter: ") for line in lines)


def test_the_rate_limit_says_how_many_lines_it_left_out() -> None:
    now = [0.0]
    out: list[str] = []
    handler = OneLine(burst=3, window=10.0, clock=lambda: now[0])
    handler.write = out.append
    record = logging.LogRecord(
        "sre.probes.httpserver", logging.WARNING, __file__, 1, "bad request: 400 malformed", (), None
    )
    for _ in range(20):
        handler.emit(record)
    now[0] = 11.0
    handler.emit(record)
    assert len(out) == 5
    assert "17 more bad requests not logged" in out[3]

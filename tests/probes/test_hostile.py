"""Hostile servers on 127.0.0.1 against the whole `sre probe` process: its deadline and memory hold.

Each case runs the CLI in a new interpreter (as a user would) against a server that never answers,
trickles, floods headers, sends 50 MB, stalls after TLS, lists Kubernetes nodes at 1 byte/s, or
collects OTLP without ever answering. The bound on wall time: the whole process, interpreter start
and imports included, ends within the run's `--timeout` plus one second (the budget counts from the
process's start, so the second is for judging, writing the result and exiting).
Peak RSS, from the child itself, stays under 100 MiB.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hostile_servers import (
    backtracking_bait,
    big_body,
    header_flood,
    serve_h2_breakers,
    stall,
    trickle_head,
    trickling_kubernetes,
)
from probe_servers import LoopThread, closed_port, server_context
from probe_support import Servers
from requirements import need, need_binary
from sre_cli import start_exporter
from test_blackbox_serve import blackbox_yml

from sre.probes.model import Reason

pytestmark = pytest.mark.integration

TIMEOUT = 3.0
RSS_LIMIT_MIB = 100
MODULE_TIMEOUT = 3.0  # blackbox_yml's http modules
# VmHWM, not getrusage: ru_maxrss survives exec and would count the forking test process's pages.
RUNNER = """
import atexit, sys
def peak():
    with open("/proc/self/status") as status:
        kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    sys.stderr.write(f"\\nPEAK_RSS_KIB {kib}\\n")
atexit.register(peak)
from sre.cli.main import main
sys.argv = ["sre", *sys.argv[1:]]
main()
"""


@dataclass
class Ran:
    wall: float
    code: int
    rss_mib: float
    result: dict[str, Any]
    stderr: str


def cli(folder: Path, *args: str, env: dict[str, str] | None = None) -> Ran:
    begin = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, "probe", *args, "--format", "json", "--timeout", str(TIMEOUT)],
        capture_output=True,
        text=True,
        cwd=folder,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )
    wall = time.monotonic() - begin
    rss = [line for line in done.stderr.splitlines() if line.startswith("PEAK_RSS_KIB ")]
    assert rss, done.stderr[-2000:]
    body = json.loads(done.stdout) if done.stdout.strip() else {"results": [{}]}
    return Ran(wall, done.returncode, int(rss[-1].split()[1]) / 1024, body["results"][0], done.stderr)


@dataclass
class Hostile:
    trickle: int
    flood: int
    big: int
    bait: int
    tls_stall: int
    kubernetes: int
    h2: dict[str, int]  # TLS with ALPN h2: garbage, flood, reset, stall


@pytest.fixture(scope="module")
def hostile(servers: Servers) -> Iterator[Hostile]:
    loop = LoopThread()
    tls = server_context(servers.pki.good, minimum=ssl.TLSVersion.TLSv1_2, maximum=ssl.TLSVersion.TLSv1_3)
    try:
        yield Hostile(
            trickle=loop.serve_tcp(trickle_head),
            flood=loop.serve_tcp(header_flood),
            big=loop.serve_tcp(big_body),
            bait=loop.serve_tcp(backtracking_bait),
            tls_stall=loop.serve_tcp(stall, tls),
            kubernetes=loop.serve_tcp(trickling_kubernetes),
            h2=serve_h2_breakers(loop, servers.pki.good),
        )
    finally:
        loop.stop()


def within_deadline(ran: Ran, hostile: Hostile) -> None:
    assert ran.wall < TIMEOUT + 1, f"{ran.wall:.1f} s; {ran.stderr[-500:]}"
    assert ran.rss_mib < RSS_LIMIT_MIB, f"peak RSS {ran.rss_mib:.0f} MiB"
    assert "Traceback" not in ran.stderr


def test_a_server_that_never_answers(servers: Servers, hostile: Hostile, tmp_path: Path) -> None:
    ran = cli(tmp_path, "--target", f"http://127.0.0.1:{servers.silent}/", "--kind", "http")
    within_deadline(ran, hostile)
    assert (ran.code, ran.result["reason"]) == (1, "timeout")


def test_a_server_that_trickles_its_answer(hostile: Hostile, tmp_path: Path) -> None:
    ran = cli(tmp_path, "--target", f"http://127.0.0.1:{hostile.trickle}/", "--kind", "http")
    within_deadline(ran, hostile)
    assert ran.result["reason"] == "timeout"


def test_a_server_that_answers_garbage(servers: Servers, hostile: Hostile, tmp_path: Path) -> None:
    ran = cli(tmp_path, "--target", f"http://127.0.0.1:{servers.garbage}/", "--kind", "http")
    within_deadline(ran, hostile)
    assert ran.result["reason"] == "protocol"


def test_a_flood_of_response_headers_is_refused_in_bounded_memory(hostile: Hostile, tmp_path: Path) -> None:
    ran = cli(tmp_path, "--target", f"http://127.0.0.1:{hostile.flood}/", "--kind", "http")
    within_deadline(ran, hostile)
    assert ran.result["reason"] == "protocol"
    assert "more than 128 response headers" in ran.result["message"]


def test_a_50_mb_body_is_counted_not_kept(hostile: Hostile, tmp_path: Path) -> None:
    ran = cli(tmp_path, "--target", f"http://127.0.0.1:{hostile.big}/", "--kind", "http")
    within_deadline(ran, hostile)
    assert ran.result["status"] == "ok"
    assert ran.result["facts"]["http_content_length"] == 50 << 20


def test_tls_then_stall(servers: Servers, hostile: Hostile, tmp_path: Path) -> None:
    trust = {"SSL_CERT_FILE": str(servers.pki.ca_file)}  # the test CA, for a handshake that succeeds
    ran = cli(tmp_path, "--target", f"https://localhost:{hostile.tls_stall}/", "--kind", "https", env=trust)
    within_deadline(ran, hostile)
    assert ran.result["reason"] == "timeout", ran.result
    assert ran.result["facts"]["tls_version"] == "1.3"  # the handshake was done; then nothing came


def test_a_kubernetes_api_that_trickles_its_node_list(hostile: Hostile, tmp_path: Path) -> None:
    ran = cli(tmp_path, "--target", f"http://127.0.0.1:{hostile.kubernetes}", "--kind", "kubernetes")
    within_deadline(ran, hostile)
    assert ran.result["reason"] == "timeout"
    assert "nodes" in ran.result["message"]


def test_an_otlp_collector_that_never_answers(servers: Servers, hostile: Hostile, tmp_path: Path) -> None:
    collector = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{servers.silent}"}
    ran = cli(
        tmp_path, "--target", f"http://127.0.0.1:{servers.http}/healthz", "--kind", "http", env=collector
    )
    within_deadline(ran, hostile)
    assert ran.result["status"] == "ok"
    assert "OTLP: the collector at" in ran.stderr


def test_a_backtracking_condition_is_run_in_linear_time(hostile: Hostile, tmp_path: Path) -> None:
    probes = tmp_path / "probes"
    probes.mkdir()
    (probes / "kinds.yaml").write_text(
        "version: 1\nkinds:\n  http:\n    conditions: ['body matches \"^(a+)+$\"']\n", encoding="utf-8"
    )
    url = f"http://127.0.0.1:{hostile.bait}/"
    ran = cli(tmp_path, "--target", url, "--kind", "http", "--probes", str(probes))
    within_deadline(ran, hostile)
    assert ran.result["reason"] == "assertion"
    assert "body (aaaa" in ran.result["message"]


@pytest.fixture(scope="module")
def silent_dns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A resolv.conf naming a name server that never answers (a UDP socket nobody reads), for children
    started in a mount namespace of their own (`unshare -m`, root only), so the machine's is untouched."""
    need(
        os.geteuid() == 0 or None,
        "root, to give one child process its own resolv.conf",
        "run the tests as root",
    )
    need_binary("unshare", install="apt-get install util-linux")
    address = f"127.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind((address, 53))
        conf = tmp_path_factory.mktemp("dns") / "resolv.conf"
        conf.write_text(f"nameserver {address}\noptions timeout:5 attempts:2\n", encoding="utf-8")
        yield conf


@pytest.mark.parametrize(
    "url,kind", [("http://api.slow.test/", "http"), ("redis://cache.slow.test:6379", "redis")]
)
def test_names_that_never_resolve_do_not_hold_the_process(
    silent_dns: Path, hostile: Hostile, tmp_path: Path, url: str, kind: str
) -> None:
    inner = [sys.executable, "-c", RUNNER, "probe", "--target", url, "--kind", kind, "--format", "json"]
    script = f'mount --bind {silent_dns} /etc/resolv.conf && exec "$@"'
    begin = time.monotonic()
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", *inner, "--timeout", str(TIMEOUT)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    wall = time.monotonic() - begin
    result = json.loads(done.stdout)["results"][0]
    assert result["reason"] in ("timeout", "dns"), result
    assert wall < TIMEOUT + 1, f"{wall:.1f} s; {done.stderr[-500:]}"


def test_the_exporter_refuses_a_header_flood_in_bounded_memory(platform_file: Path, hostile: Hostile) -> None:
    """`sre probe serve` keeps running for many scrapes: one hostile target must not grow it by a GB."""
    port = closed_port()
    proc = start_exporter(port, "test", platform_file)
    try:
        url = f"http://127.0.0.1:{port}/probe?target=http://127.0.0.1:{hostile.flood}/&module=https"
        body = ""
        for _ in range(100):
            try:
                with urllib.request.urlopen(url, timeout=10) as resp:
                    body = resp.read().decode()
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        assert "probe_success 0" in body, body[-500:]
        assert 'probe_failure_reason{reason="protocol"} 1' in body
        assert _peak_mib(proc.pid) < RSS_LIMIT_MIB, f"exporter peak RSS {_peak_mib(proc.pid):.0f} MiB"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _peak_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024


def _debug_probe(base: str, target: str) -> tuple[float, str]:
    query = urllib.parse.urlencode({"module": "http_h2", "target": target, "debug": "true"})
    begin = time.monotonic()
    with urllib.request.urlopen(f"{base}/probe?{query}", timeout=30) as resp:
        return time.monotonic() - begin, resp.read().decode()


def test_servers_that_break_http2(
    hostile: Hostile, servers: Servers, platform_file: Path, tmp_path: Path
) -> None:
    """`sre probe serve`: one clear reason for each, within the module's timeout, in bounded memory."""
    config = blackbox_yml(tmp_path, servers.pki.ca_file)
    port = closed_port()
    proc = start_exporter(port, "test", platform_file, extra_args=("--config.file", str(config)))
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"{base}/metrics", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        cases = [
            (hostile.h2["garbage"], Reason.protocol, "not an HTTP/2 answer: a frame of"),
            (hostile.h2["flood"], Reason.protocol, "not an HTTP/2 answer"),
            (hostile.h2["reset"], Reason.protocol, "the server reset the stream (INTERNAL_ERROR)"),
            (hostile.h2["stall"], Reason.timeout, ""),
        ]
        for server, reason, message in cases:
            took, text = _debug_probe(base, f"https://127.0.0.1:{server}/")
            assert took < MODULE_TIMEOUT + 1, (server, took)  # its module's timeout, and a second to answer
            assert "probe_success 0" in text, text
            assert f'probe_failure_reason{{reason="{reason.value}"}} 1' in text, text
            assert message in text and "Traceback" not in text, text
        assert _peak_mib(proc.pid) < RSS_LIMIT_MIB, f"exporter peak RSS {_peak_mib(proc.pid):.0f} MiB"
    finally:
        proc.terminate()
        proc.wait(timeout=10)

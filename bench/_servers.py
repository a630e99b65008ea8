"""Local servers for the benchmarks: nginx (TLS 1.3 and plain HTTP) and blackbox_exporter, on free ports.

Both come from Debian (`apt-get install nginx-light prometheus-blackbox-exporter`);
the certificates are made by the test suite's throw-away CA.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "probes"))

from nginx_server import Nginx, run_nginx  # noqa: E402
from probe_servers import make_pki  # noqa: E402

BLACKBOX = """\
modules:
  https_tls13:
    prober: http
    timeout: 5s
    http:
      valid_status_codes: [200]
      fail_if_not_ssl: true
      tls_config: {{ca_file: {ca}, min_version: TLS13}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def need(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        sys.exit(
            f"bench needs {', '.join(missing)}: apt-get install nginx-light prometheus-blackbox-exporter wrk"
        )


def _wait_http(url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(100):
        if proc.poll() is not None:
            sys.exit(f"{proc.args[0]} exited with {proc.returncode}")
        with contextlib.suppress(OSError):
            urllib.request.urlopen(url, timeout=1).close()
            return
        time.sleep(0.05)
    sys.exit(f"{url} did not come up")


@contextlib.contextmanager
def nginx(folder: Path) -> Iterator[Nginx]:
    need("nginx")
    with run_nginx("nginx", folder, make_pki(folder)) as web:
        yield web


@contextlib.contextmanager
def blackbox(folder: Path, ca_file: Path) -> Iterator[tuple[int, int]]:
    """(port, pid) of a blackbox_exporter with a TLS 1.3 module trusting our CA."""
    need("prometheus-blackbox-exporter")
    port = free_port()
    conf = folder / "blackbox.yml"
    conf.write_text(BLACKBOX.format(ca=ca_file))
    proc = subprocess.Popen(
        ["prometheus-blackbox-exporter", f"--config.file={conf}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_http(f"http://127.0.0.1:{port}/-/healthy", proc)
        yield port, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    """User + system CPU a running process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float:
    """VmHWM of a running process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")

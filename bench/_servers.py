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
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "probes"))

from probe_servers import Pki, make_pki  # noqa: E402

NGINX = """\
user root;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{tls_port} ssl;
        ssl_protocols TLSv1.3;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{ default_type application/json; return 200 '{{"status": "ok"}}'; }}
    }}
    server {{
        listen 127.0.0.1:{http_port} backlog=4096;
        location / {{ default_type application/json; return 200 '{{"status": "ok"}}'; }}
    }}
}}
"""

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


@dataclass
class Nginx:
    tls_port: int
    http_port: int
    pki: Pki
    pid: int


@contextlib.contextmanager
def nginx(folder: Path) -> Iterator[Nginx]:
    need("nginx")
    pki = make_pki(folder)
    tls_port, http_port = free_port(), free_port()
    conf = folder / "nginx.conf"
    conf.write_text(
        NGINX.format(dir=folder, tls_port=tls_port, http_port=http_port, cert=pki.good[0], key=pki.good[1])
    )
    proc = subprocess.Popen(["nginx", "-p", str(folder), "-c", str(conf), "-g", "daemon off;"])
    try:
        _wait_http(f"http://127.0.0.1:{http_port}/", proc)
        yield Nginx(tls_port, http_port, pki, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


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

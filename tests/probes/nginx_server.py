"""nginx (Debian nginx-light) on free loopback ports: one TLS server (HTTP/2 by ALPN when asked) and one plain.

Used by the tests (a real HTTP/2 server) and by the benchmarks (bench/_servers.py). Both servers answer
`/` and `/healthz` with a small JSON body, `/unsized` with the same body rewritten (sub_filter), so
without Content-Length, `/redirect` with a 302 to `/healthz`, anything else 404.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from probe_servers import Pki, closed_port

BODY = '{"status": "ok"}'
TEMPLATE = """\
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
        listen 127.0.0.1:{tls_port} ssl{http2};
        ssl_protocols TLSv1.3;
        ssl_certificate {cert};
        ssl_certificate_key {key};
{locations}
    }}
    server {{
        listen 127.0.0.1:{http_port} backlog=4096;
{locations}
    }}
}}
"""
LOCATIONS = f"""\
        location = / {{ default_type application/json; return 200 '{BODY}'; }}
        location = /healthz {{ default_type application/json; return 200 '{BODY}'; }}
        location = /redirect {{ return 302 /healthz; }}
        location = /unsized {{
            default_type application/json; sub_filter_types application/json; sub_filter ok OK;
            return 200 '{BODY}';
        }}
        location / {{ return 404; }}"""


@dataclass(frozen=True)
class Nginx:
    tls_port: int
    http_port: int
    pki: Pki
    pid: int


@contextlib.contextmanager
def run_nginx(binary: str, folder: Path, pki: Pki, *, http2: bool = False) -> Iterator[Nginx]:
    """nginx serving pki.good on its TLS port (`http2`: `h2` offered by ALPN); RuntimeError if it fails."""
    tls_port, http_port = closed_port(), closed_port()
    conf = folder / "nginx.conf"
    conf.write_text(
        TEMPLATE.format(
            dir=folder,
            tls_port=tls_port,
            http_port=http_port,
            http2=" http2" if http2 else "",
            cert=pki.good[0],
            key=pki.good[1],
            locations=LOCATIONS,
        )
    )
    proc = subprocess.Popen([binary, "-p", str(folder), "-c", str(conf), "-g", "daemon off;"])
    try:
        _wait(f"http://127.0.0.1:{http_port}/", proc, folder)
        yield Nginx(tls_port, http_port, pki, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _wait(url: str, proc: subprocess.Popen[bytes], folder: Path) -> None:
    for _ in range(100):
        if proc.poll() is not None:
            break
        with contextlib.suppress(OSError):
            urllib.request.urlopen(url, timeout=1).close()
            return
        time.sleep(0.05)
    log = folder / "error.log"
    raise RuntimeError(
        f"nginx did not come up: {log.read_text()[-500:] if log.exists() else proc.returncode}"
    )

"""Real Prometheus and Alertmanager servers on ephemeral ports (Debian's prometheus and
prometheus-alertmanager), for the tests of every folder."""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sre.sandbox.ports import ephemeral_port


def wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"{url} not ready after {timeout} s: {last}")


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def server(argv: list[str], port: int, log: Path, ready: str) -> Iterator[Server]:
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_ready(url + ready)
        except AssertionError:
            raise AssertionError(f"{argv[0]} did not start:\n{log.read_text()[-2000:]}") from None
        yield Server(url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def prometheus(folder: Path, rules_glob: str, extra: str = "") -> Iterator[Server]:
    """Prometheus reading `rules_glob`, reloadable through POST /-/reload."""
    port = ephemeral_port()
    conf = folder / "prometheus.yml"
    conf.write_text(
        f"global: {{scrape_interval: 5s, evaluation_interval: 1s}}\nrule_files: ['{rules_glob}']\n{extra}",
        encoding="utf-8",
    )
    argv = [
        "prometheus",
        f"--config.file={conf}",
        f"--storage.tsdb.path={folder / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",
    ]
    with server(argv, port, folder / "prometheus.log", "/-/ready") as s:
        yield s


@contextmanager
def alertmanager(folder: Path, config: Path) -> Iterator[Server]:
    port = ephemeral_port()
    argv = [
        "prometheus-alertmanager",
        f"--config.file={config}",
        f"--storage.path={folder / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    with server(argv, port, folder / "alertmanager.log", "/-/ready") as s:
        yield s

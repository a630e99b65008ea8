"""The OpenTelemetry HTTP server metric of the sandbox's gateways and CDN, from their access logs.

In production the gateways and the CDN export `http.server.request.duration` (OpenTelemetry HTTP
semantic conventions; `http_server_request_duration_seconds` in Prometheus). The sandbox's HAProxy
and nginx have no OpenTelemetry metrics, but they log every request with its status and duration:
this bridge reads those logs (like mtail) and exposes that histogram, with the metric's own labels
(`http_request_method`, `http_response_status_code`) and the platform's (service, zone, tier, dc).
Every sample is a request that was really served; nothing is made up.

    python -m sre.sandbox.http_metrics CONFIG.json --listen 127.0.0.1:PORT

CONFIG: {"sources": [{"path": FILE, "format": "haproxy" | "nginx"}],
         "targets": {"<service>_<tier>": {"service": ..., "zone": ..., "tier": ..., "dc": ...}}}
HAProxy's lines are its default `option httplog` format (the frontend is `<service>_<tier>`, `~` for
TLS); nginx's are `sre_http <service>_<tier> METHOD STATUS SECONDS` (the sandbox's log_format).
"""

from __future__ import annotations

import re
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sre.sandbox.bridge import command_line

NAME = "http_server_request_duration_seconds"
# OpenTelemetry's default explicit buckets for http.server.request.duration (seconds).
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
LABELS = ("service", "zone", "tier", "dc", "http_request_method", "http_response_status_code")
READ_LIMIT = 8 << 20  # at most this much new log per scrape: a burst is read over several scrapes

# ... frontend~ backend/server TR/Tw/Tc/Tr/Ta status bytes ... "METHOD URI VERSION"
HAPROXY = re.compile(
    r"\] (?P<frontend>[\w.-]+?)~? \S+ "
    r'-?\d+/-?\d+/-?\d+/-?\d+/\+?(?P<ta>\d+) (?P<status>\d{3}) .*"(?P<method>[A-Z]+) '
)
NGINX = re.compile(
    r"^sre_http (?P<frontend>[\w.-]+) (?P<method>[A-Z]+) (?P<status>\d{3}) (?P<seconds>[\d.]+)$"
)


@dataclass(frozen=True)
class Request:
    frontend: str
    method: str
    status: str
    seconds: float


def parse(line: str, fmt: str) -> Request | None:
    """One request from one log line, or None for any other line (start-up notes, errors)."""
    if fmt == "haproxy":
        m = HAPROXY.search(line)
        if m is None:
            return None
        return Request(m["frontend"], m["method"], m["status"], int(m["ta"]) / 1000)
    m = NGINX.match(line.strip())
    if m is None:
        return None
    return Request(m["frontend"], m["method"], m["status"], float(m["seconds"]))


class Tail:
    """New whole lines of a file since the last read; starts again when the file was truncated."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def lines(self) -> list[str]:
        try:
            with self.path.open("rb") as fh:
                size = fh.seek(0, 2)
                if size < self.offset:
                    self.offset = 0
                fh.seek(self.offset)
                data = fh.read(READ_LIMIT)
        except OSError:
            return []  # not written yet (its server did not start): nothing to count
        end = data.rfind(b"\n") + 1
        self.offset += end
        return data[:end].decode("utf-8", "replace").splitlines()


class Bridge:
    def __init__(self, config: dict[str, Any]) -> None:
        from prometheus_client import CollectorRegistry, Histogram

        self.sources = [(Tail(Path(s["path"])), s["format"]) for s in config["sources"]]
        self.targets: dict[str, dict[str, str]] = config["targets"]
        self.registry = CollectorRegistry()
        self.histogram = Histogram(
            NAME,
            "Duration of HTTP server requests (from the access log).",
            LABELS,
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.lock = threading.Lock()

    def read(self) -> None:
        with self.lock:
            for tail, fmt in self.sources:
                for line in tail.lines():
                    req = parse(line, fmt)
                    target = self.targets.get(req.frontend) if req else None
                    if req is None or target is None:
                        continue
                    labels = [target[k] for k in LABELS[:4]] + [req.method, req.status]
                    self.histogram.labels(*labels).observe(req.seconds)

    def metrics(self) -> bytes:
        from prometheus_client import generate_latest

        self.read()
        return generate_latest(self.registry)


def main(argv: list[str] | None = None) -> None:
    from aiohttp import web
    from prometheus_client import CONTENT_TYPE_LATEST

    config, host, port = command_line("sre.sandbox.http_metrics", argv)
    try:
        bridge = Bridge(config)
    except (KeyError, TypeError) as exc:
        sys.exit(f"sre.sandbox.http_metrics: not a bridge configuration: {exc!r}")

    async def metrics(request: web.Request) -> web.Response:
        body = bridge.metrics()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    web.run_app(app, host=host, port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()

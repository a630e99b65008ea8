"""The gateways' and the CDN's OpenTelemetry HTTP server metric, from HAProxy's and nginx's access logs
(sre.sandbox.http_metrics), for the RED panels and the metric-based SLOs; scraped by Prometheus."""

from __future__ import annotations

import json

from sre.sandbox.context import Launcher, Run
from sre.sandbox.launchers.monitoring import start_python

NAME = "http-metrics"
PORT = "http-metrics.http"
JOB = "http_metrics"
# The components whose access logs hold requests: the log each writes, its format, the frontend's name.
SOURCES = {"gateway": ("haproxy", "haproxy"), "cdn": ("nginx-access", "nginx")}


def start(run: Run) -> None:
    targets: dict[str, dict[str, str]] = {}
    for row in run.rows:
        if row.state != "running" or row.component not in SOURCES:
            continue
        # HAProxy's frontends are <service>_<tier>; nginx's sites log cdn_<tier> (nginx.conf.j2).
        frontend = f"{row.service}_{row.tier}" if row.component == "gateway" else f"cdn_{row.tier}"
        targets[frontend] = {
            "service": row.service,
            "zone": run.platform.services[row.service].zone,
            "tier": row.tier,
            "dc": run.platform.tiers[row.tier].dc,
        }
    sources = [
        {"path": str(run.log(log)), "format": fmt}
        for component, (log, fmt) in SOURCES.items()
        if component in run.started
    ]
    conf = run.folder(NAME, mode=0o700) / "config.json"
    conf.write_text(json.dumps({"sources": sources, "targets": targets}, indent=2), encoding="utf-8")
    url = start_python(run, NAME, ["sre.sandbox.http_metrics", str(conf)], PORT, ready="/metrics")
    run.urls[NAME] = {"http": url, "metrics": url + "/metrics"}


LAUNCHER = Launcher(
    name=NAME,
    title="HTTP server metrics of the gateways and the CDN from their access logs (sre.sandbox.http_metrics)",
    kinds=(),
    binaries=(),
    start=start,
    profile="full",
    stage=3,
)

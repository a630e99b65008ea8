"""NATS's and ClickHouse's metrics under production's exporter names, read from the running servers
(sre.sandbox.server_metrics); Prometheus scrapes one path per service and tier, from a file_sd file."""

from __future__ import annotations

import json
from typing import Any

from sre.sandbox.context import Launcher, Run
from sre.sandbox.launchers.exporters import target_file
from sre.sandbox.launchers.monitoring import start_python

NAME = "server-metrics"
PORT = "server-metrics.http"
JOB = "server_metrics"
KINDS = ("nats", "clickhouse")


def _url(kind: str, endpoint: str | dict[str, Any]) -> str:
    """Where the bridge asks: NATS's monitoring port, ClickHouse's HTTP interface."""
    if isinstance(endpoint, str):
        return endpoint
    if kind == "nats":
        return str(endpoint["params"]["monitor"])
    return str(endpoint["url"])


def start(run: Run) -> None:
    targets: dict[str, dict[str, str]] = {}
    groups = []
    port = run.port(PORT)
    for row in run.rows:
        kind = run.platform.services[row.service].kind if row.service in run.platform.services else None
        if row.state != "running" or kind not in KINDS:
            continue
        assert kind is not None
        key = f"{row.service}/{row.tier}"
        targets[key] = {"kind": kind, "url": _url(kind, run.endpoints[row.service][row.tier])}
        labels = {
            "service": row.service,
            "zone": run.platform.services[row.service].zone,
            "tier": row.tier,
            "dc": run.platform.tiers[row.tier].dc,
        }
        groups.append(
            {"targets": [f"127.0.0.1:{port}"], "labels": {"__metrics_path__": f"/metrics/{key}", **labels}}
        )
    if not targets:
        return
    conf = run.folder(NAME, mode=0o700) / "config.json"
    conf.write_text(json.dumps({"targets": targets}, indent=2), encoding="utf-8")
    url = start_python(run, NAME, ["sre.sandbox.server_metrics", str(conf)], PORT, ready="/healthz")
    path = target_file(run.root, JOB)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(groups, indent=2) + "\n", encoding="utf-8")
    run.urls[NAME] = {"http": url, **{key: f"{url}/metrics/{key}" for key in targets}}


LAUNCHER = Launcher(
    name=NAME,
    title="NATS and ClickHouse metrics under their exporters' names (sre.sandbox.server_metrics)",
    kinds=(),
    binaries=(),
    start=start,
    profile="full",
    stage=3,
)

"""Prometheus (Debian prometheus): scrapes the monitoring stack and probes every running HTTPS endpoint."""

from __future__ import annotations

from dataclasses import dataclass

from sre.sandbox import binaries
from sre.sandbox.context import Launcher, Run
from sre.sandbox.launchers.monitoring import start_exporter
from sre.sandbox.render import render


@dataclass(frozen=True)
class Probe:
    service: str
    tier: str
    target: str


def probes(run: Run) -> list[Probe]:
    """The HTTPS endpoints that run now (gateways, CDN, OTel), probed at /healthz through blackbox."""
    return [
        Probe(row.service, row.tier, f"{row.endpoint}/healthz")
        for row in run.rows
        if row.state == "running" and row.endpoint and row.endpoint.startswith("https://")
    ]


def start(run: Run) -> None:
    folder = run.folder("prometheus", mode=0o700)
    port = run.port("prometheus.http")
    conf = folder / "prometheus.yml"
    conf.write_text(
        render(
            "prometheus.yml.j2",
            port=port,
            alertmanager_port=run.port("alertmanager.http"),
            blackbox_port=run.port("blackbox.http"),
            probes=probes(run),
        ),
        encoding="utf-8",
    )
    args = [f"--config.file={conf}", f"--storage.tsdb.path={folder / 'data'}"]
    start_exporter(run, "prometheus", "prometheus", args, "/-/ready")


LAUNCHER = Launcher(
    name="prometheus",
    title="Prometheus (Debian prometheus)",
    services=(),
    binaries=(binaries.apt("prometheus"),),
    start=start,
    needs=("alertmanager", "blackbox"),
    profile="full",
    stage=3,
)

"""Prometheus (Debian prometheus): scrapes the monitoring stack and `sre serve`, probes every running
HTTPS endpoint through blackbox_exporter, and runs the generated loop: the probe exporter's targets
from its /sd, the generated rules, alerts to the sandbox's Alertmanager."""

from __future__ import annotations

from dataclasses import dataclass

from sre.alerting.build import RULES, SCRAPE
from sre.sandbox import binaries
from sre.sandbox.context import Launcher, Run
from sre.sandbox.launchers import alerting, exporters, http_metrics, serve, server_metrics
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
    generated = alerting.built(run)
    jobs, rules = "", None
    if generated is not None:
        # The generated job, indented into the template's scrape_configs list.
        job = (generated / SCRAPE).read_text(encoding="utf-8").split("scrape_configs:\n", 1)[1]
        jobs = "".join(f"  {line}\n" if line else "\n" for line in job.splitlines())
        rules = str(generated / RULES / "*.yml")
    conf.write_text(
        render(
            "prometheus.yml.j2",
            port=port,
            alertmanager_port=run.port("alertmanager.http"),
            blackbox_port=run.port("blackbox.http"),
            # Targets that label their own series (service, tier, ...), and sre serve's /metrics.
            static_jobs=[
                *(
                    [(http_metrics.JOB, run.port(http_metrics.PORT))]
                    if http_metrics.NAME in run.started
                    else []
                ),
                ("sre_serve", run.port(serve.PORT)),
            ],
            probes=probes(run),
            generated_jobs=jobs,
            exporter_jobs=[
                (job, exporters.target_file(run.root, job))
                for job in (*exporters.JOBS, server_metrics.JOB)
                if exporters.target_file(run.root, job).exists()
            ],
            rule_files=rules,
        ),
        encoding="utf-8",
    )
    # Lifecycle: `sre alerts publish --prometheus URL` reloads it after a rebuild.
    args = [f"--config.file={conf}", f"--storage.tsdb.path={folder / 'data'}", "--web.enable-lifecycle"]
    start_exporter(run, "prometheus", "prometheus", args, "/-/ready")


LAUNCHER = Launcher(
    name="prometheus",
    title="Prometheus (Debian prometheus)",
    kinds=(),
    binaries=(binaries.apt("prometheus"),),
    start=start,
    needs=("alertmanager", "blackbox", "probe-exporter"),
    profile="full",
    stage=4,
)

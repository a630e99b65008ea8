"""Alertmanager (Debian prometheus-alertmanager): the control plane's alert router, no cluster port.

It runs the generated configuration (alerts/ beside the platform file): the automation route posts to
the sandbox's `sre serve`, the human receivers to the webhook stand-in. Without alerts/ every alert
goes to a receiver that sends nothing.
"""

from __future__ import annotations

from sre.alerting.build import ALERTMANAGER
from sre.sandbox import binaries
from sre.sandbox.context import Launcher, Run
from sre.sandbox.launchers import alerting
from sre.sandbox.launchers.monitoring import start_exporter
from sre.sandbox.render import render


def start(run: Run) -> None:
    folder = run.folder("alertmanager", mode=0o700)
    conf = folder / "alertmanager.yml"
    generated = alerting.built(run)
    if generated is not None:
        conf = generated / ALERTMANAGER
    else:
        conf.write_text(render("alertmanager.yml.j2"), encoding="utf-8")
    args = [f"--config.file={conf}", f"--storage.path={folder / 'data'}", "--cluster.listen-address="]
    start_exporter(run, "alertmanager", "prometheus-alertmanager", args, "/-/ready")


LAUNCHER = Launcher(
    name="alertmanager",
    title="Alertmanager (Debian prometheus-alertmanager)",
    kinds=(),
    binaries=(binaries.apt("prometheus-alertmanager"),),
    start=start,
    needs=("webhook",),
    profile="full",
    stage=1,
)

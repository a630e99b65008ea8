"""blackbox_exporter (Debian prometheus-blackbox-exporter), trusting the sandbox CA."""

from __future__ import annotations

from sre.sandbox import binaries
from sre.sandbox.context import Launcher, Run
from sre.sandbox.launchers.monitoring import start_exporter
from sre.sandbox.render import render


def start(run: Run) -> None:
    folder = run.folder("blackbox", mode=0o700)
    conf = folder / "blackbox.yml"
    conf.write_text(render("blackbox.yml.j2", ca_file=run.tls.ca_cert), encoding="utf-8")
    start_exporter(run, "blackbox", "prometheus-blackbox-exporter", [f"--config.file={conf}"], "/-/healthy")


LAUNCHER = Launcher(
    name="blackbox",
    title="blackbox_exporter (Debian prometheus-blackbox-exporter)",
    kinds=(),
    binaries=(binaries.apt("prometheus-blackbox-exporter"),),
    start=start,
    profile="full",
)

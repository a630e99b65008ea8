"""`sre probe serve` on the sandbox's own endpoints: what Prometheus discovers (/sd) and scrapes (/probe).

It reads the sandbox environment, so it starts after every server (stage 3) and writes the
environment file first, from the endpoints recorded so far; `up` rewrites it complete at the end.
"""

from __future__ import annotations

from sre.sandbox.context import Launcher, Run
from sre.sandbox.environment import ENV_NAME, environment_path, write_environment
from sre.sandbox.launchers.alerting import EXPORTER_PORT
from sre.sandbox.launchers.monitoring import start_python

NAME = "probe-exporter"
VANTAGE = "sandbox"


def start(run: Run) -> None:
    platform = run.platform
    write_environment(
        environment_path(platform), platform, run.endpoints, run.rows, root=run.root, ca_file=run.tls.ca_cert
    )
    argv = ["sre", "probe", "serve", "--env", ENV_NAME, "--platform", str(platform.source.absolute())]
    url = start_python(
        run, NAME, [*argv, "--vantage", VANTAGE], EXPORTER_PORT, ready="/sd", start_timeout=60.0
    )
    run.urls[NAME] = {"http": url, "sd": url + "/sd"}


LAUNCHER = Launcher(
    name=NAME,
    title="sre probe serve: /sd for Prometheus discovery, /probe like blackbox_exporter",
    kinds=(),
    binaries=(),
    start=start,
    profile="full",
    stage=3,
)

"""A local Alertmanager webhook receiver (sre.sandbox.webhook): where the sandbox's alerts arrive."""

from __future__ import annotations

import sys

from sre.sandbox import health
from sre.sandbox.context import Launcher, Run
from sre.sandbox.supervisor import ProcessSpec

NAME = "webhook"
TOKEN_NAME = "webhook"  # noqa: S105 - the name of secrets/webhook.password, the token Alertmanager sends


def token_file(run: Run) -> str:
    return str(run.secret(TOKEN_NAME))


def start(run: Run) -> None:
    port = run.port("webhook.http")
    run.supervisor.start(
        ProcessSpec(
            name=NAME,
            component=NAME,
            argv=[
                sys.executable,
                "-m",
                "sre.sandbox.webhook",
                "--listen",
                f"127.0.0.1:{port}",
                "--token-file",
                token_file(run),
            ],
            health=health.http_get(port, "/healthz"),
            ports={"http": port},
        )
    )
    run.urls[NAME] = {
        "http": run.url("http", port),
        "notifications": run.url("http", port) + "/notifications",
    }


LAUNCHER = Launcher(
    name=NAME,
    title="Alertmanager webhook receiver (sre.sandbox.webhook; /alerts needs the bearer token)",
    kinds=(),
    binaries=(),
    start=start,
    profile="full",
)

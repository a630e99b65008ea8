"""The stand-in for the chat and pager bridges (sre.sandbox.webhook): the human routes' alerts arrive here."""

from __future__ import annotations

import sys

from sre.sandbox import health
from sre.sandbox.context import Launcher, Run
from sre.sandbox.supervisor import ProcessSpec

NAME = "webhook"
PORT = "webhook.http"


def notify_url(run: Run) -> str:
    """The address of a human receiver, with `{receiver}` to fill in."""
    return run.url("http", run.port(PORT)) + "/notify/{receiver}"


def start(run: Run) -> None:
    port = run.port(PORT)
    run.supervisor.start(
        ProcessSpec(
            name=NAME,
            component=NAME,
            argv=[sys.executable, "-m", "sre.sandbox.webhook", "--listen", f"127.0.0.1:{port}"],
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
    title="Stand-in for the chat and pager bridges (sre.sandbox.webhook): /notify/<receiver>",
    kinds=(),
    binaries=(),
    start=start,
    profile="full",
)

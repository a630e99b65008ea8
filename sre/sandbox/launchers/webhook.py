"""The stand-in for the chat and pager bridges (sre.sandbox.webhook): the human routes' alerts arrive here."""

from __future__ import annotations

from sre.sandbox.context import Launcher, Run
from sre.sandbox.launchers.monitoring import start_python

NAME = "webhook"
PORT = "webhook.http"


def notify_url(run: Run) -> str:
    """The address of a human receiver, with `{receiver}` to fill in."""
    return run.url("http", run.port(PORT)) + "/notify/{receiver}"


def start(run: Run) -> None:
    url = start_python(run, NAME, ["sre.sandbox.webhook"], PORT, ready="/healthz")
    run.urls[NAME] = {"http": url, "notifications": url + "/notifications"}


LAUNCHER = Launcher(
    name=NAME,
    title="Stand-in for the chat and pager bridges (sre.sandbox.webhook): /notify/<receiver>",
    kinds=(),
    binaries=(),
    start=start,
    profile="full",
)

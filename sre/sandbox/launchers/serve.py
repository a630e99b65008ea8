"""`sre serve` on the sandbox: the runbook receiver that Alertmanager's automation route posts to.

Its store is a SQLite file in the sandbox folder, not the sandbox's PostgreSQL: a drill stops tiers of
that, and the control plane's store must not go down with the DC it switches away from. Alertmanager
sends the bearer token of secrets/sre-serve.password (its `credentials_file`); the JSON API answers the
token of secrets/sre-serve-api.password (the approver `api`). Runs that need a human are told to the
sandbox's webhook stand-in (/notify/sre-serve). It reads the sandbox environment, so it starts with
Prometheus (stage 4), after the probe exporter has written that file.
"""

from __future__ import annotations

from sre.sandbox.context import Launcher, Run
from sre.sandbox.environment import ENV_NAME
from sre.sandbox.launchers.monitoring import start_python

NAME = "sre-serve"
PORT = "sre-serve.http"
TOKEN = "sre-serve"  # noqa: S105 - the name of the secret file, not a secret
API_TOKEN = "sre-serve-api"  # noqa: S105 - likewise
STORE = "runbooks.db"


def url(run: Run) -> str:
    return run.url("http", run.port(PORT))


def token_file(run: Run) -> str:
    """The bearer token Alertmanager sends to /alerts."""
    return str(run.secret(TOKEN))


def start(run: Run) -> None:
    from sre.runbooks.definitions import DEFAULT_DIR
    from sre.sandbox.launchers import webhook

    folder = run.folder(NAME, mode=0o700)
    runbooks = run.platform.source.parent / DEFAULT_DIR
    if not runbooks.is_dir():
        # No runbooks beside the platform: the receiver still records every alert, and starts nothing.
        runbooks = run.folder(NAME, "runbooks", mode=0o700)
    argv = [
        *("sre", "serve", "--store", str(folder / STORE), "--runbooks", str(runbooks)),
        *("--token-file", token_file(run), "--api-token-file", str(run.secret(API_TOKEN))),
        *("--env", ENV_NAME, "--platform", str(run.platform.source.absolute())),
        *("--notify-url", webhook.notify_url(run).format(receiver=NAME)),
        *("--alertmanager-url", run.url("http", run.port("alertmanager.http"))),  # for its silences
    ]
    base = start_python(run, NAME, argv, PORT, ready="/healthz", start_timeout=60.0)
    run.urls[NAME] = {
        "http": base,
        "alerts": base + "/alerts",
        "api": base + "/api/v1",
        "metrics": base + "/metrics",
    }


LAUNCHER = Launcher(
    name=NAME,
    title="sre serve: the runbook receiver (POST /alerts, the JSON API and the status page need tokens)",
    kinds=(),
    binaries=(),
    start=start,
    needs=("alertmanager", "webhook"),
    profile="full",
    stage=4,
)

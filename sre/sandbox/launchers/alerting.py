"""The sandbox's own build of the generated alerts: rules, scrape job and Alertmanager config for the
loop probe exporter -> Prometheus -> Alertmanager -> `sre serve` (and the stand-in for the human
receivers), with the sandbox's short intervals.

Built once per `up` into DIR/alerts (the layout of `sre alerts build`), from the alerts/ folder beside
the platform file; a platform without one gets no rules and Alertmanager's silent default.
"""

from __future__ import annotations

from pathlib import Path

from sre.sandbox.context import Run

FOLDER = "alerts"
EXPORTER_PORT = "probe-exporter.http"


def built(run: Run) -> Path | None:
    """DIR/alerts, built now if this `up` has not built it yet; None without an alerts/ folder."""
    from sre.alerting.build import MARKER, Local, build, write
    from sre.alerting.definitions import DEFAULT_DIR, load
    from sre.sandbox.launchers import serve, webhook

    source = run.platform.source.parent / DEFAULT_DIR
    if not source.is_dir():
        return None
    out = run.root / FOLDER
    if (out / MARKER).exists():
        return out
    local = Local(
        exporter=f"127.0.0.1:{run.port(EXPORTER_PORT)}",
        notify_url=webhook.notify_url(run),
        runbook_webhook=serve.url(run) + "/alerts",
        credentials_file=serve.token_file(run),
    )
    write(build(run.platform, load(source), local), out)
    return out

"""`sre alerts`: Prometheus rules, their unit tests, the scrape config and Alertmanager's routing,
generated from platform.yaml and alerts/: build, lint, test, diff, publish.

Only typer and the standard library at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sre.cli.options import PlatformOption, command_group, open_platform

if TYPE_CHECKING:
    from sre.alerting.definitions import Definitions
    from sre.platform.model import Platform

app = command_group("Alerts as code: Prometheus rules and tests, scrape config, Alertmanager routing.")

AlertsOption = Annotated[
    Path | None,
    typer.Option(
        "--alerts",
        "-a",
        help="Folder of alert definitions. Default: alerts/ beside the platform file.",
        file_okay=False,
        show_default=False,
    ),
]
OutOption = Annotated[
    Path, typer.Option("--out", "-o", help="Output folder (prometheus/, alertmanager/).", file_okay=False)
]
RulesDirOption = Annotated[
    Path,
    typer.Option(
        "--rules-dir",
        help="The folder Prometheus and Alertmanager read (rule_files: DIR/prometheus/rules/*.yml).",
        file_okay=False,
    ),
]


def _load(platform_file: Path | None, alerts: Path | None) -> tuple[Platform, Definitions]:
    from sre.alerting.definitions import alerts_dir, load

    platform = open_platform(platform_file)
    return platform, load(alerts_dir(platform.source, alerts))


def _built(platform_file: Path | None, alerts: Path | None) -> dict[Path, bytes]:
    from sre.alerting.build import build as build_files

    platform, defs = _load(platform_file, alerts)
    return build_files(platform, defs)


@app.command()
def build(
    *,
    out: OutOption = Path("build/alerts"),
    platform_file: PlatformOption = None,
    alerts: AlertsOption = None,
) -> None:
    """Write rules, unit tests, scrape config and Alertmanager config; the same input gives the same bytes."""
    from sre.alerting.build import RULES, write

    files = _built(platform_file, alerts)
    write(files, out)
    rules = sum(1 for p in files if p.parent == RULES)
    typer.echo(f"wrote {len(files)} files ({rules} rule files with their tests) to {out}")


@app.command()
def lint(
    *,
    dashboards: Annotated[
        Path | None,
        typer.Option(
            "--dashboards",
            "-d",
            help="Dashboard definitions whose queries are checked too. Default: dashboards/ beside the "
            "platform file.",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    platform_file: PlatformOption = None,
    alerts: AlertsOption = None,
) -> None:
    """PromQL parses, labels present, runbooks resolve, every metric is one that some exporter emits."""
    from sre.alerting.build import rule_files
    from sre.alerting.lint import dashboard_queries, run
    from sre.errors import SreError
    from sre.grafana.build import dashboards_dir

    platform, defs = _load(platform_file, alerts)
    queries = dashboard_queries(platform, dashboards_dir(platform, dashboards))
    report = run(platform, defs, rule_files(platform, defs), queries)
    for note in report.notes:
        typer.echo(f"note: {note}", err=True)
    if report.problems:
        raise SreError("\n".join(report.problems) + f"\n{len(report.problems)} problem(s)")
    typer.echo(
        f"ok: {report.rules} rules ({report.alerts} alerts), {report.queries} dashboard queries, "
        f"{len(report.metrics)} metrics, each emitted by an exporter"
    )


@app.command()
def test(
    *,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Build here and keep the files. Default: a temporary folder.",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    platform_file: PlatformOption = None,
    alerts: AlertsOption = None,
) -> None:
    """promtool check rules --lint-fatal and test rules, amtool check-config and the routing table."""
    import tempfile

    from sre.alerting.build import write
    from sre.alerting.tools import check
    from sre.errors import SreError

    files = _built(platform_file, alerts)
    with tempfile.TemporaryDirectory(prefix="sre-alerts-") as tmp:
        folder = out or Path(tmp)
        write(files, folder)
        report = check(folder)
    for line in report.passed:
        typer.echo(f"ok: {line}")
    if report.failed:
        raise SreError("\n".join(f"FAILED: {line}" for line in report.failed))


@app.command()
def diff(
    *,
    rules_dir: RulesDirOption,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 3 when anything would change.")
    ] = False,
    platform_file: PlatformOption = None,
    alerts: AlertsOption = None,
) -> None:
    """What a publish into --rules-dir would change, file by file."""
    from sre.alerting.publish import plan

    changes = plan(_built(platform_file, alerts), rules_dir)
    for change in changes:
        typer.echo(f"{change.action} {change.path}")
        for line in change.diff:
            typer.echo(f"  {line}")
    typer.echo(f"{len(changes)} file(s) would change" if changes else "no changes")
    if exit_code and changes:
        raise typer.Exit(3)


@app.command()
def publish(
    *,
    rules_dir: RulesDirOption,
    prometheus: Annotated[
        str | None,
        typer.Option(
            "--prometheus",
            help="Prometheus URL to reload (POST /-/reload; needs --web.enable-lifecycle).",
            show_default=False,
        ),
    ] = None,
    alertmanager: Annotated[
        str | None,
        typer.Option(
            "--alertmanager", help="Alertmanager URL to reload (POST /-/reload).", show_default=False
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would change; write nothing.")
    ] = False,
    platform_file: PlatformOption = None,
    alerts: AlertsOption = None,
) -> None:
    """Write what changed into --rules-dir and reload the servers that read it; report what changed."""
    from sre.alerting.publish import apply, plan

    for option, url in (("--prometheus", prometheus), ("--alertmanager", alertmanager)):
        if url is not None and not url.startswith(("http://", "https://")):
            from sre.errors import InputError

            raise InputError(f"{option}: expected an http:// or https:// URL; got {url!r}")
    files = _built(platform_file, alerts)
    changes = plan(files, rules_dir)
    for change in changes:
        typer.echo(f"{'would ' if dry_run else ''}{change.action} {change.path}")
    if dry_run or not changes:
        typer.echo(
            f"{len(changes)} file(s) would change"
            if changes
            else "unchanged: nothing written, nothing reloaded"
        )
        return
    reloaded = apply(files, rules_dir, changes, prometheus=prometheus, alertmanager=alertmanager)
    done = ", ".join(reloaded) or "nothing"
    typer.echo(f"published {len(changes)} changed file(s) to {rules_dir}; reloaded: {done}")

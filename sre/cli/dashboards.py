"""`sre dashboards`: build, lint, diff and publish the Grafana dashboards of the platform.

Only typer and the standard library at import time: grafana-foundation-sdk and
grafana-client are imported inside the commands that use them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sre.cli.options import PlatformOption, command_group, open_platform, seconds

if TYPE_CHECKING:
    from sre.grafana.build import BuiltDashboard
    from sre.grafana.client import Grafana
    from sre.platform.model import Platform

app = command_group("Grafana dashboards from the platform model: build, lint, diff, publish.")

DashboardsOption = Annotated[
    Path | None,
    typer.Option(
        "--dashboards",
        "-d",
        help="Folder of dashboard definitions. Default: dashboards/ beside the platform file.",
        file_okay=False,
        show_default=False,
    ),
]
UrlOption = Annotated[
    str | None, typer.Option("--url", help="Grafana URL. Default: $GRAFANA_URL.", show_default=False)
]
TokenFileOption = Annotated[
    Path | None,
    typer.Option(
        "--token-file",
        help="File holding a service-account token. Default: $GRAFANA_TOKEN_FILE.",
        dir_okay=False,
        show_default=False,
    ),
]
TokenEnvOption = Annotated[
    str,
    typer.Option("--token-env", help="Environment variable holding the token, when no token file is given."),
]
TimeoutOption = Annotated[
    float,
    typer.Option(
        "--timeout", help="Seconds to wait for each Grafana answer.", callback=seconds("--timeout", 0.1, 600)
    ),
]


def _build(platform_file: Path | None, dashboards: Path | None) -> tuple[Platform, list[BuiltDashboard]]:
    from sre.cli.progress import progress
    from sre.grafana.build import build, dashboards_dir

    platform = open_platform(platform_file)
    with progress("building dashboards") as tick:
        return platform, build(platform, dashboards_dir(platform, dashboards), tick=tick)


def _connect(url: str | None, token_file: Path | None, token_env: str, timeout: float) -> Grafana:
    from sre.grafana.client import Grafana, resolve_target

    return Grafana(resolve_target(url, token_file, token_env, timeout))


@app.command()
def build(
    *,
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Output folder: one sub-folder per Grafana folder.", file_okay=False
        ),
    ] = Path("build/dashboards"),
    platform_file: PlatformOption = None,
    dashboards: DashboardsOption = None,
) -> None:
    """Write one JSON file per dashboard; the same input always gives the same bytes."""
    from sre.cli.progress import progress
    from sre.grafana.build import folders, write

    _, built = _build(platform_file, dashboards)
    with progress(f"writing to {out}") as tick:
        tick(total=len(built))
        write(built, out, tick=tick)
    typer.echo(f"wrote {len(built)} dashboards in {len(folders(built))} folders to {out}")


@app.command()
def lint(
    *,
    platform_file: PlatformOption = None,
    dashboards: DashboardsOption = None,
) -> None:
    """Check the dashboards: PromQL parses, conventions hold, titles are unique, every service has one."""
    from sre.errors import SreError
    from sre.grafana.lint import CHECKED, run

    platform, built = _build(platform_file, dashboards)
    report = run(platform, built)
    typer.echo(f"checked: {CHECKED}")
    if report.problems:
        raise SreError(
            "\n".join(report.problems)
            + f"\n{len(report.problems)} problem(s) in {report.dashboards} dashboards"
        )
    typer.echo(f"ok: {report.dashboards} dashboards, {report.queries} PromQL queries, every service covered")


@app.command()
def diff(
    *,
    url: UrlOption = None,
    token_file: TokenFileOption = None,
    token_env: TokenEnvOption = "GRAFANA_TOKEN",  # noqa: S107 - the name of a variable, not a secret
    timeout: TimeoutOption = 10.0,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 3 when anything would change.")
    ] = False,
    platform_file: PlatformOption = None,
    dashboards: DashboardsOption = None,
) -> None:
    """Show, per dashboard, what a publish would change in the live Grafana (ignoring id and version)."""
    from sre.grafana.publish import plan

    _, built = _build(platform_file, dashboards)
    the_plan = plan(_connect(url, token_file, token_env, timeout), built)
    for fc in the_plan.folders:
        if fc.action == "create":
            typer.echo(f"folder {fc.folder.uid}: create {fc.folder.title!r}")
        elif fc.action == "rename":
            typer.echo(f"folder {fc.folder.uid}: rename {fc.live_title!r} -> {fc.folder.title!r}")
    for change in the_plan.changes:
        d = change.dashboard
        if change.action == "unchanged":
            continue
        moved = (
            f" (move from folder {change.moved_from or 'General'})" if change.moved_from is not None else ""
        )
        typer.echo(f"dashboard {d.uid}: {change.action} {d.title!r} in {d.folder.uid}{moved}")
        if change.action == "update":
            for line in change.diff:
                typer.echo(f"  {line}")
    typer.echo(
        f"{the_plan.count('create')} to create, {the_plan.count('update')} to update, "
        f"{the_plan.count('unchanged')} unchanged"
    )
    if exit_code and (
        the_plan.count("create")
        or the_plan.count("update")
        or any(f.action != "unchanged" for f in the_plan.folders)
    ):
        raise typer.Exit(3)


@app.command()
def publish(
    *,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Read the live state and report; write nothing.")
    ] = False,
    message: Annotated[
        str, typer.Option("--message", "-m", help="Version message; the commit is appended.")
    ] = "sre dashboards publish",
    datasource_url: Annotated[
        str | None,
        typer.Option(
            "--datasource-url",
            help="Also create or correct the Prometheus datasource at this URL.",
            show_default=False,
        ),
    ] = None,
    datasource_uid: Annotated[
        str, typer.Option("--datasource-uid", help="UID of that datasource.")
    ] = "prometheus",
    datasource_name: Annotated[
        str, typer.Option("--datasource-name", help="Name of that datasource.")
    ] = "Prometheus",
    url: UrlOption = None,
    token_file: TokenFileOption = None,
    token_env: TokenEnvOption = "GRAFANA_TOKEN",  # noqa: S107 - the name of a variable, not a secret
    timeout: TimeoutOption = 10.0,
    platform_file: PlatformOption = None,
    dashboards: DashboardsOption = None,
) -> None:
    """Create the folders and write the dashboards that changed; report created, updated and unchanged."""
    from sre.gitinfo import current_commit
    from sre.grafana.publish import apply, ensure_datasource, plan

    if datasource_url:
        from sre.urls import check_http_url

        check_http_url(datasource_url, what="--datasource-url")
    platform, built = _build(platform_file, dashboards)
    grafana = _connect(url, token_file, token_env, timeout)
    if datasource_url:
        state = ensure_datasource(grafana, datasource_uid, datasource_name, datasource_url, dry_run=dry_run)
        typer.echo(
            f"datasource {datasource_uid}: {state}{' (dry run)' if dry_run and state != 'unchanged' else ''}"
        )
    the_plan = plan(grafana, built)
    new_folders = sum(1 for f in the_plan.folders if f.action == "create")
    if dry_run:
        typer.echo(
            f"dry run: would create {new_folders} folders, {the_plan.count('create')} dashboards, "
            f"update {the_plan.count('update')}; {the_plan.count('unchanged')} unchanged"
        )
        return
    commit = current_commit(platform.source.parent)
    text = f"{message} (commit {commit[:12] if commit else 'unknown'})"
    from sre.cli.progress import progress

    with progress(f"publishing to {grafana.target.shown}") as tick:
        tick(total=sum(1 for c in the_plan.changes if c.action != "unchanged"))
        outcome = apply(grafana, the_plan, text, tick=tick)
    typer.echo(
        f"published to {grafana.target.shown}: {len(outcome.created)} created, "
        f"{len(outcome.updated)} updated, {len(outcome.unchanged)} unchanged; "
        f"{len(outcome.folders_created)} folders created"
    )

"""`sre elk`: build, lint, diff and publish Elasticsearch templates, ILM policies and pipelines.

Only typer and the standard library at import time; the engine and the client load per command.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sre.cli.options import PlatformOption, seconds, shared_options
from sre.errors import InputError, SreError

if TYPE_CHECKING:
    from sre.elk.cluster import Cluster
    from sre.elk.publish import Plan
    from sre.elk.workspace import Workspace

app = typer.Typer(
    help="Elasticsearch index templates, ILM policies and PII pipelines from the platform model.",
    no_args_is_help=True,
)

URL_ENV = "ELASTICSEARCH_URL"
API_KEY_ENV = "ELASTICSEARCH_API_KEY"

DefsOption = Annotated[
    Path | None,
    typer.Option(
        "--defs", help="Folder of elk definitions. Default: elk/ beside the platform file.", file_okay=False
    ),
]
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url", envvar=URL_ENV, help=f"Elasticsearch URL. Default: ${URL_ENV}.", show_default=False
    ),
]
ApiKeyFileOption = Annotated[
    Path | None,
    typer.Option(
        "--api-key-file",
        help=f"File holding the API key (its encoded form). Without it: the key itself from ${API_KEY_ENV}. "
        "Never printed.",
        dir_okay=False,
        show_default=False,
    ),
]
CaFileOption = Annotated[
    Path | None,
    typer.Option("--ca-file", help="CA bundle for the cluster's TLS certificate.", dir_okay=False),
]
TimeoutOption = Annotated[
    float,
    typer.Option(
        "--timeout", help="Seconds to wait for each answer.", callback=seconds("--timeout", 0.1, 600)
    ),
]


class LintFailed(SreError):
    """The built bodies failed a check; the message lists every finding."""


def _workspace(platform_file: Path | None, defs: Path | None) -> Workspace:
    from sre.cli.progress import progress
    from sre.elk.workspace import open_workspace
    from sre.platform.loader import resolve_platform_path

    with progress("building Elasticsearch bodies"):
        return open_workspace(resolve_platform_path(platform_file), defs)


NOT_ONE_LINE = "the API key is not one line of printable ASCII (a line break?)"


def _api_key(path: Path | None) -> str | None:
    from sre.scrub import header_safe

    if path is None:
        key = os.environ.get(API_KEY_ENV) or None
        if key is not None and not header_safe(key.strip()):
            raise InputError(f"${API_KEY_ENV}: {NOT_ONE_LINE}")
        return key
    from sre.safefile import read_secret

    key = read_secret(path, what="--api-key-file")
    if not header_safe(key):
        raise InputError(f"--api-key-file: {path}: {NOT_ONE_LINE}")
    return key


def _cluster(url: str | None, api_key_file: Path | None, ca_file: Path | None, timeout: float) -> Cluster:
    from sre.elk.cluster import Connection, connect
    from sre.urls import check_http_url

    if not url:
        raise InputError(f"no Elasticsearch URL: give --url or set {URL_ENV}")
    check_http_url(url, what=f"${URL_ENV}" if url == os.environ.get(URL_ENV) else "--url")
    return connect(Connection(url=url, api_key=_api_key(api_key_file), ca_file=ca_file, timeout=timeout))


def _plan(ws: Workspace, cluster: Cluster, *, force: bool) -> tuple[Cluster, Plan]:
    from sre.elk.publish import plan

    stack = ws.defs.elk.index_template.stack_components
    return cluster, plan(cluster, ws.bundle, ws.platform.platform.name, stack, force=force)


def _lint_lines(ws: Workspace) -> list[str]:
    from sre.elk.lint import lint as run_lint

    return [str(f) for f in run_lint(ws.bundle, ws.platform, ws.defs)]


def _require_clean(ws: Workspace) -> None:
    findings = _lint_lines(ws)
    if findings:
        raise LintFailed(
            "\n".join([*findings, f"refusing to publish: {len(findings)} lint findings, nothing written"])
        )


@app.command()
def build(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.", file_okay=False)] = Path(
        "build/elk"
    ),
    platform_file: PlatformOption = None,
    defs: DefsOption = None,
) -> None:
    """Write one JSON request body per object, under OUT/<kind>/<name>.json."""
    from sre.cli.progress import progress
    from sre.elk.build import write

    ws = _workspace(platform_file, defs)
    with progress(f"writing to {out}") as tick:
        tick(total=len(ws.bundle))
        paths = write(ws.bundle, out, tick=tick)
    counts = ", ".join(f"{len(objs)} {kind}" for kind, objs in ws.bundle.objects.items())
    typer.echo(f"{out}: {len(paths)} objects ({counts})")


@app.command()
def lint(platform_file: PlatformOption = None, defs: DefsOption = None) -> None:
    """Check the built bodies: type conflicts, pattern overlaps, references, field budget, PII."""
    from sre.elk.lint import CHECKED

    ws = _workspace(platform_file, defs)
    findings = _lint_lines(ws)
    typer.echo(f"checked: {CHECKED}")
    if findings:
        raise LintFailed("\n".join([*findings, f"{len(findings)} findings in {len(ws.bundle)} objects"]))
    typer.echo(f"ok: {len(ws.bundle)} objects, no findings")


@dataclass(frozen=True)
class Against:
    """What diff and publish share: the bodies built from the platform, and the cluster they go to."""

    url: UrlOption = None
    api_key_file: ApiKeyFileOption = None
    ca_file: CaFileOption = None
    timeout: TimeoutOption = 30.0
    platform_file: PlatformOption = None
    defs: DefsOption = None

    def workspace(self) -> Workspace:
        return _workspace(self.platform_file, self.defs)

    def plan(self, ws: Workspace, *, force: bool) -> tuple[Cluster, Plan]:
        return _plan(ws, _cluster(self.url, self.api_key_file, self.ca_file, self.timeout), force=force)


@app.command()
@shared_options(Against)
def diff(against: Against) -> None:
    """Compare the built bodies with the cluster's; show what publish would create, update or refuse."""
    from sre.elk.report import render_plan

    _, p = against.plan(against.workspace(), force=False)
    typer.echo("\n".join(render_plan(p, show_diff=True)))
    if p.collisions:
        raise typer.Exit(1)


@app.command()
@shared_options(Against)
def publish(
    against: Against,
    *,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Compare and report; write nothing.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite objects of the same name that sre does not manage.")
    ] = False,
) -> None:
    """Write what changed (ILM, pipelines, component then index templates), then mark lazy rollovers."""
    from sre.elk.publish import Result, apply
    from sre.elk.report import render_result

    ws = against.workspace()
    _require_clean(ws)
    cluster, p = against.plan(ws, force=force)
    from sre.cli.progress import progress

    with progress("publishing") as tick:
        tick(total=len(p.writes))
        result = Result(plan=p) if dry_run else apply(cluster, p, ws.bundle, tick=tick)
    typer.echo("\n".join(render_result(result, dry_run=dry_run)))
    if p.blocked:
        raise typer.Exit(1)

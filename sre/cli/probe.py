"""`sre probe`: synthetic probes of every service, in every zone and DC tier.

    sre probe --all                      # = sre probe run --all
    sre probe ext_api cdn --tier primary
    sre probe --target https://host --kind https
    sre probe serve --listen 127.0.0.1:9116
    sre probe targets --format file_sd -o targets.json
    sre probe merge zone-a.json zone-b.json

`run` is the default command: anything after `sre probe` that is not `serve`,
`merge` or `run` is handed to `run`. Only typer and the standard library are
imported here; the engine loads when a command runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperGroup

from sre.cli.options import EnvOption, PlatformOption, checked_output, seconds
from sre.errors import InputError
from sre.platform import DEFAULT_ENVIRONMENT

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.progress import Progress
    from typer._click.core import Context as ClickContext

    from sre.probes.definitions import ExporterSpec
    from sre.probes.model import Result
    from sre.probes.output.table import Layout
    from sre.probes.session import Session


class _DefaultRun(TyperGroup):
    """A group whose default command is `run`, so `sre probe --all` works as written."""

    default_command = "run"  # also read by the test that checks the documented examples

    def parse_args(self, ctx: ClickContext, args: list[str]) -> list[str]:
        # `sre probe --help` is the help of `run` (its options are what people look for); the other
        # commands are listed in its epilog.
        if not args or args[0] not in self.commands:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_DefaultRun,
    help="Probe every service in every zone and DC tier, judged against what its tier should be.",
)


PIPE_WIDTH = 120  # piped output (CI logs) is laid out for 120 columns, not rich's default 80


class Format(StrEnum):
    table = "table"
    json = "json"
    junit = "junit"
    prometheus = "prometheus"


ProbesOption = Annotated[
    Path | None,
    typer.Option("--probes", help="Probe definitions folder. Default: probes/ beside the platform file."),
]
VantageOption = Annotated[
    str | None,
    typer.Option(
        "--vantage",
        help="Where this run is from (a label on every result). Default: $SRE_VANTAGE or the host name.",
    ),
]


@app.command(
    epilog="Other commands: sre probe serve | targets | merge (each with --help).",
)
def run(  # noqa: PLR0917  (typer maps parameters to options)
    services: Annotated[
        list[str] | None, typer.Argument(help="Services to probe (ids from platform.yaml).")
    ] = None,
    all_services: Annotated[bool, typer.Option("--all", help="Probe every service.")] = False,
    tier: Annotated[
        list[str] | None, typer.Option("--tier", "-t", help="Only this DC tier (repeatable).")
    ] = None,
    zone: Annotated[
        list[str] | None, typer.Option("--zone", "-z", help="Only this zone (repeatable).")
    ] = None,
    env: EnvOption = DEFAULT_ENVIRONMENT,
    platform_file: PlatformOption = None,
    probes: ProbesOption = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write the output here instead of stdout.", callback=checked_output
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, max=1000, help="Probes in flight at once.")
    ] = 32,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            help="Time budget of the whole run, in seconds.",
            callback=seconds("--timeout", 0.1, 86400),
        ),
    ] = 60.0,
    vantage: VantageOption = None,
    wide: Annotated[
        bool, typer.Option("--wide", help="Table: every probe, with endpoint and reason code columns.")
    ] = False,
    show_skipped: Annotated[
        bool, typer.Option("--show-skipped", help="Table: list skipped probes one per row, not folded.")
    ] = False,
    target: Annotated[
        str | None, typer.Option("--target", help="Probe one address outside the model (with --kind).")
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option("--kind", help="The check to run against --target (https, tcp, tls, dns, grpc, ...)."),
    ] = None,
) -> None:
    """Probe services and judge each against its tier.

    Exit 0 when everything is as expected, 1 when a probe failed, 2 on bad input.
    """
    import time

    from sre import clock
    from sre.probes.loop import run as run_loop
    from sre.probes.session import Selection, Session

    names = services or []
    if target is None and kind is not None:
        raise InputError("--kind goes with --target URL")
    if target is not None:
        if names or all_services or tier or zone:
            raise InputError("--target probes one address; give no SERVICE, --all, --tier or --zone with it")
        session = Session.adhoc(target, kind, platform_file=platform_file, probes=probes, vantage=vantage)
    else:
        if not names and not all_services:
            raise InputError("name the services to probe, or give --all (or --target URL --kind KIND)")
        if names and all_services:
            raise InputError("give either SERVICE names or --all, not both")
        selection = Selection(services=names, tiers=tier or [], zones=zone or [])
        session = Session.planned(
            selection, env=env, platform_file=platform_file, probes=probes, vantage=vantage
        )

    started = time.time()
    # The bar stays until the output is written: closing the loop and judging are not a silent pause.
    with _progress(show=_interactive(output) and bool(session.targets)) as progress:
        # --timeout is the whole command's: loading the model and the drivers have used some of it.
        budget = clock.left(timeout)
        everything = run_loop(_run_with_progress(session, concurrency, budget, progress))
        if progress is not None:
            progress.update(progress.task_ids[0], description="judging")
        layout = _layout(output, wide=wide, show_skipped=show_skipped)
        text = _render(everything, fmt, session, started_at=started, layout=layout)
    _emit(text, output, fmt)
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from sre.probes.output import otlp

        # Its own short deadline, within what is left of the run's budget (but never nothing).
        deadline = min(otlp.DEADLINE, max(0.25, clock.left(timeout)))
        otlp.export(everything, environment=session.environment, deadline=deadline)
    if any(not r.passed for r in everything):
        raise typer.Exit(1)


@app.command()
def serve(  # noqa: PLR0917  (typer maps parameters to options)
    listen: Annotated[str, typer.Option("--listen", help="HOST:PORT to listen on.")] = "127.0.0.1:9116",
    env: EnvOption = DEFAULT_ENVIRONMENT,
    platform_file: PlatformOption = None,
    probes: ProbesOption = None,
    vantage: VantageOption = None,
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config.file",
            "--config-file",
            help="blackbox_exporter's module file (blackbox.yml); its modules are served beside probes/.",
        ),
    ] = None,
    allow: Annotated[
        list[str] | None,
        typer.Option(
            "--allow",
            help="[scheme://]host[:port] pattern of targets it may probe, besides exporter.allow of probes/ "
            "(repeat it).",
        ),
    ] = None,
) -> None:
    """Serve /probe?target=&module= and /metrics like blackbox_exporter, for the modules in probes/
    and blackbox's (its standard ones such as http_2xx, or those of --config.file), and /sd: the
    environment's endpoints for Prometheus' http_sd_configs. With --config.file and no platform.yaml,
    it serves the module file alone, as blackbox_exporter does."""
    from sre.probes.blackbox.config import load_modules, standard_modules
    from sre.probes.blackbox.modules import Served, serve_modules
    from sre.probes.exporter import Exporter
    from sre.probes.exporter import serve as serve_exporter
    from sre.probes.loop import run as run_loop

    host, _, port_text = listen.rpartition(":")
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InputError(f"--listen: expected HOST:PORT, such as 127.0.0.1:9116; got {listen!r}")
    session = _serving_session(env, platform_file, probes, vantage, config_file is not None)
    if allow:
        session.definitions.exporter = _allowing(session.definitions.exporter, allow)

    def blackbox_modules() -> dict[str, Served]:
        modules = standard_modules()
        if config_file is not None:
            modules.update(load_modules(config_file))
        return serve_modules(modules, session.context, config_file)

    exporter = Exporter.for_session(session)
    exporter.blackbox = blackbox_modules()
    exporter.reloader = blackbox_modules if config_file is not None else None
    exporter.meta_series()

    def ready() -> None:
        names = ", ".join(exporter.modules)
        typer.echo(f"sre probe exporter on http://{listen}/ (modules: {names})", err=True)

    try:
        run_loop(serve_exporter(exporter, host.strip("[]"), int(port_text), ready))
    except OSError as exc:
        raise InputError(f"--listen {listen}: {exc.strerror or exc}") from None


def _serving_session(
    env: str, platform_file: Path | None, probes: Path | None, vantage: str | None, modules_given: bool
) -> Session:
    """The model's session; none needed for a module file alone where no platform file was asked for."""
    from sre.platform.loader import DEFAULT_FILE, resolve_platform_path
    from sre.probes.session import Session

    path = resolve_platform_path(platform_file)
    if modules_given and path == DEFAULT_FILE and not path.exists():
        return Session.unmodelled(path, probes=probes, vantage=vantage)
    return Session.planned(env=env, platform_file=platform_file, probes=probes, vantage=vantage)


def _allowing(spec: ExporterSpec, extra: list[str]) -> ExporterSpec:
    from pydantic import ValidationError

    from sre.probes.definitions import ExporterSpec

    try:
        return ExporterSpec(allow=[*spec.allow, *extra])
    except ValidationError as exc:
        raise InputError(f"--allow: {exc.errors()[0]['msg'].removeprefix('Value error, ')}") from None


class TargetsFormat(StrEnum):
    file_sd = "file_sd"


@app.command()
def targets(  # noqa: PLR0917  (typer maps parameters to options)
    fmt: Annotated[
        TargetsFormat, typer.Option("--format", "-f", help="file_sd: Prometheus file_sd_configs JSON.")
    ] = TargetsFormat.file_sd,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    env: EnvOption = DEFAULT_ENVIRONMENT,
    platform_file: PlatformOption = None,
    probes: ProbesOption = None,
    vantage: VantageOption = None,
) -> None:
    """The environment's endpoints as Prometheus targets: what `sre probe serve` answers on /sd."""
    from sre.probes import sd
    from sre.probes.session import Session

    session = Session.planned(env=env, platform_file=platform_file, probes=probes, vantage=vantage)
    assert session.platform is not None  # a planned session always has one
    groups = sd.groups(session.platform, session.targets, session.context.vantage)
    _emit(sd.render(groups), output, Format.json)


@app.command()
def merge(
    files: Annotated[
        list[Path], typer.Argument(help="JSON result files of `sre probe --format json`, one per vantage.")
    ],
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write here instead of stdout.", callback=checked_output),
    ] = None,
) -> None:
    """Per-service reachability across vantages: the share of vantages that reached each service."""
    from sre.probes.merge import merge as merge_runs
    from sre.probes.output import jsonfile
    from sre.probes.output.merged import render_json, render_table

    if fmt not in ("table", "json"):
        raise InputError(f"--format: expected table or json; got {fmt!r}")
    runs = [jsonfile.read(path).results for path in files]
    merged = merge_runs(runs)
    if fmt == "json":
        _emit(render_json(merged), output, Format.json)
    else:
        _emit(render_table(merged), output, Format.table)
    if any(s.status.value == "failed" for s in merged.services):
        raise typer.Exit(1)


def _interactive(output: Path | None) -> bool:
    """A progress display only on a terminal, and never mixed into piped output."""
    return sys.stderr.isatty() and (output is not None or sys.stdout.isatty())


@contextmanager
def _progress(*, show: bool) -> Iterator[Progress | None]:
    """A transient bar on stderr (rich's Progress), or None when nobody watches."""
    if not show:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        progress.add_task("probing", total=None, failed=0)
        yield progress


async def _run_with_progress(
    session: Session, concurrency: int, budget: float, progress: Progress | None
) -> list[Result]:
    if progress is None:
        return await session.run(concurrency=concurrency, budget=budget)
    task = progress.task_ids[0]
    progress.update(task, total=len(session.targets))
    failed = 0

    def advance(result: Result) -> None:
        nonlocal failed
        failed += 0 if result.passed else 1
        progress.update(task, advance=1, failed=failed)

    return await session.run(concurrency=concurrency, budget=budget, on_result=advance)


def _render(
    results: list[Result], fmt: Format, session: Session, *, started_at: float, layout: Layout | None = None
) -> str | RenderableType:
    from sre.probes.verdict import tier_verdicts

    tiers = session.tiers(results)
    topology = session.topology
    if fmt is Format.json:
        from sre.probes.output import jsonfile

        verdicts = [v.as_dict() for v in tier_verdicts(results, tiers, topology)]
        return jsonfile.render(
            results,
            vantage=session.context.vantage,
            environment=session.environment,
            started_at=started_at,
            tiers=verdicts,
        )
    if fmt is Format.junit:
        from sre.probes.output import junit

        return junit.render(results, tiers)
    if fmt is Format.prometheus:
        from sre.probes.output import prometheus

        return prometheus.render(results)
    from sre.probes.output import table

    return table.render(results, tiers, session.zones, topology, layout)


def _layout(output: Path | None, *, wide: bool, show_skipped: bool) -> Layout:
    from sre.probes.output.table import Layout

    # Box drawing only on a terminal: piped or written output is plain text.
    return Layout(wide=wide, show_skipped=show_skipped, plain=output is not None or not sys.stdout.isatty())


def _emit(rendered: str | RenderableType, output: Path | None, fmt: Format) -> None:
    if isinstance(rendered, str):
        if output is None:
            sys.stdout.write(rendered)
            sys.stdout.flush()
            return
        try:
            output.write_text(rendered, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"--output {output}: {exc.strerror}") from None
        return
    from rich.console import Console

    if output is None:
        # Piped output (CI logs) gets a wide page instead of rich's 80 columns.
        Console(width=None if sys.stdout.isatty() else PIPE_WIDTH).print(rendered)
        return
    try:
        with output.open("w", encoding="utf-8") as handle:
            Console(file=handle, width=PIPE_WIDTH, color_system=None).print(rendered)
    except OSError as exc:
        raise InputError(f"--output {output}: {exc.strerror}") from None

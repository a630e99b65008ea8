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
import re
import socket
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from sre.cli.options import EnvOption, PlatformOption, checked_output, seconds
from sre.errors import InputError
from sre.platform import DEFAULT_ENVIRONMENT

if TYPE_CHECKING:
    from typer._click.core import Context as ClickContext

    from sre.platform.model import Platform
    from sre.probes.model import Result


class _DefaultRun(TyperGroup):
    """A group whose default command is `run`, so `sre probe --all` works as written."""

    default_command = "run"  # also read by the test that checks the documented examples

    def parse_args(self, ctx: ClickContext, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_DefaultRun,
    help="Probe every service in every zone and DC tier, judged against what its tier should be.",
)


PIPE_WIDTH = 200


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


@app.command()
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

    from sre.probes.loop import run as run_loop

    names = services or []
    if target is None and kind is not None:
        raise InputError("--kind goes with --target URL")
    if target is not None:
        if names or all_services or tier or zone:
            raise InputError("--target probes one address; give no SERVICE, --all, --tier or --zone with it")
        platform, targets, skipped, run_ctx, env_name = _adhoc(target, kind, platform_file, probes, vantage)
    else:
        if not names and not all_services:
            raise InputError("name the services to probe, or give --all (or --target URL --kind KIND)")
        if names and all_services:
            raise InputError("give either SERVICE names or --all, not both")
        platform, targets, skipped, run_ctx = _planned(
            names,
            tiers=tier or [],
            zones=zone or [],
            env=env,
            platform_file=platform_file,
            probes=probes,
            vantage=vantage,
        )
        env_name = env

    started = time.time()
    results = run_loop(_run_with_progress(targets, run_ctx, concurrency, timeout, show=_interactive(output)))
    everything = _ordered([*results, *skipped], platform)
    text = _render(everything, fmt, platform, vantage=run_ctx.vantage, env=env_name, started_at=started)
    _emit(text, output, fmt)
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from sre.probes.output import otlp

        # Its own short deadline, within what is left of the run's budget (but never nothing).
        left = timeout - (time.time() - started)
        otlp.export(everything, environment=env_name, deadline=min(otlp.DEADLINE, max(0.5, left)))
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
) -> None:
    """Serve /probe?target=&module= and /metrics like blackbox_exporter, for the modules in probes/
    and blackbox's (its standard ones such as http_2xx, or those of --config.file), and /sd: the
    environment's endpoints for Prometheus' http_sd_configs."""
    from sre.probes import sd
    from sre.probes.blackbox.config import load_modules, standard_modules
    from sre.probes.blackbox.modules import serve_modules
    from sre.probes.exporter import Exporter
    from sre.probes.exporter import serve as serve_exporter
    from sre.probes.loop import run as run_loop

    host, _, port_text = listen.rpartition(":")
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InputError(f"--listen: expected HOST:PORT, such as 127.0.0.1:9116; got {listen!r}")
    platform, targets, _, run_ctx = _planned(
        [], tiers=[], zones=[], env=env, platform_file=platform_file, probes=probes, vantage=vantage
    )
    modules = standard_modules()
    if config_file is not None:
        modules.update(load_modules(config_file))
    served = serve_modules(modules, run_ctx, config_file)
    exporter = Exporter(_definitions(platform, probes), run_ctx, blackbox=served)
    exporter.add_targets(targets)
    exporter.discovery = sd.Discovery(sd.groups(platform, targets, run_ctx.vantage))

    def ready() -> None:
        modules = ", ".join(exporter.modules)
        typer.echo(f"sre probe exporter on http://{listen}/ (modules: {modules})", err=True)

    try:
        run_loop(serve_exporter(exporter, host.strip("[]"), int(port_text), ready))
    except OSError as exc:
        raise InputError(f"--listen {listen}: {exc.strerror or exc}") from None


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

    platform, found, _, run_ctx = _planned(
        [], tiers=[], zones=[], env=env, platform_file=platform_file, probes=probes, vantage=vantage
    )
    _emit(sd.render(sd.groups(platform, found, run_ctx.vantage)), output, Format.json)


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


VANTAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,62}")


def _vantage(option: str | None) -> str:
    """The vantage labels every result and goes into the X-SRE-Probe-Id header: a plain name only."""
    for source, value in (("--vantage", option), ("SRE_VANTAGE", os.environ.get("SRE_VANTAGE"))):
        if value:
            if not VANTAGE.fullmatch(value):
                expected = "a name of letters, digits and . _ : - (at most 63)"
                raise InputError(f"{source}: expected {expected}; got {value[:40]!r}")
            return value
    host = socket.gethostname()
    return host if VANTAGE.fullmatch(host) else re.sub(r"[^A-Za-z0-9._:-]", "-", host)[:63] or "local"


def _definitions(platform: Platform, probes: Path | None) -> Any:
    from sre.probes.definitions import definitions_dir, load_definitions

    return load_definitions(definitions_dir(platform.source, probes), platform)


def _planned(
    names: list[str],
    *,
    tiers: list[str],
    zones: list[str],
    env: str,
    platform_file: Path | None,
    probes: Path | None,
    vantage: str | None,
) -> tuple[Platform, list[Any], list[Result], Any]:
    from sre.cli.options import open_environment
    from sre.probes.context import RunContext
    from sre.probes.plan import make_plan

    platform, environment = open_environment(platform_file, env)
    defs = _definitions(platform, probes)
    run_ctx = RunContext(
        vantage=_vantage(vantage),
        tls_min_version=platform.policies.tls.min_version,
        cert_warn_seconds=defs.policy.cert_warn,
    )
    plan = make_plan(
        platform, environment, defs, vantage=run_ctx.vantage, services=names, tiers=tiers, zones=zones
    )
    return platform, plan.targets, plan.skipped, run_ctx


def _adhoc(
    url: str, kind: str | None, platform_file: Path | None, probes: Path | None, vantage: str | None
) -> tuple[Platform | None, list[Any], list[Result], Any, str]:
    from sre.platform.loader import load_platform, resolve_platform_path
    from sre.probes.checks import REGISTRY
    from sre.probes.context import RunContext
    from sre.probes.definitions import DEFAULT_DIR, Definitions, load_definitions
    from sre.probes.plan import adhoc_target
    from sre.probes.targets import parse_target

    if kind is None:
        raise InputError("--target needs --kind (one of: " + ", ".join(sorted(REGISTRY)) + ")")
    if kind not in REGISTRY:
        raise InputError(f"--kind: unknown check {kind!r}; expected one of {', '.join(sorted(REGISTRY))}")
    path = resolve_platform_path(platform_file)
    platform = load_platform(path) if path.exists() else None
    folder = probes if probes is not None else path.parent / DEFAULT_DIR
    defs = load_definitions(folder, platform) if folder.is_dir() else Definitions()
    try:
        parsed = parse_target(url, kind, remote=False)
        target = adhoc_target(parsed if isinstance(parsed, str) else parsed.url, defs.for_kind(kind))
    except ValueError as exc:
        raise InputError(f"--target: {exc}") from None
    run_ctx = RunContext(
        vantage=_vantage(vantage),
        tls_min_version=platform.policies.tls.min_version if platform else "1.3",
        cert_warn_seconds=defs.policy.cert_warn,
    )
    return platform, [target], [], run_ctx, ""


def _interactive(output: Path | None) -> bool:
    """A progress display only on a terminal, and never mixed into piped output."""
    return sys.stderr.isatty() and (output is not None or sys.stdout.isatty())


async def _run_with_progress(
    targets: list[Any], run_ctx: Any, concurrency: int, budget: float, *, show: bool
) -> list[Result]:
    from sre.probes.runner import run_probes

    if not show or not targets:
        return await run_probes(targets, run_ctx, concurrency=concurrency, budget=budget)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    failed = 0
    with Progress(
        TextColumn("probing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task("probes", total=len(targets), failed=0)

        def advance(result: Result) -> None:
            nonlocal failed
            failed += 0 if result.passed else 1
            progress.update(task, advance=1, failed=failed)

        return await run_probes(targets, run_ctx, concurrency=concurrency, budget=budget, on_result=advance)


def _ordered(results: list[Result], platform: Platform | None) -> list[Result]:
    if platform is None:
        return results
    tiers = {t: i for i, t in enumerate(platform.tiers)}
    services = {s: i for i, s in enumerate(platform.services)}
    return sorted(
        results, key=lambda r: (tiers.get(r.tier, len(tiers)), services.get(r.service, len(services)))
    )


def _render(
    results: list[Result],
    fmt: Format,
    platform: Platform | None,
    *,
    vantage: str,
    env: str,
    started_at: float,
) -> Any:
    from sre.probes.verdict import Topology, tier_verdicts

    tiers = list(platform.tiers) if platform else []
    tiers += [t for t in dict.fromkeys(r.tier for r in results) if t not in tiers]
    topology = Topology.of(platform) if platform else None
    if fmt is Format.json:
        from sre.probes.output import jsonfile

        verdicts = [v.as_dict() for v in tier_verdicts(results, tiers, topology)]
        return jsonfile.render(
            results, vantage=vantage, environment=env, started_at=started_at, tiers=verdicts
        )
    if fmt is Format.junit:
        from sre.probes.output import junit

        return junit.render(results, tiers)
    if fmt is Format.prometheus:
        from sre.probes.output import prometheus

        return prometheus.render(results)
    from sre.probes.output import table

    zones = list(platform.zones) if platform else []
    return table.render(results, tiers, zones, topology)


def _emit(rendered: Any, output: Path | None, fmt: Format) -> None:
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

"""`sre sandbox`: the platform on this machine, real servers on loopback, three DC tiers."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sre.cli.options import PlatformOption, TableOrJson, open_platform

if TYPE_CHECKING:
    from sre.sandbox.sandbox import Sandbox

app = typer.Typer(
    help="Run the platform on this machine: real servers on 127.0.0.1, three DC tiers.",
    no_args_is_help=True,
)


class ProfileName(StrEnum):
    core = "core"
    full = "full"


DirOption = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        "-d",
        help="Sandbox folder. Default: the one `sre sandbox up` last used, else .sre/sandbox/ beside the "
        "platform file.",
        show_default=False,
        file_okay=False,
    ),
]


def _sandbox(directory: Path | None, platform_file: Path | None) -> Sandbox:
    from sre.platform.loader import resolve_platform_path
    from sre.sandbox.last import resolve
    from sre.sandbox.sandbox import Sandbox

    return Sandbox(resolve(directory, resolve_platform_path(platform_file)))


def _remember(sandbox: Sandbox, platform_file: Path | None) -> None:
    from sre.platform.loader import resolve_platform_path
    from sre.sandbox.last import remember

    problem = remember(resolve_platform_path(platform_file), sandbox.root)
    if problem:
        typer.echo(
            f"cannot remember the sandbox folder ({problem}): give --dir {sandbox.root} to the "
            "other sandbox commands",
            err=True,
        )


@app.command()
def up(
    profile: Annotated[
        ProfileName, typer.Option("--profile", help="core: data stores, gateways, CDN; full adds the rest.")
    ] = ProfileName.core,
    directory: DirOption = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail when a server binary is missing instead of skipping it.")
    ] = False,
    platform_file: PlatformOption = None,
) -> None:
    """Start the servers, health-check them, and write the `sandbox` environment."""
    platform = open_platform(platform_file)
    sandbox = _sandbox(directory, platform_file)
    result = sandbox.up(
        platform, "full" if profile is ProfileName.full else "core", strict=strict, echo=typer.echo
    )
    _remember(sandbox, platform_file)
    state = result.state
    running = [r for r in state.processes.values() if r.pid is not None]
    if result.already_running:
        typer.echo(f"already running in {sandbox.root} ({state.profile} profile): {len(running)} processes")
        typer.echo("  " + ", ".join(sorted(r.name for r in running)))
        return
    for key, (wanted, got) in sorted(result.moved_ports.items()):
        typer.echo(f"port {wanted} for {key} is in use; took {got}")
    skipped = [c.name for c in state.components if c.state == "skipped" and "profile" not in c.reason]
    typer.echo(
        f"sandbox up in {result.seconds:.1f} s: {len(running)} processes in {sandbox.root}"
        + (f"; skipped: {', '.join(skipped)}" if skipped else "")
    )
    typer.echo(
        f"environment `sandbox` written to {state.environment_file}; `sre sandbox status` shows each tier"
    )


@app.command()
def status(
    fmt: Annotated[TableOrJson, typer.Option("--format", "-f", help="Output format.")] = TableOrJson.table,
    directory: DirOption = None,
    platform_file: PlatformOption = None,
) -> None:
    """Every service in every tier: running (with endpoint), stopped, skipped or not in sandbox, and why."""
    from sre.sandbox import report
    from sre.sandbox.supervisor import is_ours

    sandbox = _sandbox(directory, platform_file)
    state, rows, died = sandbox.live_rows()
    processes = {r.name: is_ours(r) for r in state.processes.values()}
    if fmt is TableOrJson.json:
        typer.echo(report.as_json(str(sandbox.root), state, rows, processes))
    elif not rows:
        leftovers = sorted(name for name, alive in processes.items() if alive)
        if leftovers:
            typer.echo(
                f"an unfinished `sre sandbox up` left {', '.join(leftovers)} running in {sandbox.root}; "
                "`sre sandbox down` stops them",
                err=True,
            )
            raise typer.Exit(1)
        typer.echo(f"no sandbox in {sandbox.root}; `sre sandbox up` starts one")
    else:
        from rich.console import Console

        console = Console()
        up_or_down = "up" if state.complete else "down"
        title = f"sandbox {up_or_down}: {sandbox.root} ({state.profile})"
        narrow = console.width < report.WIDE_ENOUGH
        console.print(report.tier_blocks(title, rows) if narrow else report.tier_table(title, rows))
        console.print(report.component_table(state, processes))
    if died:
        typer.echo(f"not running: {', '.join(died)}", err=True)
        raise typer.Exit(1)


@app.command()
def down(
    directory: DirOption = None,
    platform_file: PlatformOption = None,
) -> None:
    """Stop every sandbox process (TERM, wait, KILL); nothing running is fine."""
    from sre.platform.loader import resolve_platform_path
    from sre.sandbox.last import forget

    sandbox = _sandbox(directory, platform_file)
    stopped = sandbox.down()
    forget(resolve_platform_path(platform_file), sandbox.root)
    if stopped:
        typer.echo(f"stopped {len(stopped)} processes: {', '.join(stopped)}")
    else:
        typer.echo(f"nothing running in {sandbox.root}")


@app.command()
def start(
    name: Annotated[str, typer.Argument(help="A sandbox process, e.g. postgres-tertiary.")],
    directory: DirOption = None,
    platform_file: PlatformOption = None,
) -> None:
    """Start one process of a running sandbox (a cold tier, or one stopped for a drill)."""
    _sandbox(directory, platform_file).start_process(name)
    typer.echo(f"{name} started")


@app.command()
def stop(
    name: Annotated[str, typer.Argument(help="A sandbox process, e.g. redis-primary.")],
    directory: DirOption = None,
    platform_file: PlatformOption = None,
) -> None:
    """Stop one process of a running sandbox (for a drill); `sre sandbox start` brings it back."""
    was = _sandbox(directory, platform_file).stop_process(name)
    typer.echo(f"{name} stopped" if was else f"{name} was not running")

"""`sre drill dr`: DR switchovers back and forth under write load, with RTO and RPO measured.

Only typer and the standard library are imported here; the drill loads when the command runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

from sre.cli.options import EnvOption, TableOrJson, command_group, shared_options
from sre.cli.runbook import EngineArgs
from sre.errors import InputError

SANDBOX = "sandbox"

app = command_group("Drills: prove a runbook on the sandbox, measured while it runs.")


@dataclass(frozen=True)
class DrillArgs(EngineArgs):
    env: EnvOption = SANDBOX


@app.command()
@shared_options(DrillArgs)
def dr(
    engine_args: DrillArgs,
    cycles: Annotated[int, typer.Option("--cycles", min=1, max=1000, help="Switchovers, alternating.")] = 2,
    writers: Annotated[int, typer.Option("--writers", min=1, max=999, help="Concurrent writers.")] = 4,
    gateway: Annotated[
        str, typer.Option("--gateway", help="Gateway service the writers write through.")
    ] = "ext_api",
    fmt: Annotated[TableOrJson, typer.Option("--format", "-f")] = TableOrJson.table,
) -> None:
    """Run dr-switchover N times back and forth while K writers write; report RTO, lost rows, step times."""
    import sys

    from sre.cli.runbook import who
    from sre.drill.dr import run_drill
    from sre.probes.loop import run as run_loop

    def progress(cycle: object) -> None:
        from sre.drill.dr import Cycle

        assert isinstance(cycle, Cycle)
        sys.stderr.write(
            f"cycle {cycle.number}: {cycle.from_} -> {cycle.to} {cycle.state or 'error'} "
            f"in {cycle.ended - cycle.started:.1f} s, RTO {cycle.rto_seconds:.2f} s, "
            f"{cycle.rows_lost} lost{'' if cycle.ok else ': ' + cycle.failure}\n"
        )

    if engine_args.env != SANDBOX:
        # It switches the whole platform back and forth and writes rows of its own: not for a real one.
        raise InputError(
            f"--env: sre drill dr runs on the sandbox only (--env {SANDBOX}); got {engine_args.env!r}"
        )
    engine = engine_args.open()
    report = run_loop(
        run_drill(
            engine, cycles=cycles, writers=writers, gateway=gateway, requested_by=who(), progress=progress
        )
    )
    from sre.drill.report import as_json, as_table

    if fmt is TableOrJson.json:
        typer.echo(as_json(report))
    else:
        from rich.console import Console

        Console(width=max(120, Console().width)).print(as_table(report))
    raise typer.Exit(0 if report.ok else 1)

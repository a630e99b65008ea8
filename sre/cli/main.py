"""Entry point of the `sre` console script."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Annotated

import typer

from sre import __version__
from sre.cli import alerts, dashboards, elk, inventory, probe, runbook, sandbox, serve
from sre.errors import SreError

app = typer.Typer(
    name="sre",
    help="Observability and SRE control plane for the platform described in platform.yaml.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(inventory.app, name="inventory")
app.add_typer(dashboards.app, name="dashboards")
app.add_typer(elk.app, name="elk")
app.add_typer(alerts.app, name="alerts")
app.add_typer(probe.app, name="probe")
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(runbook.app, name="runbook")
app.command("serve")(serve.serve)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"sre {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Observability and SRE control plane for the platform described in platform.yaml."""


def main(argv: Sequence[str] | None = None) -> None:
    try:
        app(args=list(argv) if argv is not None else None, prog_name="sre")
    except SreError as exc:
        # Each line of the message is complete on its own (file:line: field: problem).
        sys.stderr.write(f"{exc}\n")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)

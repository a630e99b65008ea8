"""Entry point of the `sre` console script."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Annotated

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

from sre import __version__, clock
from sre.cli import alerts, dashboards, drill, elk, inventory, probe, runbook, sandbox, serve
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
app.add_typer(drill.app, name="drill")
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
    clock.start()
    try:
        # click's own handling prints usage, a hint and the error over four lines; ours is one.
        code = app(args=list(argv) if argv is not None else None, prog_name="sre", standalone_mode=False)
    except NoArgsIsHelpError as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "sre"
        sys.stderr.write(f"{where}: {_one_line(exc.format_message())} (see '{where} --help')\n")
        sys.exit(exc.exit_code)
    except ClickException as exc:
        sys.stderr.write(f"sre: {_one_line(exc.format_message())}\n")
        sys.exit(exc.exit_code)
    except typer.Abort as exc:
        interrupted = isinstance(exc.__context__, KeyboardInterrupt)  # click turns Ctrl-C into Abort
        sys.stderr.write("interrupted\n" if interrupted else "aborted\n")
        sys.exit(130 if interrupted else 1)
    except SreError as exc:
        # Each line of the message is complete on its own (file:line: field: problem).
        sys.stderr.write(f"{exc}\n")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    # As click's standalone mode did: always exit, with typer.Exit's code, which now comes back as a value.
    sys.exit(code if isinstance(code, int) else 0)


def _one_line(message: str) -> str:
    return " ".join(message.split())

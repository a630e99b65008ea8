"""`sre inventory`: check, show and draw the platform model."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sre.cli.options import (
    EnvOption,
    PlatformOption,
    TableOrJson,
    command_group,
    open_environment,
    open_platform,
)
from sre.platform import DEFAULT_ENVIRONMENT

if TYPE_CHECKING:
    from sre.platform.model import EnvironmentBody

app = command_group("Check, show and draw the platform model.")


class GraphFormat(StrEnum):
    mermaid = "mermaid"
    dot = "dot"


@app.command()
def validate(
    file: Annotated[
        Path | None,
        typer.Argument(help="Platform file (default: --platform, $SRE_PLATFORM, ./platform.yaml)."),
    ] = None,
    platform_file: PlatformOption = None,
) -> None:
    """Check the platform file and every environment file it names; exit 2 on the first broken one."""
    from sre.platform.loader import load_environment

    platform = open_platform(file or platform_file)
    notes = []
    for name, env in platform.environments.items():
        if env.file and not (platform.source.parent / env.file).exists():
            notes.append(f"{name} (not written yet: {env.file})")
            continue
        _no_literal_secrets(
            platform.source.parent / env.file if env.file else platform.source,
            name,
            load_environment(platform, name),
        )
        notes.append(name)
    edges = len(platform.edges)
    typer.echo(
        f"{platform.source}: ok: {len(platform.services)} services in {len(platform.zones)} zones, "
        f"{len(platform.tiers)} tiers, {edges} edges; environments: {', '.join(notes)}"
    )


def _no_literal_secrets(source: Path, env_name: str, env: EnvironmentBody) -> None:
    """Secrets go by reference (an endpoint's `secrets:`), never in the URL: validate says so."""
    from sre.errors import InputError
    from sre.scrub import literal_credentials

    for sid, tiers in env.endpoints.items():
        for tid, endpoint in tiers.items():
            for field, url in [
                ("url", endpoint.url),
                *((f"params.{k}", v) for k, v in endpoint.params.items()),
            ]:
                found = literal_credentials(url)
                if found:
                    raise InputError(
                        f"{source}: environment {env_name}: endpoints.{sid}.{tid}.{field} holds {found}; "
                        "give secrets by reference (secrets: {password: {env: NAME}} or {file: PATH})"
                    )


@app.command()
def show(
    fmt: Annotated[TableOrJson, typer.Option("--format", "-f", help="Output format.")] = TableOrJson.table,
    platform_file: PlatformOption = None,
    env: EnvOption = DEFAULT_ENVIRONMENT,
) -> None:
    """List every service by zone, with its role and endpoint in each DC tier."""
    platform, environment = open_environment(platform_file, env)
    if fmt is TableOrJson.json:
        from sre.scrub import patterns

        # The model, not one environment's view of it, so the output loads back unchanged; a
        # user:password@ or a signed query in an inline endpoint is masked, never printed.
        typer.echo(patterns(platform.model_dump_json(by_alias=True, indent=2)))
        return
    from rich.console import Console

    from sre.platform.render import WIDE_ENOUGH, inventory_blocks, inventory_table

    console = Console()
    draw = inventory_table if console.width >= WIDE_ENOUGH else inventory_blocks
    console.print(draw(platform, environment, env, plain=not console.is_terminal))


@app.command()
def graph(
    fmt: Annotated[
        GraphFormat, typer.Option("--format", "-f", help="Diagram language.")
    ] = GraphFormat.mermaid,
    platform_file: PlatformOption = None,
) -> None:
    """Draw the platform: every service in its zone, every edge with its label."""
    from sre.platform import graph as draw

    platform = open_platform(platform_file)
    typer.echo(draw.mermaid(platform) if fmt is GraphFormat.mermaid else draw.dot(platform), nl=False)

"""Options shared by every command, so `--platform` and `--env` mean the same everywhere.

Only typer and the standard library at import time: `sre --help` must stay fast.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sre.platform.model import EnvironmentBody, Platform


def command_group(help_text: str) -> typer.Typer:
    """A sub-command group. Plain help: rendering help with rich alone costs ~0.2 s of start-up."""
    return typer.Typer(
        help=help_text,
        no_args_is_help=True,
        rich_markup_mode=None,
        add_completion=False,
        pretty_exceptions_enable=False,
    )


PlatformOption = Annotated[
    Path | None,
    typer.Option(
        "--platform",
        "-p",
        help="Platform file. Default: $SRE_PLATFORM, else ./platform.yaml.",
        show_default=False,
        dir_okay=False,
    ),
]
EnvOption = Annotated[
    str,
    typer.Option("--env", "-e", envvar="SRE_ENV", help="Environment whose endpoints to use."),
]


class TableOrJson(StrEnum):
    table = "table"
    json = "json"


def open_platform(platform_file: Path | None) -> Platform:
    from sre.platform.loader import load_platform, resolve_platform_path

    return load_platform(resolve_platform_path(platform_file))


def open_environment(platform_file: Path | None, env: str) -> tuple[Platform, EnvironmentBody]:
    from sre.platform.loader import load_environment

    platform = open_platform(platform_file)
    return platform, load_environment(platform, env)

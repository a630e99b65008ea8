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

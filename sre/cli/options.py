"""Options shared by every command, so `--platform` and `--env` mean the same everywhere.

Only typer and the standard library at import time: `sre --help` must stay fast.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import os
import typing
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sre.errors import InputError

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


def seconds(flag: str, low: float, high: float) -> Callable[[float], float]:
    """A typer callback: a number of seconds from `low` to `high` (never inf or nan), else exit 2."""

    def check(value: float) -> float:
        if not low <= value <= high:  # False for nan too
            raise InputError(f"{flag}: expected seconds from {low:g} to {high:g}; got {value}")
        return value

    return check


def checked_output(path: Path | None) -> Path | None:
    """A typer callback for --output: refuse a file that cannot be written before any work is done."""
    if path is None:
        return None
    if path.is_dir():
        raise InputError(f"--output: {path}: is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"--output: {path}: the folder {parent} does not exist")
    if path.exists() and not path.is_file() and str(path) != os.devnull:
        # Writing to a FIFO blocks until someone reads it; a device is not where a report goes.
        raise InputError(f"--output: {path}: not a regular file")
    if not os.access(path if path.exists() else parent, os.W_OK):
        raise InputError(f"--output: {path}: not writable")
    return path


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


def shared_options(group: type[Any]) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """`command(options, ...own)` as a typer command taking the fields of dataclass `group` as options.

    typer has no option groups: commands that share a set of options would each repeat the list.
    """
    hints = typing.get_type_hints(group, include_extras=True)
    keyword = inspect.Parameter.KEYWORD_ONLY
    shared = [
        inspect.Parameter(f.name, keyword, annotation=hints[f.name], default=f.default)
        for f in dataclasses.fields(group)
    ]

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        own = list(inspect.signature(command, eval_str=True).parameters.values())[1:]

        @functools.wraps(command)
        def wrapper(*args: Any, **options: Any) -> None:
            command(group(**{p.name: options.pop(p.name) for p in shared}), *args, **options)

        wrapper.__signature__ = inspect.Signature([*own, *shared])  # type: ignore[attr-defined]
        return wrapper

    return decorate

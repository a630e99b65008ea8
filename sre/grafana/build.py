"""Build every dashboard from the platform model and write one JSON file each, byte-identical per input."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from sre.gcpause import cyclic_gc_paused
from sre.grafana.board import Folder
from sre.grafana.context import Context
from sre.grafana.definitions import load_boards
from sre.grafana.settings import load_settings
from sre.jsontext import parse, pretty
from sre.outdir import OutputFolder
from sre.platform.model import Platform

DEFAULT_DASHBOARDS_DIR = "dashboards"
MARKER = ".sre-dashboards"  # marks an output folder as ours, so stale files may be removed from it


@dataclass(frozen=True)
class BuiltDashboard:
    uid: str
    title: str
    folder: Folder
    service: str | None
    source: Path
    # The file's bytes; the model is read back from them when asked for (lint, diff, publish), so a
    # build that only writes files never makes the dicts.
    rendered: bytes

    @cached_property
    def model(self) -> dict[str, Any]:
        data: dict[str, Any] = parse(self.rendered)
        return data

    @property
    def path(self) -> Path:
        """Where it goes under the output folder: one sub-folder per Grafana folder."""
        return Path(self.folder.uid) / f"{self.uid}.json"


def dashboards_dir(platform: Platform, option: Path | None) -> Path:
    """--dashboards DIR, else the dashboards/ folder beside platform.yaml."""
    return option if option is not None else platform.source.parent / DEFAULT_DASHBOARDS_DIR


def build(
    platform: Platform, directory: Path, tick: Callable[[], None] | None = None
) -> list[BuiltDashboard]:
    """Every dashboard, rendered; `tick` is called after each (a progress bar's)."""
    ctx = Context(platform, load_settings(directory))
    out = []
    with cyclic_gc_paused():
        for defined in load_boards(directory, ctx):
            if tick is not None:
                tick()
            board = defined.board
            out.append(
                BuiltDashboard(
                    board.uid, board.title, board.folder, board.service, defined.source, board.render()
                )
            )
    return sorted(out, key=lambda d: (d.folder.uid, d.uid))


def folders(built: list[BuiltDashboard]) -> list[Folder]:
    unique = {d.folder.uid: d.folder for d in built}
    return [unique[uid] for uid in sorted(unique)]


def render(model: dict[str, Any]) -> bytes:
    """Sorted keys, fixed indentation, a final newline: the same model always gives the same bytes."""
    return pretty(model)


def write(built: list[BuiltDashboard], out: Path, tick: Callable[[], None] | None = None) -> list[Path]:
    """Write every dashboard under `out`; remove the files an earlier build wrote and this one did not."""
    folder = OutputFolder(out, command="sre dashboards build", marker=MARKER).claim()
    for dashboard in built:
        folder.write(dashboard.path, dashboard.rendered)
        if tick is not None:
            tick()
    return folder.finish()

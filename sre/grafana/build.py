"""Build every dashboard from the platform model and write one JSON file each, byte-identical per input."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sre.errors import InputError
from sre.gcpause import cyclic_gc_paused
from sre.grafana.board import Folder
from sre.grafana.context import Context
from sre.grafana.definitions import load_boards
from sre.grafana.settings import load_settings
from sre.jsontext import pretty
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
    model: dict[str, Any]

    @property
    def path(self) -> Path:
        """Where it goes under the output folder: one sub-folder per Grafana folder."""
        return Path(self.folder.uid) / f"{self.uid}.json"


def dashboards_dir(platform: Platform, option: Path | None) -> Path:
    """--dashboards DIR, else the dashboards/ folder beside platform.yaml."""
    return option if option is not None else platform.source.parent / DEFAULT_DASHBOARDS_DIR


def build(platform: Platform, directory: Path) -> list[BuiltDashboard]:
    ctx = Context(platform, load_settings(directory))
    out = []
    with cyclic_gc_paused():
        for defined in load_boards(directory, ctx):
            board = defined.board
            out.append(
                BuiltDashboard(
                    board.uid, board.title, board.folder, board.service, defined.source, board.to_json()
                )
            )
    return sorted(out, key=lambda d: (d.folder.uid, d.uid))


def folders(built: list[BuiltDashboard]) -> list[Folder]:
    unique = {d.folder.uid: d.folder for d in built}
    return [unique[uid] for uid in sorted(unique)]


def render(model: dict[str, Any]) -> bytes:
    """Sorted keys, fixed indentation, a final newline: the same model always gives the same bytes."""
    return pretty(model)


def write(built: list[BuiltDashboard], out: Path) -> list[Path]:
    """Write every dashboard under `out`; remove JSON files an earlier build left and this one did not."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise InputError(f"{out}: folder is not empty and was not written by `sre dashboards build`")
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by `sre dashboards build`; stale files here are removed\n")
    written = []
    for dashboard in built:
        path = out / dashboard.path
        path.parent.mkdir(parents=True, exist_ok=True)
        data = render(dashboard.model)
        # Leave an unchanged file alone, so its modification time says when it last changed.
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
        written.append(path)
    keep = set(written)
    for stale in out.rglob("*.json"):
        if stale not in keep:
            stale.unlink()
    for folder in sorted((p for p in out.iterdir() if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    return written

"""Snapshot files of what the terminal shows: rendered by rich at a fixed width, compared as text.

`SRE_UPDATE_SNAPSHOTS=1 pytest tests/terminal` rewrites them; review the diff before committing.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from rich.console import Console, RenderableType

HERE = Path(__file__).parent / "snapshots"
UPDATE = "SRE_UPDATE_SNAPSHOTS"


def text(renderable: RenderableType, width: int) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, force_terminal=False, legacy_windows=False).print(
        renderable
    )
    return buffer.getvalue()


def check(name: str, rendered: str) -> None:
    """`rendered` equals the stored snapshot `name` (written, not compared, when the update variable is set)."""
    path = HERE / name
    if os.environ.get(UPDATE):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
        return
    assert path.exists(), f"no snapshot {path}; run with {UPDATE}=1 to write it"
    expected = path.read_text(encoding="utf-8")
    assert rendered == expected, f"{path} differs (run with {UPDATE}=1 to accept):\n{rendered}"


def widest(rendered: str) -> int:
    return max((len(line) for line in rendered.splitlines()), default=0)

"""Find the offline checkers kept in shared/ beside the project (../shared from a clone)."""

from __future__ import annotations

import os
from pathlib import Path


def find_beside_project(root: Path, relative: Path, env_var: str) -> Path | None:
    """$env_var if set, else `relative` inside the first folder above `root` that has it, else None."""
    if configured := os.environ.get(env_var):
        return Path(configured)
    for folder in root.resolve().parents:
        if (folder / relative).is_file():
            return folder / relative
    return None

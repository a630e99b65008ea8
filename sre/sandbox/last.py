"""The sandbox folder `sre sandbox up` last used, so `status`, `stop` or `down` without `--dir` find it.

A pointer file `.sre/last-sandbox` beside the platform file holds the folder's absolute path. It is
only followed while that folder is still a sandbox folder; `down` forgets it, and an `up` in the
default folder needs none.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from sre.sandbox.sandbox import MARKER, default_dir

POINTER = Path(".sre/last-sandbox")
MAX_BYTES = 4096  # a path; anything longer is not ours


def pointer_file(platform_file: Path) -> Path:
    return platform_file.parent / POINTER


def recall(platform_file: Path) -> Path | None:
    """The folder `up` last used for this platform file, if it is still a sandbox folder."""
    try:
        with pointer_file(platform_file).open("rb") as handle:
            text = handle.read(MAX_BYTES + 1).decode("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not text or len(text) > MAX_BYTES or "\n" in text:
        return None
    folder = Path(text)
    return folder if folder.is_absolute() and (folder / MARKER).is_file() else None


def resolve(directory: Path | None, platform_file: Path) -> Path:
    """`--dir` when given, else the folder `up` last used, else the default beside the platform file."""
    if directory is not None:
        return directory
    return recall(platform_file) or default_dir(platform_file)


def remember(platform_file: Path, folder: Path) -> str | None:
    """Point at `folder`; the reason when the pointer cannot be written (then `--dir` is needed)."""
    pointer = pointer_file(platform_file)
    target = folder.resolve()
    try:
        if target == default_dir(platform_file).resolve():
            pointer.unlink(missing_ok=True)
            return None
        pointer.parent.mkdir(parents=True, exist_ok=True)
        temporary = pointer.with_name(pointer.name + ".tmp")
        temporary.write_text(f"{target}\n", encoding="utf-8")
        temporary.replace(pointer)  # never half-written
    except OSError as exc:
        return f"{pointer}: {exc.strerror or exc}"
    return None


def forget(platform_file: Path, folder: Path) -> None:
    """Drop the pointer when it names `folder` (after `down`)."""
    if recall(platform_file) == folder.resolve():
        # A stale pointer is harmless: it is only followed to a sandbox folder.
        with contextlib.suppress(OSError):
            pointer_file(platform_file).unlink(missing_ok=True)

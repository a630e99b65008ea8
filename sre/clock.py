"""When the current command began, so a run's `--timeout` covers the whole process, not only its probes.

The first command of a process counts from the import of `sre` (moments after the interpreter
started: what a user waits for includes loading the model and the protocol drivers). A process that
runs several commands (a test calling `main()` again) counts each from its own start.
"""

from __future__ import annotations

import time

import sre

_began = sre.IMPORTED_AT
_first = True


def start() -> None:
    """Called as a command starts; only a second command in the same process moves the mark."""
    global _began, _first  # noqa: PLW0603  (one mark per process, by design)
    if not _first:
        _began = time.monotonic()
    _first = False


def elapsed() -> float:
    return time.monotonic() - _began


def left(budget: float) -> float:
    """What is left of `budget` seconds after what this command has spent."""
    return budget - elapsed()

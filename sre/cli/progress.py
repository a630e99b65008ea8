"""Progress on long work: a rich bar on stderr for a person at a terminal, nothing otherwise.

    with progress("building dashboards") as tick:
        build(platform, folder, tick=tick)

`tick(total=N)` sets the total once known; `tick()` counts one item. The bar appears
only when stderr is a terminal (never in CI logs or piped output) and is gone
before the command prints its result.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Tick(Protocol):
    def __call__(self, *, total: int | None = None) -> None: ...


def _quiet(*, total: int | None = None) -> None:
    return None


@contextmanager
def progress(label: str) -> Iterator[Tick]:
    if not sys.stderr.isatty():
        yield _quiet
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def tick(*, total: int | None = None) -> None:
            if total is not None:
                bar.update(task, total=total)
            else:
                bar.advance(task)

        yield tick

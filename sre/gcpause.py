"""Pause Python's cyclic garbage collector around a batch build.

A build of hundreds of dashboards or templates allocates millions of small, acyclic objects
(builders, models, dicts) that reference counting frees; the cyclic collector would still
walk the growing heap again and again, which cost about 40% of a 500-service build.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()

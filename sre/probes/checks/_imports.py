"""Import a protocol driver without the optional extras it would pull in.

Some drivers import heavy optional packages at import time for features probes never
use (nats-py: aiohttp for WebSockets; redis-py: the OpenTelemetry SDK for its own
metrics). A sweep imports every driver before its clock starts, so these extras are
pure start-up cost of `sre probe --all`: about half a second on this project's CI machine.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def without(*modules: str) -> Iterator[None]:
    """While the block imports, `import <module>` fails for each module not yet imported.

    Drivers treat that as "extra not installed". Modules already imported are left alone,
    and nothing stays hidden afterwards, so other code can still import them.
    """
    hidden = [name for name in modules if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # the import system's "not importable"
    try:
        yield
    finally:
        for name in hidden:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]

"""The event loop probes run on: uvloop where it is installed, else asyncio's own.

uvloop's TLS transport is compiled; on 500 HTTPS probes it cut the prober's CPU
per probe by about a fifth (bench/bench_probe_https.py), which is the probe rate on a
small, shared machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)

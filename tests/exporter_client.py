"""An Exporter served by its own HTTP server on a free loopback port, and an aiohttp client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from sre.probes.exporter import Exporter


@asynccontextmanager
async def serving(exporter: Exporter) -> AsyncIterator[aiohttp.ClientSession]:
    """`client.get("/probe", params=...)` reaches the exporter as Prometheus would."""
    server = await exporter.start("127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}") as client:
            yield client
    finally:
        server.close()
        await server.wait_closed()

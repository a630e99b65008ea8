"""The event loop probes run on: uvloop where it is installed, else asyncio's own.

uvloop's TLS transport is compiled; on 500 HTTPS probes it cut the prober's CPU
per probe by about a fifth (bench/bench_probe_https.py), which is the probe rate on a
small, shared machine.

But uvloop resolves names in libuv's thread pool: four threads, and a lookup
there cannot be abandoned; the loop's close and the process's exit wait for
it (10 s for a name server that drops queries). So this loop resolves every
name in the default executor instead, daemon threads nobody waits for
(threads.py): `getaddrinfo`, and `create_connection` to a host name (what
asyncio.open_connection, redis-py, nats-py and aiokafka call), which connects
to the addresses found, in order.
"""

from __future__ import annotations

import asyncio
import functools
import socket
from collections.abc import Coroutine
from typing import Any, TypeVar

from sre.probes.threads import daemon_executor

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro, loop_factory=new_loop)


def new_loop() -> Any:
    import uvloop

    class Loop(uvloop.Loop):
        async def getaddrinfo(
            self, host: Any, port: Any, *, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
        ) -> Any:
            lookup = functools.partial(socket.getaddrinfo, host, port, family, type, proto, flags)
            return await self.run_in_executor(None, lookup)

        async def create_connection(
            self, protocol_factory: Any, host: Any = None, port: Any = None, **kw: Any
        ) -> Any:
            if host is None or kw.get("sock") is not None or _is_ip(host):
                return await super().create_connection(protocol_factory, host, port, **kw)
            family, flags = kw.pop("family", 0), kw.pop("flags", 0)
            found = await self.getaddrinfo(
                host, port, family=family, type=socket.SOCK_STREAM, proto=kw.get("proto", 0), flags=flags
            )
            if kw.get("ssl") and kw.get("server_hostname") is None:
                kw["server_hostname"] = host  # verify the certificate against the name, not the address
            error: OSError | None = None
            for *_, address in found:
                try:
                    return await super().create_connection(protocol_factory, address[0], port, **kw)
                except OSError as exc:
                    error = exc
            raise error or OSError(f"getaddrinfo({host!r}) returned no addresses")

    loop = Loop()
    daemon_executor(loop, 64)
    return loop


def _is_ip(host: str) -> bool:
    """inet_pton, not ipaddress: this runs for every connection, and is 20 times faster."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except (OSError, TypeError, ValueError):
            continue
        return True
    return False

"""Fixtures of the probe tests: real local servers (see probe_servers.py) and target builders."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from platforms import write_platform
from probe_servers import (
    DnsProtocol,
    LoopThread,
    Pki,
    closed_port,
    garbage_handler,
    http_handler,
    make_pki,
    server_context,
    silent_handler,
    start_grpc_health,
)

from sre.platform.model import Endpoint
from sre.probes.context import RunContext
from sre.probes.model import Expectation, Result, Target
from sre.probes.runner import probe

TLS12, TLS13 = ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3


@dataclass(frozen=True)
class Servers:
    pki: Pki
    http: int
    https13: int
    https12: int
    expired: int
    expiring: int
    other_host: int
    silent: int
    garbage: int
    closed: int
    dns: int
    grpc: int


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def servers(pki: Pki) -> Iterator[Servers]:
    loop = LoopThread()
    grpc_server, grpc_port = start_grpc_health()
    try:
        yield Servers(
            pki=pki,
            http=loop.serve_tcp(http_handler),
            https13=loop.serve_tcp(http_handler, server_context(pki.good, minimum=TLS13, maximum=TLS13)),
            https12=loop.serve_tcp(http_handler, server_context(pki.good, minimum=TLS12, maximum=TLS12)),
            expired=loop.serve_tcp(http_handler, server_context(pki.expired, minimum=TLS12, maximum=TLS13)),
            expiring=loop.serve_tcp(http_handler, server_context(pki.expiring, minimum=TLS13, maximum=TLS13)),
            other_host=loop.serve_tcp(
                http_handler, server_context(pki.other_host, minimum=TLS13, maximum=TLS13)
            ),
            silent=loop.serve_tcp(silent_handler),
            garbage=loop.serve_tcp(garbage_handler),
            closed=closed_port(),
            dns=loop.serve_udp(DnsProtocol),
            grpc=grpc_port,
        )
    finally:
        grpc_server.stop(grace=None)
        loop.stop()


@pytest.fixture
def platform_file(tmp_path: Path, servers: Servers) -> Path:
    return write_platform(
        tmp_path,
        web=servers.https13,
        web12=servers.https12,
        closed=servers.closed,
        grpc=servers.grpc,
        ca=servers.pki.ca_file,
    )


def make_target(
    url: str,
    check: str = "https",
    *,
    ca_file: Path | None = None,
    standby: str = "active",
    timeout: float = 3.0,
    **fields: Any,
) -> Target:
    return Target(
        service=fields.pop("service", "svc"),
        check=check,
        zone="dmz",
        tier=fields.pop("tier", "primary"),
        dc="fra1",
        endpoint=Endpoint(url=url, ca_file=str(ca_file) if ca_file else None),
        expect=fields.pop("expect", None) or Expectation(standby=standby),  # type: ignore[arg-type]
        timeout=timeout,
        **fields,
    )


def run_one(target: Target, run: RunContext | None = None, budget: float = 10.0) -> Result:
    async def go() -> Result:
        deadline = asyncio.get_running_loop().time() + budget
        return await probe(target, run or RunContext(vantage="test"), deadline)

    return asyncio.run(go())

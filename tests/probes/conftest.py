"""Fixtures of the probe tests: real local servers (see probe_servers.py); helpers are in probe_support.py."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from chain_servers import ChainServers, start_chain_servers
from nginx_server import Nginx, run_nginx
from platforms import write_platform
from probe_servers import (
    DnsProtocol,
    LoopThread,
    Pki,
    closed_port,
    dns_tcp_handler,
    garbage_handler,
    http_handler,
    make_pki,
    server_context,
    silent_handler,
    start_grpc_health,
)
from probe_support import Servers
from requirements import need_binary

TLS12, TLS13 = ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3


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
            dns_tcp=loop.serve_tcp(dns_tcp_handler),
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


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainServers]:
    """TLS servers whose CA expires before their leaf, with and without the CA sent (chain_servers.py)."""
    loop = LoopThread()
    try:
        yield start_chain_servers(loop, tmp_path_factory.mktemp("chain"))
    finally:
        loop.stop()


@pytest.fixture(scope="module")
def nginx_h2(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    """nginx with HTTP/2 on its TLS port (h2 by ALPN, as a real web server offers it)."""
    with run_nginx(need_binary("nginx"), tmp_path_factory.mktemp("nginx"), pki, http2=True) as web:
        yield web

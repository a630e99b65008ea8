"""TLS servers whose certificate chain expires before their leaf: a 60-day leaf under a CA that expires in
5 days, sent with the CA (what a server with an intermediate does) or alone (the CA only in the trust store)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from probe_servers import LoopThread, http_handler, server_context

from sre.sandbox.tls import issue, new_ca

PEM = serialization.Encoding.PEM
LEAF_DAYS, CA_DAYS = 60, 5


@dataclass(frozen=True)
class ChainServers:
    ca_file: Path
    with_ca: int  # sends leaf + CA
    leaf_only: int  # sends the leaf; the CA is only in the client's trust store
    ca_not_after: int
    leaf_not_after: int


def start_chain_servers(loop: LoopThread, folder: Path) -> ChainServers:
    import ssl

    ca, ca_key = new_ca("short-lived CA", days=CA_DAYS)
    now = dt.datetime.now(dt.UTC)
    leaf, key = issue(ca, ca_key, not_after=now + dt.timedelta(days=LEAF_DAYS))
    ca_file = folder / "short-ca.pem"
    ca_file.write_bytes(ca.public_bytes(PEM))
    key_file = folder / "chain-leaf.key"
    key_file.write_bytes(
        key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    both, alone = folder / "chain-both.pem", folder / "chain-leaf.pem"
    both.write_bytes(leaf.public_bytes(PEM) + ca.public_bytes(PEM))
    alone.write_bytes(leaf.public_bytes(PEM))
    tls13 = ssl.TLSVersion.TLSv1_3
    return ChainServers(
        ca_file=ca_file,
        with_ca=loop.serve_tcp(http_handler, server_context((both, key_file), minimum=tls13, maximum=tls13)),
        leaf_only=loop.serve_tcp(
            http_handler, server_context((alone, key_file), minimum=tls13, maximum=tls13)
        ),
        ca_not_after=int(ca.not_valid_after_utc.timestamp()),
        leaf_not_after=int(leaf.not_valid_after_utc.timestamp()),
    )

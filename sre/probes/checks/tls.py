"""TLS: a handshake on a fresh connection, recording version, cipher and the leaf certificate.

Judging (the version policy, expiry) is the judge's; this check only fails when
the handshake itself fails, after reporting what certificate the server showed.
"""

from __future__ import annotations

from sre.probes import net
from sre.probes.context import ProbeContext
from sre.probes.model import Target


async def check_tls(target: Target, ctx: ProbeContext) -> None:
    where, _ = net.address(target.endpoint.url, default_port=443)
    _, writer, ip = await net.connect(ctx, where)
    try:
        await net.start_tls(ctx, writer, where, ip, target.endpoint.server_name)
    finally:
        net.close(writer)

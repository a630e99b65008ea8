"""DNS: one query to the endpoint's server (not the OS resolver), judged by rcode and answers.

The endpoint is `dns://SERVER[:PORT]/NAME?type=A`; the name and type may come
from the settings instead. Facts: dns_rcode, dns_answers, dns_ttl.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from sre.probes import net
from sre.probes.context import ProbeContext
from sre.probes.model import ProbeError, Reason, Target
from sre.probes.settings import DnsSettings

if TYPE_CHECKING:
    import dns.message


async def ask(
    ctx: ProbeContext, query: dns.message.Message, ip: str, where: net.Address, transport: str
) -> dns.message.Message:
    """One query to the server at `where` (reached at `ip`) over udp or tcp: the socket made (and, over
    tcp, connected) timed as the connect phase, the question and its answer as the query phase."""
    import dns.asyncbackend
    import dns.asyncquery
    import dns.exception

    backend = dns.asyncbackend.get_default_backend()
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    try:
        if transport == "tcp":
            with ctx.phase("connect"):
                stream = await _socket(backend, family, socket.SOCK_STREAM, (ip, where.port))
            async with stream:
                with ctx.phase("query"):
                    return await dns.asyncquery.tcp(query, ip, port=where.port, sock=stream)
        with ctx.phase("connect"):  # as dnspython makes it: unconnected, each answer checked for its sender
            datagram = await _socket(backend, family, socket.SOCK_DGRAM, None)
        async with datagram:
            with ctx.phase("query"):
                return await dns.asyncquery.udp(query, ip, port=where.port, sock=datagram)
    except ConnectionRefusedError:
        raise ProbeError(Reason.connect_refused, f"{where}: connection refused") from None
    except dns.exception.DNSException as exc:
        raise ProbeError(Reason.protocol, f"{where}: not a DNS answer: {exc}") from None


async def _socket(backend: Any, family: int, kind: int, destination: tuple[str, int] | None) -> Any:
    """dnspython's socket for `kind` (its Backend.make_socket is untyped)."""
    return await backend.make_socket(family, kind, 0, None, destination)


async def check_dns(target: Target, ctx: ProbeContext) -> None:
    import dns.asyncquery
    import dns.exception
    import dns.message
    import dns.rcode

    settings = DnsSettings.model_validate(target.settings)
    where, url = net.address(target.endpoint.url, default_port=53)
    name = settings.name or url.path.strip("/")
    if not name:
        why = f"{target.endpoint.url}: no name to ask for (the URL path or settings.name)"
        raise ProbeError(Reason.unsupported, why)
    rdtype = parse_qs(url.query).get("type", [settings.type])[0].upper()
    try:
        query = dns.message.make_query(name, rdtype)
    except (dns.exception.DNSException, ValueError) as exc:
        raise ProbeError(Reason.unsupported, f"cannot ask for {name} {rdtype}: {exc}") from None
    ip = await net.resolve(ctx, where)
    answer = await ask(ctx, query, ip, where, settings.transport)
    rcode = dns.rcode.to_text(answer.rcode())
    records = [rd.to_text() for rrset in answer.answer for rd in rrset]
    ctx.fact("dns_rcode", rcode)
    ctx.fact("dns_answers", records)
    if answer.answer:
        ctx.fact("dns_ttl", min(rrset.ttl for rrset in answer.answer))
    if rcode != settings.rcode:
        raise ProbeError(Reason.dns, f"{where}: {name} {rdtype} answered {rcode}; expected {settings.rcode}")
    if settings.require_answer and settings.rcode == "NOERROR" and not records:
        raise ProbeError(Reason.dns, f"{where}: {name} {rdtype} has no answer records")

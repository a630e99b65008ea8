"""DNS: one query to the endpoint's server (not the OS resolver), judged by rcode and answers.

The endpoint is `dns://SERVER[:PORT]/NAME?type=A`; the name and type may come
from the settings instead. Facts: dns_rcode, dns_answers, dns_ttl.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
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
    """One query to the server at `where` (reached at `ip`) over udp or tcp, timed as the query phase."""
    import dns.asyncquery
    import dns.exception

    with ctx.phase("query"):
        try:
            if transport == "tcp":
                return await dns.asyncquery.tcp(query, ip, port=where.port)
            return await dns.asyncquery.udp(query, ip, port=where.port)
        except ConnectionRefusedError:
            raise ProbeError(Reason.connect_refused, f"{where}: connection refused") from None
        except dns.exception.DNSException as exc:
            raise ProbeError(Reason.protocol, f"{where}: not a DNS answer: {exc}") from None


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

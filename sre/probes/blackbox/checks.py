"""The checks behind blackbox modules: sre's http, tcp and grpc checks with blackbox's semantics around them.

Each is registered under its own name (`blackbox_http`...) and reads its module
from `target.settings["module"]`: blackbox's address-family preference, its
redirects (followed by default and counted), its regular expressions and SSL
rules, its DNS answer validation. The connection, TLS and HTTP work is the
existing checks'; only what blackbox adds is here.
"""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import Callable
from dataclasses import replace
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from sre.probes import net
from sre.probes.checks import register
from sre.probes.checks.dns import ask
from sre.probes.checks.grpc import check_grpc
from sre.probes.checks.http import check_http
from sre.probes.context import ProbeContext
from sre.probes.model import ProbeError, Reason, Target
from sre.probes.regex import compile_regex
from sre.safefile import FileProblem, read_secret
from sre.scrub import Scrubber

from . import hosts
from .config import HttpProbe, Module

MAX_REDIRECTS = 10  # Go's net/http client stops after ten, as blackbox does
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_READ = 65536
ANY_STATUS = ["1xx", "2xx", "3xx", "4xx", "5xx"]  # judged here, after the redirects
# What the last hop answered, not an earlier one: blackbox reports the final response (0 when none came).
HOP_FACTS = ("tls_version", "tls_cipher", "cert_not_after", "http_status", "http_last_modified",
             "http_content_length", "http_declared_length")  # fmt: skip
Allowed = Callable[[str], str | None]  # a redirect's URL -> why it may not be followed, or None


def _module(target: Target) -> Module:
    module = target.settings["module"]
    assert isinstance(module, Module)
    return module


async def resolve(ctx: ProbeContext, host: str, port: int, prefer: str) -> str:
    """blackbox's resolution: the preferred family's first address, else any (ip_protocol_fallback)."""
    loop = asyncio.get_running_loop()
    with ctx.phase("resolve"):  # an IP literal is timed too: blackbox's takes microseconds, never 0
        found = [host] if net._is_ip(host) else hosts.SYSTEM.lookup(host)  # the hosts file first, as Go's
        try:
            if not found:
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
                found = [str(i[4][0]) for i in infos]
        except socket.gaierror as exc:
            raise ProbeError(Reason.dns, f"cannot resolve {host}: {exc.strerror}") from None
    six = prefer == "ip6"
    ip = next((a for a in found if (":" in a) == six), found[0])
    ctx.fact("ip", ip)
    return ip


def _with_ip(url: str, ip: str) -> str:
    parts = urlsplit(url)
    host = f"[{ip}]" if ":" in ip else ip
    port = f":{parts.port}" if parts.port else ""
    return parts._replace(netloc=f"{host}{port}").geturl()


def http_headers(probe: HttpProbe) -> dict[str, str]:
    """The module's headers with its fixed authorization (bearer_token_file is read per probe)."""
    headers = dict(probe.headers)
    if probe.basic_auth is not None:
        pair = f"{probe.basic_auth.username}:{probe.basic_auth.password or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    if probe.bearer_token:
        headers["Authorization"] = f"Bearer {probe.bearer_token}"
    return headers


def _bearer_file(probe: HttpProbe, scrubber: Scrubber) -> dict[str, str]:
    """The Authorization header from bearer_token_file, read now: blackbox re-reads it for each probe."""
    if not probe.bearer_token_file:
        return {}
    try:
        token = read_secret(Path(probe.bearer_token_file), what="bearer_token_file")
    except FileProblem as exc:
        raise ProbeError(Reason.auth, str(exc)) from None
    scrubber.add(token)  # a no-op for a token already known
    return {"Authorization": f"Bearer {token}"}


def _last_modified(ctx: ProbeContext) -> None:
    value = ctx.observation.headers.get("last-modified")
    if not value:
        return
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return  # blackbox leaves the series out when the header does not parse
    if when.tzinfo is not None:
        ctx.fact("http_last_modified", int(when.timestamp()))


async def check_blackbox_http(target: Target, ctx: ProbeContext) -> None:
    module = _module(target)
    probe = module.http
    allowed: Allowed = target.settings["allow"]
    auth = _bearer_file(probe, target.settings["scrubber"])
    url = target.endpoint.url
    method, body = probe.method, probe.body
    redirects = 0
    ctx.fact("http_redirects", 0)
    while True:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        ip = await resolve(ctx, parts.hostname or "", port, probe.preferred_ip_protocol)
        headers = {"Host": parts.netloc, **target.settings["headers"], **auth}
        settings = {"method": method, "headers": headers, "body": body, "valid_status_codes": ANY_STATUS}
        server_name = probe.tls_config.server_name or parts.hostname
        hop = replace(
            target,
            settings=settings,
            endpoint=target.endpoint.model_copy(
                update={"url": _with_ip(url, ip), "server_name": server_name}
            ),
        )
        for name in HOP_FACTS:
            ctx.observation.facts.pop(name, None)
        before = dict(ctx.observation.phases)
        try:
            await check_http(hop, ctx)
        finally:
            _traced_phases(ctx, before)
        ctx.fact("http_ssl", parts.scheme == "https")
        _last_modified(ctx)
        status = ctx.observation.facts.get("http_status")
        location = ctx.observation.headers.get("location")
        if not (probe.follow_redirects and status in REDIRECTS and location):
            if status in REDIRECTS and location:
                ctx.fact("http_redirects", redirects + 1)  # blackbox counts the one it did not follow
            break
        if redirects >= MAX_REDIRECTS:
            raise ProbeError(Reason.protocol, f"stopped after {MAX_REDIRECTS} redirects")
        url = urljoin(url, location)
        refused = allowed(url)
        if refused is not None:
            raise ProbeError(Reason.assertion, f"redirect to {url!r} not followed: {refused}")
        redirects += 1
        ctx.fact("http_redirects", redirects)
        if status in (301, 302, 303) and method not in ("GET", "HEAD"):
            method, body = "GET", None  # as browsers and Go's client do
    _judge_http(probe, ctx, url)


def _traced_phases(ctx: ProbeContext, before: dict[str, float]) -> None:
    """Keep of this hop's phases what blackbox's trace adds: connect and tls once the connection and
    its handshake are had, processing once the answer's head came, transfer once its body was read.
    A refused connection, a failed handshake or a silent server adds none of the later phases."""
    phases, facts = ctx.observation.phases, ctx.observation.facts
    connected = phases.get("processing") != before.get("processing")  # the request went out
    for name, kept in (
        ("connect", connected),
        ("tls", connected),
        ("processing", "http_status" in facts),
        ("transfer", "http_content_length" in facts),
    ):
        if not kept:
            if name in before:
                phases[name] = before[name]
            else:
                phases.pop(name, None)


def _judge_http(probe: HttpProbe, ctx: ProbeContext, url: str) -> None:
    facts = ctx.observation.facts
    status = facts.get("http_status")
    assert isinstance(status, int)
    valid = 200 <= status < 300 if not probe.valid_status_codes else status in probe.valid_status_codes
    if not valid:
        expected = ", ".join(map(str, probe.valid_status_codes)) or "2xx"
        raise ProbeError(Reason.status_code, f"HTTP {status}; expected {expected}")
    version = f"HTTP/{facts.get('http_version')}"
    wanted = probe.valid_http_versions
    if wanted and version not in wanted:
        raise ProbeError(Reason.protocol, f"{version} answered; expected {', '.join(wanted)}")
    tls = urlsplit(url).scheme == "https"
    if probe.fail_if_ssl and tls:
        raise ProbeError(Reason.assertion, "the final request was over TLS (fail_if_ssl)")
    if probe.fail_if_not_ssl and not tls:
        raise ProbeError(Reason.assertion, "the final request was not over TLS (fail_if_not_ssl)")
    text = (ctx.observation.body or b"").decode("utf-8", errors="replace")
    for pattern in probe.fail_if_body_matches_regexp:
        if compile_regex(pattern).search(text):
            _regex_failed(ctx, f"the body matched /{pattern}/")
    for pattern in probe.fail_if_body_not_matches_regexp:
        if not compile_regex(pattern).search(text):
            _regex_failed(ctx, f"the body did not match /{pattern}/")
    headers = ctx.observation.headers
    for rule in probe.fail_if_header_matches:
        value = headers.get(rule.header.lower())
        if value is None and not rule.allow_missing:
            _regex_failed(ctx, f"no {rule.header} header")
        if value is not None and compile_regex(rule.regexp).search(value):
            _regex_failed(ctx, f"header {rule.header} matched /{rule.regexp}/")
    for rule in probe.fail_if_header_not_matches:
        value = headers.get(rule.header.lower())
        if value is None and not rule.allow_missing:
            _regex_failed(ctx, f"no {rule.header} header")
        if value is not None and not compile_regex(rule.regexp).search(value):
            _regex_failed(ctx, f"header {rule.header} did not match /{rule.regexp}/")
    ctx.fact("failed_due_to_regex", False)


def _regex_failed(ctx: ProbeContext, why: str) -> None:
    ctx.fact("failed_due_to_regex", True)
    raise ProbeError(Reason.assertion, why)


async def check_blackbox_tcp(target: Target, ctx: ProbeContext) -> None:
    probe = _module(target).tcp
    where, _ = net.address(target.endpoint.url)
    ip = await resolve(ctx, where.host, where.port, probe.preferred_ip_protocol)
    reader, writer, _ = await net.connect(ctx, net.Address(ip, where.port))
    try:
        if probe.tls:
            await net.start_tls(ctx, writer, where, ip, probe.tls_config.server_name or where.host)
        seen = b""
        for step in probe.query_response:
            if step.expect is not None:
                pattern = compile_regex(step.expect)
                with ctx.phase("expect"):
                    while not pattern.search(seen.decode("latin-1")) and len(seen) < MAX_READ:
                        data = await reader.read(MAX_READ - len(seen))
                        if not data:
                            break
                        seen += data
                found = pattern.search(seen.decode("latin-1"))
                if not found:
                    _regex_failed(ctx, f"{where}: no answer matched /{step.expect}/")
                seen = seen[len(seen.decode("latin-1")[: found.end()].encode("latin-1")) :]
            if step.send is not None:
                writer.write(step.send.encode() + b"\n")
                await writer.drain()
        ctx.fact("failed_due_to_regex", False)
    finally:
        net.close(writer)


async def check_blackbox_grpc(target: Target, ctx: ProbeContext) -> None:
    probe = _module(target).grpc
    where, _ = net.address(target.endpoint.url)
    ip = await resolve(ctx, where.host, where.port, probe.preferred_ip_protocol)
    ctx.fact("grpc_tls", probe.tls)
    endpoint = target.endpoint.model_copy(
        update={
            "url": str(net.Address(ip, where.port)),
            "server_name": probe.tls_config.server_name or (None if ip == where.host else where.host),
        }
    )
    await check_grpc(
        replace(target, settings={"service": probe.service, "tls": probe.tls}, endpoint=endpoint), ctx
    )


async def check_blackbox_dns(target: Target, ctx: ProbeContext) -> None:
    import dns.asyncquery
    import dns.exception
    import dns.message
    import dns.rcode
    import dns.rdatatype

    probe = _module(target).dns
    assert probe is not None
    where, _ = net.address(target.endpoint.url, default_port=53)
    ip = await resolve(ctx, where.host, where.port, probe.preferred_ip_protocol)
    query = dns.message.make_query(probe.query_name, probe.query_type)
    answer = await ask(ctx, query, ip, where, probe.transport_protocol)
    ctx.fact("dns_query_succeeded", True)
    rcode = dns.rcode.to_text(answer.rcode())
    ctx.fact("dns_rcode", rcode)
    # blackbox matches its regular expressions on each record as text: "name TTL IN TYPE data".
    rows: dict[str, list[str]] = {
        "answer": [_rr_text(rrset, rd) for rrset in answer.answer for rd in rrset],
        "authority": [_rr_text(rrset, rd) for rrset in answer.authority for rd in rrset],
        "additional": [_rr_text(rrset, rd) for rrset in answer.additional for rd in rrset],
    }
    ctx.fact("dns_answers", rows["answer"])
    ctx.fact("dns_counts", {k: len(v) for k, v in rows.items()})
    serial = next(
        (rd.serial for rrset in answer.answer for rd in rrset if rd.rdtype == dns.rdatatype.SOA), None
    )
    if serial is not None:
        ctx.fact("dns_serial", int(serial))
    if rcode not in probe.valid_rcodes:
        raise ProbeError(Reason.dns, f"{where}: rcode {rcode}; expected {', '.join(probe.valid_rcodes)}")
    _validate_rrs(ctx, rows["answer"], probe.validate_answer_rrs)
    ctx.fact("failed_due_to_regex", False)


def _rr_text(rrset: Any, rd: Any) -> str:
    import dns.rdatatype

    kind = dns.rdatatype.to_text(rrset.rdtype)
    return f"{rrset.name}\t{rrset.ttl}\tIN\t{kind}\t{rd.to_text()}"


def _validate_rrs(ctx: ProbeContext, records: list[str], rules: Any) -> None:
    for pattern in rules.fail_if_matches_regexp:
        if any(compile_regex(pattern).search(r) for r in records):
            _regex_failed(ctx, f"an answer record matched /{pattern}/")
    for pattern in rules.fail_if_all_match_regexp:
        if records and all(compile_regex(pattern).search(r) for r in records):
            _regex_failed(ctx, f"every answer record matched /{pattern}/")
    for pattern in rules.fail_if_not_matches_regexp:
        if not all(compile_regex(pattern).search(r) for r in records):
            _regex_failed(ctx, f"an answer record did not match /{pattern}/")
    for pattern in rules.fail_if_none_matches_regexp:
        if not any(compile_regex(pattern).search(r) for r in records):
            _regex_failed(ctx, f"no answer record matched /{pattern}/")


CHECKS = {
    "http": ("blackbox_http", check_blackbox_http),
    "tcp": ("blackbox_tcp", check_blackbox_tcp),
    "dns": ("blackbox_dns", check_blackbox_dns),
    "grpc": ("blackbox_grpc", check_blackbox_grpc),
}
for _name, _check in CHECKS.values():
    register(_name, _check)

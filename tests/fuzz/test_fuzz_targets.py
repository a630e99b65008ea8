"""Fuzzing the target parser and the exporter's allow-list (sre/probes/targets.py).

Properties: any text is either refused with a TargetError or parsed; a parsed target reads back
the same host and port through every URL parser a check uses (urllib, yarl, the resolver's
IPv4 parser); and a target a pattern accepts is, read back independently, inside that pattern.
"""

from __future__ import annotations

import contextlib
import fnmatch
import ipaddress
import socket
from urllib.parse import urlsplit

from hypothesis import assume, given
from hypothesis import strategies as st
from yarl import URL

from sre.probes import net
from sre.probes.targets import SCHEMES, AllowPattern, ParsedTarget, TargetError, parse_target

PATTERNS = [
    AllowPattern.parse(p)
    for p in (
        "127.0.0.1:*",
        "localhost:*",
        "10.0.0.0/8:*",
        "[::1]:*",
        "[fd00::/8]:80",
        "*.svc.local:*",
        "https://api.example:443",
        "127.0.0.*:8[0-9]",
    )
]

schemes = st.sampled_from(
    [
        "",
        "http://",
        "https://",
        "HTTPS://",
        "tcp://",
        "tls://",
        "file://",
        "ftp://",
        "postgresql://",
        "redis://",
        "mongodb+srv://",
        "nats://",
        "grpc://",
        "dns://",
        "kafka://",
        "s3://",
        "unix://",
    ]
)
userinfo = st.one_of(
    st.just(""),
    st.text(alphabet="a1:@\\%/ ", max_size=6).map(lambda s: s + "@"),
)
hosts = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
    st.sampled_from(
        [
            "localhost",
            "LOCALHOST",
            "127.1",
            "0x7f.0.0.1",
            "2130706433",
            "0177.0.0.1",
            "127.0.0.1.",
            "[::ffff:127.0.0.1]",
            "127.0.0.1%2e",
            "%31%32%37.0.0.1",
            "ｌocalhost",
            "127。0。0。1",
            "[fe80::1%25eth0]",
            "[::1",
            "api.svc.local",
            "a.b.svc.local",
            "api.example",
            "xn--bcher-kva.example",
            "10.1.2.3",
            "127.0.0.1.evil.example",
            "",
        ]
    ),
    st.from_regex(r"\A[a-z0-9_-]{1,8}(\.[a-z0-9_-]{1,8}){0,3}\Z"),
    st.text(max_size=12),
)
ports = st.one_of(
    st.just(""),
    st.integers(-5, 70_000).map(lambda p: f":{p}"),
    st.sampled_from([":", ":+80", ": 80", ":٨٠", ":0x50", ":80:80", ":080"]),
    st.text(max_size=4).map(lambda s: ":" + s),
)
tails = st.one_of(st.just(""), st.text(alphabet="/?#@\\:%&=ab.;", max_size=12), st.text(max_size=8))
targets = st.builds(lambda *parts: "".join(parts), schemes, userinfo, hosts, ports, tails)
kinds = st.sampled_from(sorted(SCHEMES))


@st.composite
def plausible(draw: st.DrawFn) -> tuple[str, str]:
    """A kind and a target that is often accepted: its scheme fits, the wild parts come less often."""
    kind = draw(kinds)
    scheme = draw(st.one_of(st.just(""), st.sampled_from(SCHEMES[kind]).map(lambda s: s + "://"), schemes))
    user = draw(st.one_of(st.just(""), st.just(""), st.just(""), userinfo))
    port = draw(st.one_of(st.integers(1, 65535).map(lambda p: f":{p}"), ports))
    tail = draw(st.one_of(st.just(""), st.from_regex(r"\A(/[a-z0-9._-]{0,6}){0,2}\Z"), tails))
    return kind, f"{scheme}{user}{draw(hosts)}{port}{tail}"


def _parse(text: str, kind: str, remote: bool) -> ParsedTarget | str | None:
    try:
        return parse_target(text, kind, remote=remote)
    except TargetError:
        return None


@given(st.one_of(targets, st.text(max_size=40)), kinds, st.booleans())
def test_any_text_is_refused_or_parsed_never_raised(text: str, kind: str, remote: bool) -> None:
    parsed = _parse(text, kind, remote)
    if remote:
        assert not isinstance(parsed, str)  # a local scheme never comes back from the exporter's grammar


@given(plausible())
def test_every_parser_reads_back_the_host_and_port_that_were_checked(case: tuple[str, str]) -> None:
    kind, text = case
    parsed = _parse(text, kind, True)
    assume(isinstance(parsed, ParsedTarget))
    assert isinstance(parsed, ParsedTarget)
    url = parsed.url
    parts = urlsplit(url)
    assert parts.username is None and parts.password is None
    assert (parts.hostname, parts.port) == (parsed.host, parsed.port)
    where, _ = net.address(url)
    assert (where.host, where.port) == (parsed.host, parsed.port)
    yurl = URL(url)
    assert (yurl.raw_host, yurl.port) == (parsed.host, parsed.port)  # .host would be the unicode form
    # What the C library's resolver would read as an IPv4 address is the dotted quad we checked.
    try:
        packed = socket.inet_aton(parsed.host)
    except OSError:
        pass
    else:
        assert socket.inet_ntoa(packed) == parsed.host
    assert all(ch.isascii() and ch.isprintable() for ch in url)


def _inside(pattern: AllowPattern, url: str) -> bool:
    """The pattern checked again on what urllib reads from the URL, by a separate implementation."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port
    if pattern.scheme is not None and parts.scheme != pattern.scheme:
        return False
    if pattern.port is not None and not fnmatch.fnmatchcase(str(port), pattern.port):
        return False
    if pattern.network is not None:
        return ipaddress.ip_address(host) in pattern.network
    if ":" in pattern.host:
        return ipaddress.ip_address(host) == ipaddress.ip_address(pattern.host)
    labels, globs = host.split("."), pattern.host.split(".")
    return len(labels) == len(globs) and all(
        fnmatch.fnmatchcase(a, b) for a, b in zip(labels, globs, strict=True)
    )


@given(plausible())
def test_no_accepted_target_is_outside_the_pattern_it_matched(case: tuple[str, str]) -> None:
    kind, text = case
    parsed = _parse(text, kind, True)
    assume(isinstance(parsed, ParsedTarget))
    assert isinstance(parsed, ParsedTarget)
    for pattern in PATTERNS:
        if pattern.matches(parsed):
            assert _inside(pattern, parsed.url), (pattern.text, parsed.url)
            if parsed.ip is not None:
                # An address resolves to itself, nowhere else.
                infos = socket.getaddrinfo(parsed.host, parsed.port, flags=socket.AI_NUMERICHOST)
                assert {ipaddress.ip_address(i[4][0]) for i in infos} == {parsed.ip}


@given(st.text(max_size=30))
def test_any_allow_pattern_text_is_refused_or_parsed(text: str) -> None:
    with contextlib.suppress(ValueError):
        AllowPattern.parse(text)

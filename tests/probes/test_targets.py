"""Targets from outside the model, parsed once, and the exporter's allow-list matched on the parsed value."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from sre.probes.targets import MAX_TARGET, AllowPattern, ParsedTarget, TargetError, parse_target


@pytest.mark.parametrize(
    ("text", "kind", "url"),
    [
        ("127.0.0.1:8080", "https", "https://127.0.0.1:8080"),
        ("HTTPS://LocalHost/healthz?x=1", "https", "https://localhost:443/healthz?x=1"),
        ("http://localhost", "https", "http://localhost:80"),
        ("[::1]:5432", "postgres", "postgresql://[::1]:5432"),
        ("[0:0::1]:5432", "postgres", "postgresql://[::1]:5432"),
        ("db.internal/app", "postgres", "postgresql://db.internal:5432/app"),
        ("tls://nats.internal", "nats", "tls://nats.internal:4222"),
        ("tls://web.internal", "tls", "tls://web.internal:443"),
        ("dns://127.0.0.1/example.org?type=A", "dns", "dns://127.0.0.1:53/example.org?type=A"),
        ("xn--bcher-kva.example:443", "tcp", "tcp://xn--bcher-kva.example:443"),
    ],
)
def test_accepted_targets_become_one_canonical_url(text: str, kind: str, url: str) -> None:
    parsed = parse_target(text, kind, remote=True)
    assert isinstance(parsed, ParsedTarget)
    assert parsed.url == url
    # Whatever parser reads the URL back sees the host and port that were checked.
    parts = urlsplit(parsed.url)
    assert (parts.hostname, parts.port) == (parsed.host, parsed.port)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("127.0.0.1:1@127.0.0.2:54643", "credentials"),
        ("localhost:1@127.0.0.2:54643", "credentials"),
        ("127.0.0.1:@127.0.0.2:54643", "credentials"),
        ("127.0.0.1:\\@127.0.0.2:54643", "backslash"),
        ("https://admin:pw@127.0.0.1/", "credentials"),
        ("127.1:80", "dotted-quad"),
        ("0x7f.0.0.1:80", "dotted-quad"),
        ("2130706433:80", "dotted-quad"),
        ("0177.0.0.1:80", "dotted-quad"),
        ("127.0.0.1%2e:80", "not a host name"),
        ("127.0.0.1.:80", "not a host name"),
        ("ｌocalhost:80", "character"),
        ("[fe80::1%25eth0]:80", "zone"),
        ("[::1:80", "unclosed"),
        ("::1:80", "more than one"),
        ("127.0.0.1:99999", "1 to 65535"),
        ("127.0.0.1:+80", "1 to 65535"),
        ("127.0.0.1:0", "1 to 65535"),
        ("127.0.0.1:80#x", "fragment"),
        ("not a url", "space"),
        ("ftp://x", "does not fit"),
        ("file://localhost:1/any/path", "does not fit"),
        ("a" * (MAX_TARGET + 1), "longer than"),
        ("127.0.0.1:80\r\nX: y", "character"),
        ("", "empty"),
    ],
)
def test_ambiguous_or_bad_targets_are_refused(text: str, why: str) -> None:
    with pytest.raises(TargetError, match=why):
        parse_target(text, "https", remote=True)


def test_the_exporter_grammar_refuses_local_schemes_and_driver_queries() -> None:
    with pytest.raises(TargetError, match="not probed from the exporter"):
        parse_target("file://localhost:1/any/path", "delta_lake", remote=True)
    with pytest.raises(TargetError, match="not probed from the exporter"):
        parse_target("mongodb+srv://cluster.example/", "mongodb", remote=True)
    with pytest.raises(TargetError, match="takes no query"):
        parse_target("postgresql://127.0.0.1:5432/app?host=10.0.0.5", "postgres", remote=True)
    # From the command line the operator may probe a local table.
    assert parse_target("file:///srv/table", "delta_lake", remote=False) == "file:///srv/table"
    assert isinstance(
        parse_target("postgresql://h:5432/app?sslmode=require", "postgres", remote=False), ParsedTarget
    )


def _target(text: str, kind: str = "https") -> ParsedTarget:
    parsed = parse_target(text, kind, remote=True)
    assert isinstance(parsed, ParsedTarget)
    return parsed


@pytest.mark.parametrize(
    ("pattern", "target", "matches"),
    [
        ("127.0.0.1:*", "127.0.0.1:8080", True),
        ("127.0.0.1:*", "127.0.0.1.evil.example:8080", False),  # `*` never crosses a dot
        ("127.0.0.*", "127.0.0.9:1", True),
        ("127.0.0.*:443", "127.0.0.9:80", False),
        ("*.svc.local:*", "api.svc.local:443", True),
        ("*.svc.local:*", "a.b.svc.local:443", False),
        ("*.svc.local:*", "svc.local.evil:443", False),
        ("localhost:*", "127.0.0.1:80", False),  # names and addresses are not mixed
        ("10.0.0.0/8:*", "10.1.2.3:9000", True),
        ("10.0.0.0/8:*", "11.0.0.1:9000", False),
        ("[fd00::/8]:*", "[fd12::1]:80", True),
        ("[::1]:*", "[0::1]:80", True),
        ("[::1]:*", "127.0.0.1:80", False),
        ("https://127.0.0.1:*", "http://127.0.0.1:80", False),
        ("https://127.0.0.1:*", "https://127.0.0.1:8443", True),
        ("127.0.0.1:8[0-9]", "127.0.0.1:81", True),
    ],
)
def test_allow_patterns_match_the_parsed_target_only(pattern: str, target: str, matches: bool) -> None:
    assert AllowPattern.parse(pattern).matches(_target(target)) is matches


@pytest.mark.parametrize("pattern", ["u:p@127.0.0.1:*", "127.0.0.1/path", "h:*?x=1", "h:abc", "a b:*", ""])
def test_bad_allow_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match=r"expected|not a network"):
        AllowPattern.parse(pattern)

"""Probe targets from outside the model (`--target`, the exporter's `?target=`), parsed once.

A target is parsed into a typed value (scheme, host, port, path) by one strict
grammar; whatever is checked (the exporter's allow-list) is checked on that
value, and the probe is made to the URL rebuilt from it, so what was matched
is exactly what is probed. Forms that parsers disagree on are refused rather
than guessed: user info (`a:1@b`), backslashes, percent-encoded or non-ASCII
hosts, IPv4 in shorthand (`127.1`, `0x7f.0.0.1`), IPv6 zone ids, fragments,
control characters and spaces.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from dataclasses import dataclass

MAX_TARGET = 2048  # characters; longer is not an address anyone types
MAX_HOST = 253

# The schemes each check takes; the first is put before a bare host:port.
SCHEMES: dict[str, tuple[str, ...]] = {
    "http": ("http", "https"),
    "https": ("https", "http"),
    "tls": ("tls",),
    "tcp": ("tcp",),
    "dns": ("dns",),
    "grpc": ("grpc", "grpcs"),
    "postgres": ("postgresql", "postgres"),
    "redis": ("redis", "rediss"),
    "nats": ("nats", "tls"),
    "kafka": ("kafka", "kafka+ssl"),
    "mongodb": ("mongodb", "mongodb+srv"),
    "clickhouse": ("https", "http"),
    "s3": ("https", "http"),
    "vault": ("https", "http"),
    "elasticsearch": ("https", "http"),
    "mlflow": ("https", "http"),
    "kubernetes": ("https", "http"),
    "delta_lake": ("file", "s3", "s3a"),
}
# Where the probe does not connect to the URL's host:port: a local path, a bucket (the store is
# in the settings), SRV records that name other hosts. Never reachable from the exporter.
NOT_NETWORK = frozenset({"file", "s3", "s3a", "mongodb+srv"})
# Schemes whose query is only a request (HTTP path, DNS question); a driver's query
# (libpq's `?host=`) can send it elsewhere, so other schemes take none from the exporter.
QUERY_OK = frozenset({"http", "https", "dns"})

DEFAULT_PORTS = {
    "http": 80,
    "https": 443,
    "tls": 443,
    "dns": 53,
    "grpc": 80,
    "grpcs": 443,
    "postgres": 5432,
    "postgresql": 5432,
    "redis": 6379,
    "rediss": 6379,
    "nats": 4222,
    "kafka": 9092,
    "kafka+ssl": 9092,
    "mongodb": 27017,
}
KIND_PORTS = {("nats", "tls"): 4222}  # nats' tls:// is a NATS server, not the tls check's 443

_SCHEME = re.compile(r"[a-z][a-z0-9+.-]{0,30}")
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_NUMERIC = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)")
_PORT = re.compile(r"[0-9]{1,5}")
_SAFE_PATH = re.compile(r"(?:/[A-Za-z0-9._~-]*)*")


class TargetError(ValueError):
    """Why a target is refused: one line, fit to follow `--target: ` or an HTTP 400."""


@dataclass(frozen=True, slots=True)
class ParsedTarget:
    scheme: str
    host: str  # a lower-case DNS name, a dotted IPv4 address, or a compressed IPv6 address
    port: int
    path: str = ""  # "" or from "/"
    query: str = ""

    @property
    def ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None

    @property
    def authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """The URL the probe is made to: every parser reads the same host and port from it."""
        query = f"?{self.query}" if self.query else ""
        return f"{self.scheme}://{self.authority}{self.path}{query}"


def parse_target(text: str, kind: str, *, remote: bool) -> ParsedTarget | str:
    """The target of a `kind` probe, or (for a local scheme such as file://, only when not `remote`)
    the URL as given. `remote` is the exporter's stricter grammar: network schemes only, and no
    query for a driver. Raises TargetError."""
    _printable(text)
    schemes = SCHEMES.get(kind)
    if schemes is None:
        raise TargetError(f"no check named {kind!r}")
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = schemes[0], text
    scheme = scheme.lower()
    if not _SCHEME.fullmatch(scheme):
        raise TargetError(f"{_short(text)}: not a URL scheme: {scheme[:32]!r}")
    if scheme not in schemes:
        expected = " or ".join(f"{s}://" for s in schemes)
        raise TargetError(f"{scheme}:// does not fit a {kind} probe (expected {expected})")
    if scheme in NOT_NETWORK:
        if remote:
            raise TargetError(f"{scheme}:// targets are not probed from the exporter")
        if "@" in rest.partition("/")[0]:
            raise TargetError(f"{_short(text)}: credentials do not go in the URL; name them as secrets")
        return f"{scheme}://{rest}"
    authority, path, query = _split(rest)
    host, port_text = _authority(authority)
    port = _port(port_text, scheme, kind)
    if remote:
        if query and scheme not in QUERY_OK:
            raise TargetError(f"a {scheme}:// target takes no query from the exporter")
        if scheme not in QUERY_OK and not _SAFE_PATH.fullmatch(path):
            raise TargetError(f"a {scheme}:// target's path may hold only letters, digits and ._~-/")
    return ParsedTarget(scheme, host, port, path, query)


def _printable(text: str) -> None:
    if not text:
        raise TargetError("empty")
    if len(text) > MAX_TARGET:
        raise TargetError(f"longer than {MAX_TARGET} characters ({len(text)})")
    for ch in text:
        if not "!" <= ch <= "~":
            what = "a space" if ch == " " else f"the character {ch!r}"
            raise TargetError(f"{_short(text)}: contains {what}; a target is a URL or host:port")
    if "\\" in text:
        raise TargetError(f"{_short(text)}: contains a backslash")
    if "#" in text:
        raise TargetError(f"{_short(text)}: a target has no #fragment")


def _split(rest: str) -> tuple[str, str, str]:
    """authority, path, query: the authority ends at the first / or ?, as in every URL parser."""
    match = re.match(r"[^/?]*", rest)
    assert match is not None
    authority, tail = match.group(), rest[match.end() :]
    path, _, query = tail.partition("?")
    return authority, path, query


def _authority(authority: str) -> tuple[str, str | None]:
    if "@" in authority:
        raise TargetError("credentials (user@ or user:password@) do not go in a target; name them as secrets")
    if authority.startswith("["):
        inner, close, after = authority[1:].partition("]")
        if not close:
            raise TargetError(f"{_short(authority)}: unclosed [ of an IPv6 address")
        if after and not after.startswith(":"):
            raise TargetError(f"{_short(authority)}: expected :PORT after the IPv6 address")
        return _ipv6(inner), after[1:] if after else None
    host, colon, port_text = authority.partition(":")
    if ":" in port_text:
        raise TargetError(f"{_short(authority)}: more than one ':' (an IPv6 address goes in [ ])")
    return _host(host), port_text if colon else None


def _ipv6(text: str) -> str:
    if "%" in text:
        raise TargetError(f"[{_short(text)}]: IPv6 zone ids are not accepted")
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        raise TargetError(f"[{_short(text)}]: not an IPv6 address") from None
    return address.compressed


def _host(text: str) -> str:
    if not text:
        raise TargetError("no host")
    if len(text) > MAX_HOST:
        raise TargetError(f"the host is longer than {MAX_HOST} characters")
    host = text.lower()
    labels = host.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        raise TargetError(
            f"{_short(text)}: not a host name or IPv4 address "
            "(letters, digits, - and _ between dots; non-ASCII names in their xn-- form)"
        )
    if _NUMERIC.fullmatch(labels[-1]):
        # Resolvers read 127.1, 0x7f.1 and 2130706433 as IPv4 addresses: only the dotted quad is.
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError:
            raise TargetError(f"{_short(text)}: not an IPv4 address in dotted-quad form") from None
    return host


def _port(text: str | None, scheme: str, kind: str) -> int:
    if text is None:
        found = KIND_PORTS.get((kind, scheme), DEFAULT_PORTS.get(scheme))
        if found is None:
            raise TargetError(f"a {scheme}:// target needs a port (host:PORT)")
        return found
    if not _PORT.fullmatch(text) or not 0 < int(text) < 65536:
        raise TargetError(f"port {text[:8]!r} is not a number from 1 to 65535")
    return int(text)


def _short(text: str, size: int = 60) -> str:
    """The text for a message: cut short, and without what may be a user:password@."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    authority, slash, tail = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rpartition("@")[2]
        text = f"{scheme}{sep}{authority}{slash}{tail}"
    return repr(text if len(text) <= size else text[:size] + "...")


# --- the exporter's allow-list ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AllowPattern:
    """`[scheme://]host[:port]`: host a glob whose `*` never crosses a dot (`*.svc.local`,
    `10.0.0.*`), an address, or a network (`10.0.0.0/8`, `[fd00::/8]`); port a number, a
    glob or absent (any). Matched on a parsed target only."""

    text: str
    scheme: str | None
    host: str
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None
    port: str | None

    @classmethod
    def parse(cls, text: str) -> AllowPattern:
        scheme, sep, rest = text.partition("://")
        if not sep:
            scheme, rest = "", text
        if any(ch in rest for ch in "@?#\\") or not all("!" <= ch <= "~" for ch in rest):
            raise ValueError(f"{text!r}: expected [scheme://]host[:port] (no user, query or spaces)")
        if rest.startswith("["):
            host, close, after = rest[1:].partition("]")
            if not close or (after and not after.startswith(":")):
                raise ValueError(f"{text!r}: expected [IPv6 address or network]:PORT")
            port = after[1:] if after else None
        else:
            host, colon, port_text = rest.partition(":")
            port = port_text if colon else None
        if not host or (port is not None and not re.fullmatch(r"[0-9*?\[\]-]+", port)):
            raise ValueError(f"{text!r}: expected [scheme://]host[:port], port a number or a glob")
        network = None
        if "/" in host:
            try:
                network = ipaddress.ip_network(host, strict=False)
            except ValueError:
                raise ValueError(f"{text!r}: {host!r} is not a network such as 10.0.0.0/8") from None
        elif ":" in host:
            host = _ipv6(host)
        return cls(text, scheme.lower() or None, host.lower(), network, port)

    def matches(self, target: ParsedTarget) -> bool:
        if self.scheme is not None and target.scheme != self.scheme:
            return False
        if self.port is not None and not fnmatch.fnmatchcase(str(target.port), self.port):
            return False
        if self.network is not None:
            ip = target.ip
            return ip is not None and ip.version == self.network.version and ip in self.network
        if ":" in self.host or ":" in target.host:  # IPv6: the address itself
            return self.host == target.host
        pattern, labels = self.host.split("."), target.host.split(".")
        return len(pattern) == len(labels) and all(
            fnmatch.fnmatchcase(label, glob) for label, glob in zip(labels, pattern, strict=True)
        )

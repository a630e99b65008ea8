"""URL helpers shared by the clients of external systems."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sre.errors import InputError
from sre.scrub import SECRET_PARAMS

# Longer than any real service URL; a longer value is a mistake or an attack, never worth parsing.
MAX_URL_LENGTH = 2048
MAX_HOST_LENGTH = 253  # the DNS limit


def without_credentials(url: str) -> str:
    """The URL without any user:password part (nor query or fragment), fit for messages."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return shown_url(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number from 0 to 65535
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def check_http_url(url: str, *, what: str) -> str:
    """`url` when it is a usable http(s) URL; else one line naming `what` (the flag or variable)."""
    expected = f"{what}: expected http(s)://host[:port][/path]"
    if len(url) > MAX_URL_LENGTH:
        raise InputError(f"{what}: the URL is longer than {MAX_URL_LENGTH} characters")
    if any(ord(c) <= 32 or ord(c) == 127 for c in url):
        raise InputError(f"{what}: the URL holds spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        # urllib's own words: "Port out of range 0-65535", "Invalid IPv6 URL".
        raise InputError(f"{expected}; got {shown_url(url)!r}: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{expected}; got {shown_url(url)!r}")
    if port == 0:
        raise InputError(f"{expected}; got port 0 in {without_credentials(url)!r}")
    if len(parts.hostname) > MAX_HOST_LENGTH:
        raise InputError(f"{what}: the host name is longer than {MAX_HOST_LENGTH} characters")
    return url


def shown_url(url: str) -> str:
    """The URL for an error message even when it does not parse: scheme and host[:port] only (no
    user:password, path or query, where secrets travel), cut short."""
    scheme, sep, rest = url.partition("://")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    shown = f"{scheme}{sep}{authority.rpartition('@')[2]}" + ("/..." if len(authority) < len(rest) else "")
    return shown if len(shown) <= 80 else shown[:80] + "..."


_SECRET_WORDS = ("password", "passwd", "secret", "token", "key", "credential", "signature")


def _secret_param(name: str) -> bool:
    name = name.lower()
    return name in SECRET_PARAMS or any(word in name for word in _SECRET_WORDS)


def public_url(url: str) -> str:
    """The URL as it may be shown: no user or password, no secret-looking query parameters."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    query = urlencode(
        [(k, "***" if _secret_param(k) else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)],
        safe="*",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))

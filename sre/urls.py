"""URL helpers shared by the clients of external systems."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sre.scrub import SECRET_PARAMS


def without_credentials(url: str) -> str:
    """The URL without any user:password part (nor query or fragment), fit for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


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

"""One scrubber for every string that leaves a run: secrets, and credentials in any form.

A run registers each secret value it hands out (`add`), and the forms it is
sent in (`Basic <base64>`, URL-encoded, JSON-escaped); `text` masks all of them,
and, whether registered or not, what always looks like a credential: the
value after `Bearer`/`Basic`/`ApiKey`/`Token`, the user:password of a URL,
and the values of signed-URL and secret-named query parameters. The probe
runner passes every result through here once, so no check has to remember to.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

MASK = "***"
MIN_SECRET = 4  # shorter values would mask ordinary words; they are no secret worth the name
# Texts already scrubbed, and their result: a probe's facts (fact names, a TLS version, a
# certificate's subject) are the same strings probe after probe. Emptied when a secret is added.
CACHE_TEXTS, CACHE_LENGTH = 1024, 256

_AUTH = re.compile(r"\b(Bearer|Basic|ApiKey|Token|Digest|Negotiate)(\s+)[A-Za-z0-9._~+/=:-]{8,}", re.I)
_URL_USER = re.compile(r"\b([a-z][a-z0-9+.-]*://)[^\s/?#@\"'<>]*@", re.I)
# Query parameters whose values are secrets: signed URLs (S3, GCS, Azure SAS) and the usual names.
SECRET_PARAMS = (
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "x-goog-signature",
    "x-goog-credential",
    "sig",
    "signature",
    "token",
    "access_token",
    "id_token",
    "refresh_token",
    "api_key",
    "apikey",
    "key",
    "password",
    "passwd",
    "pwd",
    "secret",
    "client_secret",
    "auth",
    "code",
)
_QUERY = re.compile(r"([?&;](?:" + "|".join(re.escape(p) for p in SECRET_PARAMS) + r")=)[^&#\s\"'<>]*", re.I)


def encoded_forms(value: str) -> set[str]:
    """The forms a secret travels in: as is, base64, URL-encoded, JSON-escaped."""
    forms = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
    forms.add(base64.b64encode(value.encode()).decode("ascii"))
    return {f for f in forms if len(f) >= MIN_SECRET}


class Scrubber:
    """The secrets of one run, and the one function that masks them in outgoing text."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._forms: set[str] = set()
        self._ordered: list[str] = []
        self._done: dict[str, str] = {}
        for value in values:
            self.add(value)

    def add(self, value: str) -> None:
        """A secret handed out (or a value made from one, like a Basic header's base64)."""
        if len(value) < MIN_SECRET:
            return
        new = encoded_forms(value) - self._forms
        if new:
            self._forms |= new
            # Longest first, so a secret inside a longer registered form is masked as a whole.
            self._ordered = sorted(self._forms, key=len, reverse=True)
            self._done = {}

    def text(self, text: str) -> str:
        done = self._done.get(text)
        if done is not None:
            return done
        given = text
        for form in self._ordered:
            if form in text:
                text = text.replace(form, MASK)
        text = patterns(text)
        if len(given) <= CACHE_LENGTH:
            if len(self._done) >= CACHE_TEXTS:
                self._done = {}
            self._done[given] = text
        return text

    def value(self, value: Any) -> Any:
        """Strings anywhere inside lists, tuples and dicts (keys too)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.value(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.value(v) for v in value)
        return value

    def facts(self, facts: dict[str, Any]) -> dict[str, Any]:
        """`value` of a result's facts, the numbers (most of them) passed over without a call."""
        text, plain = self.text, (int, float, bool, type(None))
        return {
            text(k) if isinstance(k, str) else self.value(k): v if type(v) in plain else self.value(v)
            for k, v in facts.items()
        }


def patterns(text: str) -> str:
    """What looks like a credential whatever its value: auth schemes, URL users, signed queries."""
    if "://" in text:
        text = _URL_USER.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    if "=" in text:
        text = _QUERY.sub(lambda m: m.group(1) + MASK, text)
    if " " not in text and text.isprintable():
        return text  # _AUTH needs whitespace after the scheme; printable text has none but " "
    return _AUTH.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)


def header_safe(value: str) -> bool:
    """Whether a secret can go in an HTTP header as it is: one line of printable ASCII.
    A token file with a second line (or a stray control character) is refused before any request,
    with a message that names the file or variable, never the value."""
    return bool(value) and all(" " <= ch <= "~" for ch in value)


def literal_credentials(url: str) -> str | None:
    """What in a URL is a secret given by value (a password, a secret-named query parameter),
    described without the value; None when the URL holds none."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return None
    if password:
        return "a password in the URL (user:password@)"
    names = [k for k, _ in parse_qsl(parts.query, keep_blank_values=True) if k.lower() in SECRET_PARAMS]
    if names:
        return f"the query parameter {names[0]!r}"
    return None

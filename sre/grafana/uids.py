"""Stable dashboard and folder UIDs: readable, deterministic, at most 40 characters (Grafana's limit)."""

from __future__ import annotations

import hashlib
import re

MAX_UID = 40
UID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_NOT_ALLOWED = re.compile(r"[^a-z0-9_-]+")


def slug(text: str) -> str:
    return _NOT_ALLOWED.sub("-", text.lower()).strip("-") or "x"


def stable_uid(*parts: str) -> str:
    """`slug(part1)-slug(part2)...`; when that is too long, a cut plus 8 hex of its SHA-1, so two
    long names that share a prefix still get different UIDs, and the same name always the same one."""
    full = "-".join(slug(p) for p in parts)
    if len(full) <= MAX_UID:
        return full
    digest = hashlib.sha1(full.encode(), usedforsecurity=False).hexdigest()[:8]
    return f"{full[: MAX_UID - 9].rstrip('-')}-{digest}"

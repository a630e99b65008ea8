"""`_meta` on every generated object: who manages it, a hash of its content, and the source commit.

The content hash covers everything except the hash itself and the source commit, so the same
content built from another commit has the same hash, and publish does not rewrite it.
"""

from __future__ import annotations

import copy
import hashlib
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sre import jsontext
from sre.elk.names import Kind

MANAGED_BY = "sre"
VOLATILE_META = ("content_hash", "source_commit")

Body = dict[str, Any]


def pretty(value: Any) -> str:
    """The byte-stable file form: sorted keys, two-space indent, one trailing newline."""
    return jsontext.pretty(value).decode()


def _meta_holder(kind: Kind, body: Body) -> Body:
    # An ILM policy keeps its _meta inside `policy`; every other object at the top.
    return body["policy"] if kind == "ilm" else body


def get_meta(kind: Kind, body: Body) -> dict[str, Any]:
    holder = body.get("policy", {}) if kind == "ilm" else body
    meta = holder.get("_meta") if isinstance(holder, dict) else None
    return meta if isinstance(meta, dict) else {}


def stamp(kind: Kind, body: Body, platform: str, commit: str | None) -> Body:
    """`body` with _meta.managed_by, platform, content_hash (and source_commit); `body` is not changed."""
    # Only the _meta holder changes: copy it and the top level, and share the rest with `body`
    # (a deep copy of every body was most of a large build's time).
    out = dict(body)
    if kind == "ilm":
        out["policy"] = dict(out["policy"])
    holder = _meta_holder(kind, out)
    meta = {**holder.get("_meta", {}), "managed_by": MANAGED_BY, "platform": platform}
    holder["_meta"] = meta
    meta["content_hash"] = "sha256:" + hashlib.sha256(jsontext.canonical(out)).hexdigest()
    if commit:
        meta["source_commit"] = commit
    return out


def without_volatile_meta(kind: Kind, body: Body) -> Body:
    out = copy.deepcopy(body)
    meta = get_meta(kind, out)
    for key in VOLATILE_META:
        meta.pop(key, None)
    return out


def source_commit(repo: Path, inputs: Sequence[Path]) -> str | None:
    """The commit the build comes from, when the inputs have no uncommitted changes, else None."""
    from sre.gitinfo import current_commit

    commit = current_commit(repo)
    if commit is None:
        return None
    try:
        status = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--", *(str(p.resolve()) for p in inputs)],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if status.returncode != 0:
        # No git checkout: the commit came from CI ($CI_COMMIT_SHA), whose checkout is that commit.
        return commit
    return None if status.stdout.strip() else commit

"""The `sandbox` environment file: endpoints per service and tier, and why the rest is unavailable."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from sre.errors import InputError
from sre.platform.model import EnvironmentBody, Platform
from sre.sandbox.state import TierRow

ENV_NAME = "sandbox"


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # every endpoint spelled out, no &anchors


_LABEL = {"not_in_sandbox": "not in sandbox", "skipped": "skipped"}


def environment_path(platform: Platform) -> Path:
    env = platform.environments.get(ENV_NAME)
    if env is None or not env.file:
        raise InputError(
            f"{platform.source}: environments.{ENV_NAME}.file is not set; "
            "`sre sandbox up` writes its endpoints there"
        )
    return platform.source.parent / env.file


def _header(root: Path) -> str:
    return f"# Written by `sre sandbox up` for the sandbox in {root}; rewritten by up, removed by down.\n"


def unavailable(platform: Platform, endpoints: dict[str, Any], rows: list[TierRow]) -> dict[str, str]:
    out: dict[str, str] = {}
    for sid in platform.services:
        if sid in endpoints:
            continue
        row = next((r for r in rows if r.service == sid), None)
        if row is not None:
            out[sid] = f"{_LABEL.get(row.state, row.state)}: {row.reason}"
    return out


def write_environment(
    path: Path,
    platform: Platform,
    endpoints: dict[str, Any],
    rows: list[TierRow],
    *,
    root: Path,
    ca_file: Path,
) -> None:
    body = {
        "description": f"The sandbox in {root}: real servers on 127.0.0.1, written by `sre sandbox up`.",
        "ca_file": str(ca_file),
        "endpoints": endpoints,
        "unavailable": unavailable(platform, endpoints, rows),
    }
    # The sandbox's control plane runs on this machine, beside no tier a drill switches between; the
    # cold tier stands for that, so a switchover back from the hot tier is not refused for it.
    cold = next((tid for tid, tier in platform.tiers.items() if tier.standby == "cold"), None)
    if cold is not None:
        body["control_plane_tier"] = cold
    EnvironmentBody.model_validate(body)  # what we write must load again
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(
        _header(root) + yaml.dump(body, Dumper=_Dumper, sort_keys=False, width=120), encoding="utf-8"
    )
    os.replace(tmp, path)


def written_by(path: Path) -> Path | None:
    """The sandbox folder that wrote the environment file, from its first line; None if none did."""
    try:
        with path.open(encoding="utf-8") as fh:
            first = fh.readline(4096)
    except (OSError, UnicodeDecodeError):
        return None
    head, _, tail = first.partition(" for the sandbox in ")
    if head != "# Written by `sre sandbox up`" or "; rewritten by up" not in tail:
        return None
    return Path(tail.rpartition("; rewritten by up")[0])


def remove_environment(path: Path, root: Path) -> None:
    """Remove the file only if this sandbox wrote it (another sandbox folder may have rewritten it)."""
    if written_by(path) == root:
        path.unlink(missing_ok=True)

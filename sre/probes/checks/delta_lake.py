"""Delta Lake: the age of a table's last commit, read from its `_delta_log`.

Commits are `_delta_log/<version, 20 digits>.json`; the newest is the table's
state. Its time is the commit's `inCommitTimestamp` or `commitInfo.timestamp`
(milliseconds), else the file's modification time. `_last_checkpoint` names
a recent version, so only the files after it are listed. No Delta library is
needed for this: the log is plain JSON lines.

Tables: `file:///path` or `s3://bucket/prefix` (with the s3 check's settings
and secrets; `endpoint_url` for an S3-compatible store), plus an optional
`table` path below. Facts: `last_commit_age_seconds`, `backup_age_hours`
(the same age: a copy's last commit is its last backup), `lag_seconds` (the
same age, an upper bound of a copy's lag), `delta_version`.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sre.errors import one_line
from sre.probes.checks._s3 import S3_ERRORS, s3_client, s3_fail, warm  # noqa: F401 - the runner calls warm()
from sre.probes.checks._support import Secrets, load_settings, split_url
from sre.probes.context import ProbeContext
from sre.probes.model import ProbeError, Reason, Target
from sre.probes.settings import DeltaLakeSettings

COMMIT = re.compile(r"^(\d{20})\.json$")
MAX_COMMIT_BYTES = 8 << 20  # commitInfo comes first; a huge commit is read only this far
LOG = "_delta_log"


@dataclass(frozen=True)
class Commit:
    version: int
    body: bytes
    modified: float  # Unix seconds, the file's own time


async def check_delta_lake(target: Target, ctx: ProbeContext) -> None:
    opts = load_settings(DeltaLakeSettings, target.settings)
    parts = split_url(target.endpoint.url)
    base = parts.path.rstrip("/")
    if opts.table:
        base = f"{base}/{opts.table.strip('/')}"
    ctx.fact("delta_table", f"{parts.scheme}://{parts.netloc}{base}")
    with ctx.phase("log"):
        if parts.scheme == "file":
            commit = await asyncio.to_thread(newest_local, Path(unquote(base)))
        elif parts.scheme in ("s3", "s3a"):
            commit = await newest_s3(target, ctx, opts, parts.netloc, base.strip("/"))
        else:
            raise ProbeError(Reason.unsupported, f"delta_lake: {parts.scheme}:// tables are not supported")
    record(commit, ctx)


def record(commit: Commit, ctx: ProbeContext) -> None:
    committed, source = commit_time(commit)
    age = max(0.0, round(time.time() - committed, 3))
    ctx.fact("delta_version", commit.version)
    ctx.fact("delta_last_commit_at", int(committed))
    ctx.fact("delta_time_source", source)
    ctx.fact("last_commit_age_seconds", age)
    ctx.fact("backup_age_hours", round(age / 3600, 4))
    ctx.fact("lag_seconds", age)
    operation = commit_info(commit).get("operation")
    if isinstance(operation, str):
        ctx.fact("delta_operation", operation)


def commit_time(commit: Commit) -> tuple[float, str]:
    info = commit_info(commit)
    for key in ("inCommitTimestamp", "timestamp"):
        value = info.get(key)
        if isinstance(value, int) and value > 0:
            return value / 1000, f"commitInfo.{key}"
    return commit.modified, "file_modified"


def commit_info(commit: Commit) -> dict[str, Any]:
    lines = commit.body.splitlines()
    if len(commit.body) >= MAX_COMMIT_BYTES:
        lines = lines[:-1]  # the last line may be cut
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            action = json.loads(line)
        except ValueError:
            raise ProbeError(Reason.protocol, f"commit {commit.version}: line {number} is not JSON") from None
        if isinstance(action, dict) and isinstance(action.get("commitInfo"), dict):
            info: dict[str, Any] = action["commitInfo"]
            return info
    return {}


def checkpoint_version(text: bytes) -> int | None:
    try:
        found = json.loads(text).get("version")
    except (ValueError, AttributeError):
        return None  # a damaged hint only costs a longer listing
    return found if isinstance(found, int) and found >= 0 else None


def newest_local(table: Path) -> Commit:
    log = table / LOG
    try:
        hint = (log / "_last_checkpoint").read_bytes() if (log / "_last_checkpoint").exists() else b""
        start = checkpoint_version(hint) or 0
        versions = [
            int(m.group(1))
            for entry in log.iterdir()
            if (m := COMMIT.match(entry.name)) and int(m.group(1)) >= start
        ]
        if not versions:
            raise ProbeError(Reason.not_ready, f"{log}: no commits")
        path = log / f"{max(versions):020d}.json"
        with path.open("rb") as handle:
            body = handle.read(MAX_COMMIT_BYTES)
        return Commit(max(versions), body, path.stat().st_mtime)
    except FileNotFoundError:
        raise ProbeError(Reason.not_ready, f"{log}: no such directory (not a Delta table)") from None
    except PermissionError as exc:
        raise ProbeError(Reason.auth, f"{log}: {one_line(exc)}") from None
    except OSError as exc:
        raise ProbeError(Reason.connect_error, f"{log}: {one_line(exc)}") from None


async def newest_s3(
    target: Target, ctx: ProbeContext, opts: DeltaLakeSettings, bucket: str, prefix: str
) -> Commit:
    secrets = Secrets(ctx)
    log = f"{prefix}/{LOG}/" if prefix else f"{LOG}/"
    endpoint = opts.endpoint_url or target.endpoint.params.get("endpoint_url")
    async with s3_client(target, secrets, opts, endpoint_url=endpoint) as client:
        try:
            start = await last_checkpoint(client, bucket, log)
            newest: tuple[int, str, float] | None = None
            paginator = client.get_paginator("list_objects_v2")
            # Keys sort by version; "<log><version>" sorts just before that version's own file.
            after = f"{log}{start:020d}" if start else ""
            async for page in paginator.paginate(Bucket=bucket, Prefix=log, StartAfter=after):
                for item in page.get("Contents", []):
                    match = COMMIT.match(item["Key"][len(log) :])
                    if match and (newest is None or int(match.group(1)) > newest[0]):
                        newest = (int(match.group(1)), item["Key"], item["LastModified"].timestamp())
            if newest is None:
                raise ProbeError(Reason.not_ready, f"s3://{bucket}/{log}: no commits")
            answer = await client.get_object(
                Bucket=bucket, Key=newest[1], Range=f"bytes=0-{MAX_COMMIT_BYTES - 1}"
            )
            async with answer["Body"] as stream:
                body = await stream.read()
        except S3_ERRORS as exc:
            s3_fail(exc, f"s3://{bucket}/{log}", secrets)
    return Commit(newest[0], body, newest[2])


async def last_checkpoint(client: Any, bucket: str, log: str) -> int | None:
    from botocore.exceptions import ClientError  # type: ignore[import-untyped]

    try:
        answer = await client.get_object(Bucket=bucket, Key=f"{log}_last_checkpoint")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    async with answer["Body"] as stream:
        return checkpoint_version(await stream.read())

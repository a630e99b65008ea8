"""JSON results: one document per run, read back into Results (by `sre probe merge`)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from sre.errors import InputError
from sre.probes.model import Result
from sre.probes.output.escape import unicode_text

FORMAT_VERSION = 1


class RunFile(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: int
    vantage: str
    environment: str = ""
    started_at: float = 0.0
    results: list[Result]


_RESULTS = TypeAdapter(RunFile)


def render(
    results: list[Result],
    *,
    vantage: str,
    environment: str,
    started_at: float,
    tiers: list[dict[str, Any]] | None = None,
) -> str:
    """One result per line: greppable, and written by the C encoder (10,000 results in under a second).

    `tiers` are the per-tier verdicts (status, counts, root causes), for CI and webhooks to read."""
    head = json.dumps(
        {
            "version": FORMAT_VERSION,
            "vantage": vantage,
            "environment": environment,
            "started_at": round(started_at, 3),
            "tiers": tiers or [],
        }
    )
    rows = ",\n".join(json.dumps(_plain(r), default=str, allow_nan=False) for r in results)
    return f'{head[:-1]}, "results": [\n{rows}\n]}}\n'


def _plain(result: Result) -> dict[str, Any]:
    out = asdict(result)
    out["status"] = str(result.status)
    out["reason"] = str(result.reason) if result.reason else None
    out["duration_seconds"] = round(result.duration_seconds, 6)
    out["phases"] = {k: round(v, 6) for k, v in result.phases.items()}
    clean: dict[str, Any] = _json_safe(out)
    return clean


def _json_safe(value: Any) -> Any:
    """What any JSON reader takes back: NaN and infinities (which json.dumps writes anyway) as
    null, lone surrogates (from bytes that were not UTF-8) as escapes."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        return unicode_text(value)
    if isinstance(value, dict):
        return {_json_safe(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def parse(text: str, source: str) -> RunFile:
    try:
        return _RESULTS.validate_json(text)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(f"{source}: not a `sre probe` JSON result file: {where}: {first['msg']}") from None


def read(path: Path) -> RunFile:
    from sre.safefile import RESULTS_LIMIT, read_text

    return parse(read_text(path, limit=RESULTS_LIMIT), str(path))

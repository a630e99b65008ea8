"""Run one registered check against an address, the way the runner would, and return what it saw."""

from __future__ import annotations

import asyncio
import atexit
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sre.platform.model import Endpoint, SecretSource
from sre.probes.checks import get_check
from sre.probes.context import ProbeContext, RunContext
from sre.probes.model import Expectation, ProbeError, Reason, Target

_SECRETS = Path(tempfile.mkdtemp(prefix="sre-test-secrets-"))
atexit.register(shutil.rmtree, _SECRETS, True)


def secret_file(name: str, value: str) -> SecretSource:
    path = Path(tempfile.mkstemp(prefix=f"{name}-", dir=_SECRETS)[1])
    path.write_text(value, encoding="utf-8")
    return SecretSource(file=str(path))


@dataclass
class Seen:
    facts: dict[str, Any] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    error: ProbeError | None = None
    body: bytes | None = None  # kept for the definition's conditions

    @property
    def reason(self) -> Reason | None:
        return None if self.error is None else self.error.reason

    @property
    def message(self) -> str:
        return "" if self.error is None else self.error.message

    def ok(self) -> Seen:
        assert self.error is None, f"{self.error.reason}: {self.error.message}"
        return self


def target(
    check: str,
    url: str,
    *,
    settings: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    ca_file: str | None = None,
    server_name: str | None = None,
    timeout: float = 10.0,
    upstream: str | None = None,
) -> Target:
    return Target(
        service=f"test_{check}",
        check=check,
        zone="internal",
        tier="primary",
        dc="dc1",
        endpoint=Endpoint(url=url, params=dict(params or {}), ca_file=ca_file, server_name=server_name),
        expect=Expectation(standby="active"),
        settings=dict(settings or {}),
        secrets={name: secret_file(name, value) for name, value in (secrets or {}).items()},
        timeout=timeout,
        upstream=Endpoint(url=upstream) if upstream else None,
    )


def probe(check: str, url: str, *, run: RunContext | None = None, **options: Any) -> Seen:
    """The facts, phases and ProbeError of one check; a hard cap keeps a hung check from hanging the test."""
    tgt = target(check, url, **options)
    ctx = ProbeContext(run=run or RunContext(), target=tgt)
    seen = Seen()

    async def go() -> None:
        async with asyncio.timeout(tgt.timeout + 10):
            await get_check(check)(tgt, ctx)

    try:
        asyncio.run(go())
    except ProbeError as exc:
        seen.error = exc
    seen.facts = ctx.observation.facts
    seen.phases = ctx.observation.phases
    seen.body = ctx.observation.body
    return seen

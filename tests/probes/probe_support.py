"""Helpers the probe tests import (a module of its own: every test folder has a conftest)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from probe_servers import Pki

from sre.platform.model import Endpoint
from sre.probes.context import RunContext
from sre.probes.model import Expectation, Result, Target
from sre.probes.runner import probe


@dataclass(frozen=True)
class Servers:
    pki: Pki
    http: int
    https13: int
    https12: int
    expired: int
    expiring: int
    other_host: int
    silent: int
    garbage: int
    closed: int
    dns: int  # UDP
    dns_tcp: int
    grpc: int


def make_target(
    url: str,
    check: str = "https",
    *,
    ca_file: Path | None = None,
    standby: str = "active",
    timeout: float = 3.0,
    **fields: Any,
) -> Target:
    return Target(
        service=fields.pop("service", "svc"),
        check=check,
        zone="dmz",
        tier=fields.pop("tier", "primary"),
        dc="fra1",
        endpoint=Endpoint(url=url, ca_file=str(ca_file) if ca_file else None),
        expect=fields.pop("expect", None) or Expectation(standby=standby),  # type: ignore[arg-type]
        timeout=timeout,
        **fields,
    )


def run_one(target: Target, run: RunContext | None = None, budget: float = 10.0) -> Result:
    async def go() -> Result:
        deadline = asyncio.get_running_loop().time() + budget
        return await probe(target, run or RunContext(vantage="test"), deadline)

    return asyncio.run(go())

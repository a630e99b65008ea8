"""Gates: run sre's probes and require a verdict; wait until a condition holds.

A gate changes nothing. Its check is its condition: when it holds already, the
step is done; `apply` waits for it (the step's timeout bounds the wait).
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from pydantic import Field, model_validator

from sre.runbooks.actions.base import Action, ActionFailed, Args, Check, Context

Verdict = Literal["ok", "degraded", "failed", "expected_down", "skipped"]


class ProbeArgs(Args):
    service: str
    tier: str
    require: list[Verdict] = Field(["ok"], min_length=1)  # any of these verdicts passes


async def probe_status(ctx: Context, service: str, tier: str) -> tuple[str, str]:
    """The verdict of sre's probes of one service in one tier: the worst of its checks, and why."""
    from sre.probes.context import RunContext
    from sre.probes.definitions import definitions_dir, load_definitions
    from sre.probes.plan import make_plan
    from sre.probes.runner import run_probes

    if ctx.environment is None:
        raise ActionFailed("no environment loaded to probe in", permanent=True)
    defs = load_definitions(definitions_dir(ctx.platform.source, ctx.settings.probes_dir), ctx.platform)
    run = RunContext(vantage=ctx.settings.vantage, tls_min_version=ctx.platform.policies.tls.min_version)
    plan = make_plan(
        ctx.platform, ctx.environment, defs, vantage=run.vantage, services=[service], tiers=[tier]
    )
    results = [*plan.skipped, *await run_probes(plan.targets, run, budget=30.0)]
    if not results:
        return "skipped", "no probe"
    order = ["failed", "degraded", "expected_down", "ok", "skipped"]
    worst = min(results, key=lambda r: order.index(str(r.status)))
    return str(worst.status), str(worst.reason or "")


class Probe(Action):
    name = "probe"
    Args = ProbeArgs

    async def check(self, args: Any, ctx: Context) -> Check:
        status, reason = await probe_status(ctx, args.service, args.tier)
        return Check(done=status in args.require, facts={"status": status, "reason": reason})

    async def apply(self, args: Any, ctx: Context) -> dict[str, Any]:
        status, reason = await probe_status(ctx, args.service, args.tier)
        if status not in args.require:
            raise ActionFailed(
                f"probe {args.service}/{args.tier}: {status} ({reason or 'no reason'}); "
                f"required {' or '.join(args.require)}"
            )
        return {"status": status}


class SqlCondition(Args):
    service: str
    tier: str
    sql: str  # one row whose first column is true when the condition holds
    params: dict[str, str | int] = Field(default_factory=dict)


class HttpCondition(Args):
    url: str
    status: tuple[int, ...] = (200,)


class WaitArgs(Args):
    probe: ProbeArgs | None = None
    postgres: SqlCondition | None = None
    http: HttpCondition | None = None
    interval: float = Field(2.0, gt=0, le=300)

    @model_validator(mode="after")
    def _one(self) -> WaitArgs:
        if sum(x is not None for x in (self.probe, self.postgres, self.http)) != 1:
            raise ValueError("give exactly one condition: probe, postgres or http")
        return self


class WaitUntil(Action):
    name = "wait_until"
    Args = WaitArgs

    async def _holds(self, args: WaitArgs, ctx: Context) -> tuple[bool, dict[str, Any]]:
        if args.probe is not None:
            status, reason = await probe_status(ctx, args.probe.service, args.probe.tier)
            return status in args.probe.require, {"status": status, "reason": reason}
        if args.postgres is not None:
            from sre.runbooks.actions.datastores import PostgresArgs, PostgresSql

            c = args.postgres
            query = PostgresArgs(
                service=c.service, tier=c.tier, apply_sql=c.sql, check_sql=c.sql, params=c.params
            )
            found = await PostgresSql().check(query, ctx)
            return found.done, {}
        assert args.http is not None
        from sre.runbooks.actions.web import http_request

        response = await http_request(ctx, "GET", args.http.url)
        return response.status_code in args.http.status, {"status": response.status_code}

    async def check(self, args: Any, ctx: Context) -> Check:
        holds, facts = await self._holds(args, ctx)
        return Check(done=holds, facts=facts)

    async def apply(self, args: Any, ctx: Context) -> dict[str, Any]:
        while True:
            holds, facts = await self._holds(args, ctx)
            if holds:
                return facts
            await asyncio.sleep(args.interval)

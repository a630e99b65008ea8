"""The gateway steps of a DR switch: route a tier's traffic (or freeze it), and prove a write goes through.

`gateway_route` sets every entry of the map the gateway's endpoint names
(`params.tier_map`) through the HAProxy runtime API, so a runbook says "all
traffic to secondary" (or "frozen") without knowing a file path. `gateway_write` sends one acknowledged
write through the gateway and reads it back from the database it must be in.
"""

from __future__ import annotations

import re
import time
from typing import Any

from pydantic import Field

from sre.errors import one_line
from sre.runbooks.actions.base import Action, ActionFailed, Args, Check, Context
from sre.runbooks.actions.haproxy import TOKEN, runtime

FROZEN = "frozen"  # the map value whose backend answers 503 to everything
# Writes of runbook checks carry this writer id, apart from any drill writer (0, 1, ...).
CHECK_WRITER = 2**31 - 1


class RouteArgs(Args):
    service: str  # a gateway service; its endpoint in `tier` names the runtime API and the map
    tier: str
    to: str = Field(pattern=TOKEN)  # a tier, or `frozen`


class GatewayRoute(Action):
    """Every tier's gateway traffic to one tier's workers (or frozen): the whole map, one entry per tier.

    A DR switch moves all of it, not only the source tier's frontends: after a
    first switch the other frontends route to the old source too. Compensation
    puts back each entry the first check saw.
    """

    name = "gateway_route"
    Args = RouteArgs
    reversible = True

    def _path(self, a: RouteArgs, ctx: Context) -> str:
        if a.to != FROZEN and a.to not in ctx.platform.tiers:
            raise ActionFailed(f"route to {a.to!r}: not a tier of the model, nor {FROZEN}", permanent=True)
        path = ctx.endpoint(a.service, a.tier).params.get("tier_map")
        if not path or not re.fullmatch(TOKEN, path):
            raise ActionFailed(
                f"{a.service}/{a.tier}: no plain tier_map param in the endpoint", permanent=True
            )
        return path

    async def _entries(self, a: RouteArgs, ctx: Context) -> dict[str, str]:
        path = self._path(a, ctx)
        answer = await runtime(ctx, a.service, a.tier, f"show map {path}")
        entries = {}
        for line in answer.splitlines():
            cols = line.split()
            if len(cols) == 3 and cols[0].startswith("0x"):
                entries[cols[1]] = cols[2]
        if not entries:
            raise ActionFailed(f"{a.service}/{a.tier}: map {path}: {answer[:200] or 'empty'}", permanent=True)
        return entries

    async def _set(self, a: RouteArgs, ctx: Context, wanted: dict[str, str]) -> None:
        path = self._path(a, ctx)
        for key, value in wanted.items():
            if not (re.fullmatch(TOKEN, key) and re.fullmatch(TOKEN, value)):
                raise ActionFailed(f"map entry {key!r} {value!r}: not plain tokens", permanent=True)
            answer = await runtime(ctx, a.service, a.tier, f"set map {path} {key} {value}")
            if answer and not answer.lower().startswith(("done", "ok")):
                raise ActionFailed(f"{a.service}/{a.tier}: set map {key} {value}: {answer[:200]}")

    async def check(self, args: Any, ctx: Context) -> Check:
        entries = await self._entries(args, ctx)
        return Check(done=all(v == args.to for v in entries.values()), facts={"map": entries})

    async def apply(self, args: Any, ctx: Context) -> dict[str, Any]:
        entries = await self._entries(args, ctx)
        await self._set(args, ctx, dict.fromkeys(entries, args.to))
        return {}

    async def verify(self, args: Any, ctx: Context) -> None:
        found = await self.check(args, ctx)
        if not found.done:
            raise ActionFailed(f"{args.service}/{args.tier}: map not all {args.to}: {found.facts['map']}")

    async def compensate(self, args: Any, ctx: Context) -> None:
        before = ctx.facts.get("map")
        if isinstance(before, dict):
            await self._set(args, ctx, {str(k): str(v) for k, v in before.items()})


class WriteArgs(Args):
    service: str  # the gateway
    tier: str  # whose frontend is written through
    database: str  # the PostgreSQL service the row must land in
    expect_tier: str  # the tier whose worker (and database) must have taken it


class GatewayWrite(Action):
    """`POST /write` through the gateway, 200 from the expected tier, and the row read back there."""

    name = "gateway_write"
    Args = WriteArgs

    async def apply(self, args: Any, ctx: Context) -> dict[str, Any]:
        import httpx

        endpoint = ctx.endpoint(args.service, args.tier)
        seq = time.time_ns() // 1000
        ca = endpoint.ca_file or (ctx.environment.ca_file if ctx.environment else None)
        try:
            async with httpx.AsyncClient(timeout=10, verify=_tls(ca)) as client:
                response = await client.post(
                    endpoint.url.rstrip("/") + "/write", json={"writer": CHECK_WRITER, "seq": seq}
                )
        except httpx.HTTPError as exc:
            raise ActionFailed(ctx.scrub(f"{args.service}/{args.tier}: write: {one_line(exc)}")) from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or body.get("tier") != args.expect_tier:
            raise ActionFailed(
                f"{args.service}/{args.tier}: write answered {response.status_code} "
                f"{ctx.scrub(str(body))[:200]}; expected 200 from tier {args.expect_tier}"
            )
        if not await _row_there(ctx, args.database, args.expect_tier, seq):
            raise ActionFailed(
                f"{args.database}/{args.expect_tier}: write {seq} was acknowledged but is not there"
            )
        return {"seq": seq, "tier": body["tier"]}


async def _row_there(ctx: Context, service: str, tier: str, seq: int) -> bool:
    """Read back on the database itself, as the app role (the table is in the app's database)."""
    import psycopg

    endpoint = ctx.endpoint(service, tier)
    extra: dict[str, Any] = {}
    password = ctx.secret(endpoint, "password")
    if password:
        extra["password"] = password
    try:
        async with await psycopg.AsyncConnection.connect(
            endpoint.url, connect_timeout=5, autocommit=True, **extra
        ) as conn:
            cur = await conn.execute(
                "SELECT count(*) FROM drill_writes WHERE writer = %s AND seq = %s", (CHECK_WRITER, seq)
            )
            row = await cur.fetchone()
    except (psycopg.Error, OSError) as exc:
        raise ActionFailed(ctx.scrub(f"{service}/{tier}: read back: {one_line(exc)}")) from None
    return bool(row and row[0])


def _tls(ca_file: str | None) -> Any:
    import ssl

    ctx = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx

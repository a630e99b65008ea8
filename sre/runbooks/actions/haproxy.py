"""HAProxy runtime API: a server's weight or state (ready, drain, maint), a map entry.

The runtime API is a line protocol where `;` and a newline separate commands,
so every name and value is checked against a strict pattern before it is sent.
Its address is the endpoint's `runtime_api` param in the model (`unix:/path`
or `tcp:host:port`), never an argument.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from pydantic import Field, model_validator

from sre.errors import one_line
from sre.runbooks.actions.base import Action, ActionFailed, Args, Check, Context

TOKEN = r"^[A-Za-z0-9_.:/#-]{1,200}$"  # noqa: S105 - a pattern, not a password
# srv_admin_state bits (HAProxy's SRV_ADMF_*): forced maintenance and forced drain.
FMAINT, FDRAIN = 0x01, 0x08


class HaproxyArgs(Args):
    service: str
    tier: str
    op: Literal["set_weight", "set_state", "set_map"]
    backend: str | None = Field(None, pattern=TOKEN)
    server: str | None = Field(None, pattern=TOKEN)
    weight: int | None = Field(None, ge=0, le=256)
    state: Literal["ready", "drain", "maint"] | None = None
    map: str | None = Field(None, pattern=TOKEN)
    key: str | None = Field(None, pattern=TOKEN)
    value: str | None = Field(None, pattern=TOKEN)

    @model_validator(mode="after")
    def _fields(self) -> HaproxyArgs:
        need = {
            "set_weight": ("backend", "server", "weight"),
            "set_state": ("backend", "server", "state"),
            "set_map": ("map", "key", "value"),
        }[self.op]
        missing = [n for n in need if getattr(self, n) is None]
        if missing:
            raise ValueError(f"{self.op} needs {', '.join(missing)}")
        return self


async def runtime(ctx: Context, service: str, tier: str, command: str) -> str:
    endpoint = ctx.endpoint(service, tier)
    address = endpoint.params.get("runtime_api")
    if not address:
        raise ActionFailed(f"{service}/{tier}: the endpoint has no runtime_api param", permanent=True)
    if "\n" in command or ";" in command:
        raise ActionFailed("refusing a runtime API command with a separator in it", permanent=True)
    try:
        async with asyncio.timeout(10):
            if address.startswith("unix:"):
                reader, writer = await asyncio.open_unix_connection("/" + address[5:].lstrip("/"))
            else:
                host, _, port = address.removeprefix("tcp:").rpartition(":")
                reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(command.encode() + b"\n")
            await writer.drain()
            answer = (await reader.read(1 << 20)).decode(errors="replace")
            writer.close()
    except (OSError, TimeoutError, ValueError) as exc:
        raise ActionFailed(f"{service}/{tier}: runtime API {address}: {one_line(exc)}") from None
    return answer.strip()


async def _server_state(ctx: Context, a: HaproxyArgs) -> dict[str, Any]:
    answer = await runtime(ctx, a.service, a.tier, f"show servers state {a.backend}")
    for line in answer.splitlines():
        cols = line.split()
        # be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight ...
        if len(cols) > 7 and cols[1] == a.backend and cols[3] == a.server:
            admin = int(cols[6])
            state = "maint" if admin & FMAINT else "drain" if admin & FDRAIN else "ready"
            return {"weight": int(cols[7]), "state": state}
    raise ActionFailed(
        f"{a.service}/{a.tier}: no server {a.backend}/{a.server}: {answer[:200]}", permanent=True
    )


async def _map_value(ctx: Context, a: HaproxyArgs) -> str | None:
    answer = await runtime(ctx, a.service, a.tier, f"show map {a.map}")
    for line in answer.splitlines():
        cols = line.split()
        if len(cols) == 3 and cols[1] == a.key:
            return cols[2]
    if answer and not answer.startswith("0x") and "Unknown" in answer:
        raise ActionFailed(f"{a.service}/{a.tier}: {answer[:200]}", permanent=True)
    return None


class HaproxyRuntime(Action):
    name = "haproxy_runtime"
    Args = HaproxyArgs
    reversible = True

    async def _observe(self, a: HaproxyArgs, ctx: Context) -> dict[str, Any]:
        if a.op == "set_map":
            return {"value": await _map_value(ctx, a)}
        return await _server_state(ctx, a)

    def _wanted(self, a: HaproxyArgs) -> dict[str, Any]:
        if a.op == "set_weight":
            return {"weight": a.weight}
        if a.op == "set_state":
            return {"state": a.state}
        return {"value": a.value}

    async def check(self, args: Any, ctx: Context) -> Check:
        seen = await self._observe(args, ctx)
        wanted = self._wanted(args)
        return Check(done=all(seen.get(k) == v for k, v in wanted.items()), facts=seen)

    async def _send(self, a: HaproxyArgs, ctx: Context, values: dict[str, Any]) -> None:
        if a.op == "set_weight":
            command = f"set weight {a.backend}/{a.server} {int(values['weight'])}"
        elif a.op == "set_state":
            command = f"set server {a.backend}/{a.server} state {values['state']}"
        elif values.get("value") is None:
            command = f"del map {a.map} {a.key}"
        else:
            value = str(values["value"])
            current = await _map_value(ctx, a)
            command = f"{'set' if current is not None else 'add'} map {a.map} {a.key} {value}"
        answer = await runtime(ctx, a.service, a.tier, command)
        if answer and not answer.lower().startswith(("done", "ok")):
            raise ActionFailed(f"{a.service}/{a.tier}: `{command}`: {answer[:200]}")

    async def apply(self, args: Any, ctx: Context) -> dict[str, Any]:
        await self._send(args, ctx, self._wanted(args))
        return {}

    async def verify(self, args: Any, ctx: Context) -> None:
        found = await self.check(args, ctx)
        if not found.done:
            raise ActionFailed(f"{args.service}/{args.tier}: {args.op} not in effect: {found.facts}")

    async def compensate(self, args: Any, ctx: Context) -> None:
        before = {k: ctx.facts.get(k) for k in self._wanted(args)}
        if args.op != "set_map" and any(v is None for v in before.values()):
            return
        await self._send(args, ctx, before)

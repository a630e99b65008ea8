"""`redis_failover`: make the Redis of tier `to` the master and the old master its replica.

Redis >= 6.2 coordinates it itself: `FAILOVER TO host port TIMEOUT ms` on the master pauses
writes, waits until the target has the whole replication stream, and swaps roles; past the
timeout it rolls back (no FORCE: we never accept losing data). Older servers get the manual
equivalent: `CLIENT PAUSE WRITE` (or ALL before 6.2) on the master, wait until the replica's
offset equals the master's, `REPLICAOF NO ONE` on the replica, `REPLICAOF` on the old master.
Either way the roles are read back afterwards.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field

from sre.errors import one_line
from sre.runbooks.actions.base import Action, ActionFailed, Args, Check, Context

POLL = 0.05


class RedisFailoverArgs(Args):
    service: str
    from_: str = Field(alias="from")  # the tier whose Redis is the master now
    to: str  # the tier whose Redis becomes the master
    timeout_ms: int = Field(default=5000, ge=100, le=600_000)  # the longest write pause
    method: Literal["auto", "failover", "replicaof"] = "auto"  # auto: FAILOVER where the server has it


class RedisNode:
    """One Redis of the service: its address as its replicas and master know it, and a client."""

    def __init__(self, ctx: Context, service: str, tier: str) -> None:
        import redis.asyncio as aioredis

        endpoint = ctx.endpoint(service, tier)
        parts = urlsplit(endpoint.url)
        self.tier = tier
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 6379
        self.client = aioredis.from_url(
            endpoint.url,
            password=ctx.secret(endpoint, "password"),
            socket_timeout=10,
            socket_connect_timeout=10,
            decode_responses=True,
        )
        self.ctx = ctx

    async def call(self, *command: str) -> Any:
        from redis.exceptions import RedisError

        try:
            return await self.client.execute_command(*command)  # type: ignore[no-untyped-call]
        except (RedisError, OSError) as exc:
            raise ActionFailed(self.ctx.scrub(f"redis {self.tier}: {command[0]}: {one_line(exc)}")) from None

    async def replication(self) -> dict[str, Any]:
        from redis.exceptions import RedisError

        try:
            return dict(await self.client.info("replication"))
        except (RedisError, OSError) as exc:
            raise ActionFailed(self.ctx.scrub(f"redis {self.tier}: INFO: {one_line(exc)}")) from None

    async def version(self) -> tuple[int, ...]:
        from redis.exceptions import RedisError

        try:
            found = str((await self.client.info("server")).get("redis_version", "0"))
        except (RedisError, OSError) as exc:
            raise ActionFailed(self.ctx.scrub(f"redis {self.tier}: INFO: {one_line(exc)}")) from None
        return tuple(int(p) for p in found.split(".") if p.isdigit())

    async def close(self) -> None:
        await self.client.aclose()


def _follows(info: dict[str, Any], master: RedisNode) -> bool:
    return (
        info.get("role") == "slave"
        and int(info.get("master_port", -1)) == master.port
        and info.get("master_link_status") == "up"
    )


def _facts(source: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    # Roles only: the plan hash covers facts, and replication offsets move with every write.
    return {"from_role": source.get("role"), "to_role": target.get("role")}


class RedisFailover(Action):
    name = "redis_failover"
    Args = RedisFailoverArgs

    async def _nodes(self, a: RedisFailoverArgs, ctx: Context) -> tuple[RedisNode, RedisNode]:
        if a.from_ == a.to:
            raise ActionFailed(f"redis_failover: from and to are both {a.to}", permanent=True)
        return RedisNode(ctx, a.service, a.from_), RedisNode(ctx, a.service, a.to)

    async def check(self, args: Any, ctx: Context) -> Check:
        source, target = await self._nodes(args, ctx)
        try:
            s, t = await source.replication(), await target.replication()
        finally:
            await source.close()
            await target.close()
        done = t.get("role") == "master" and _follows(s, target)
        if not done and s.get("role") != "master":
            raise ActionFailed(
                f"{args.service}/{args.from_} is not the master (role {s.get('role')}); "
                f"{args.service}/{args.to} is {t.get('role')}",
                permanent=True,
            )
        return Check(done=done, facts=_facts(s, t))

    async def apply(self, args: Any, ctx: Context) -> dict[str, Any]:
        source, target = await self._nodes(args, ctx)
        try:
            method = args.method
            if method == "auto":
                method = "failover" if await source.version() >= (6, 2) else "replicaof"
            started = time.perf_counter()
            if method == "failover":
                await self._failover(args, source, target)
            else:
                await self._replicaof(args, source, target)
            info = await target.replication()
            return {
                "method": method,
                "seconds": round(time.perf_counter() - started, 3),
                "offset": info.get("master_repl_offset"),
            }
        finally:
            await source.close()
            await target.close()

    async def _failover(self, a: RedisFailoverArgs, source: RedisNode, target: RedisNode) -> None:
        info = await source.replication()
        if info.get("master_failover_state", "no-failover") != "no-failover":
            raise ActionFailed(f"redis {a.from_}: a failover is in progress already")
        await source.call("FAILOVER", "TO", target.host, str(target.port), "TIMEOUT", str(a.timeout_ms))
        # FAILOVER answers at once; the handshake goes on until the state is no-failover again.
        deadline = time.monotonic() + a.timeout_ms / 1000 + 5
        while time.monotonic() < deadline:
            info = await source.replication()
            if info.get("master_failover_state") == "no-failover":
                break
            await asyncio.sleep(POLL)
        if info.get("role") != "slave":
            raise ActionFailed(
                f"redis {a.from_}: FAILOVER TO {a.to} did not complete within {a.timeout_ms} ms "
                f"(rolled back; role {info.get('role')})"
            )

    async def _replicaof(self, a: RedisFailoverArgs, source: RedisNode, target: RedisNode) -> None:
        pause = ["CLIENT", "PAUSE", str(a.timeout_ms)]
        if await source.version() >= (6, 2):
            pause.append("WRITE")
        await source.call(*pause)
        try:
            deadline = time.monotonic() + a.timeout_ms / 1000
            while True:
                s, t = await source.replication(), await target.replication()
                if t.get("role") != "slave":
                    raise ActionFailed(f"redis {a.to}: not a replica (role {t.get('role')})", permanent=True)
                if int(t.get("slave_repl_offset", -1)) == int(s.get("master_repl_offset", -2)):
                    break
                if time.monotonic() > deadline:
                    raise ActionFailed(
                        f"redis {a.to}: replica offset {t.get('slave_repl_offset')} did not reach the "
                        f"master's {s.get('master_repl_offset')} within {a.timeout_ms} ms; nothing changed"
                    )
                await asyncio.sleep(POLL)
            await target.call("REPLICAOF", "NO", "ONE")
            await source.call("REPLICAOF", target.host, str(target.port))
        finally:
            await source.call("CLIENT", "UNPAUSE")

    async def verify(self, args: Any, ctx: Context) -> None:
        source, target = await self._nodes(args, ctx)
        try:
            deadline = time.monotonic() + 10
            while True:
                s, t = await source.replication(), await target.replication()
                if t.get("role") == "master" and _follows(s, target):
                    return
                if time.monotonic() > deadline:
                    raise ActionFailed(
                        f"redis {args.to} is {t.get('role')}; redis {args.from_} is {s.get('role')} "
                        f"(link {s.get('master_link_status')}, master port {s.get('master_port')})"
                    )
                await asyncio.sleep(POLL)
        finally:
            await source.close()
            await target.close()

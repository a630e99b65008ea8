"""`redis_promote`: the failover of Redis, for a master that is gone (dr-failover).

There is no master to hand over from, so `FAILOVER` cannot run: the replica of tier `tier` stops
replicating (`REPLICAOF NO ONE`) and takes writes. What it may lack is journaled first: its
replication offset and how long its link has been down (writes the old master took in that time
are lost). A master of `from` that still answers refuses the step: two masters would split the data.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from sre.runbooks.actions.base import Action, ActionFailed, Args, Check, Context
from sre.runbooks.actions.redis_failover import RedisNode


class RedisPromoteArgs(Args):
    service: str
    from_: str = Field(alias="from")  # the tier whose master is gone
    tier: str  # the tier whose replica becomes the master


class RedisPromote(Action):
    name = "redis_promote"
    Args = RedisPromoteArgs

    async def _source_answers_as_master(self, a: RedisPromoteArgs, ctx: Context) -> bool:
        source = RedisNode(ctx, a.service, a.from_)
        try:
            return (await source.replication()).get("role") == "master"
        except ActionFailed:
            return False  # gone, as a failover expects
        finally:
            await source.close()

    async def check(self, args: Any, ctx: Context) -> Check:
        if args.from_ == args.tier:
            raise ActionFailed(f"redis_promote: from and tier are both {args.tier}", permanent=True)
        target = RedisNode(ctx, args.service, args.tier)
        try:
            role = (await target.replication()).get("role")
        finally:
            await target.close()
        if role != "master" and await self._source_answers_as_master(args, ctx):
            raise ActionFailed(
                f"{args.service}/{args.from_} still answers as the master; stop it or cut it off first "
                "(or use redis_failover, which needs it up)",
                permanent=True,
            )
        return Check(done=role == "master", facts={"role": role})

    async def apply(self, args: Any, ctx: Context) -> dict[str, Any]:
        target = RedisNode(ctx, args.service, args.tier)
        try:
            info = await target.replication()
            await target.call("REPLICAOF", "NO", "ONE")
        finally:
            await target.close()
        down = info.get("master_link_down_since_seconds")
        return {
            "offset": info.get("slave_repl_offset"),
            "link_down_seconds": None if down is None else int(down),
            "may_have_lost": "writes the old master took after the link went down",
        }

    async def verify(self, args: Any, ctx: Context) -> None:
        target = RedisNode(ctx, args.service, args.tier)
        try:
            role = (await target.replication()).get("role")
        finally:
            await target.close()
        if role != "master":
            raise ActionFailed(f"redis {args.tier} is {role} after REPLICAOF NO ONE")

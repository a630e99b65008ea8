"""The read-only gates of a DR switch: is there a good candidate, does the control plane survive the
switch, is the old primary fenced. Like Patroni's 412, a gate that fails says why in one line
("no good candidate: secondary replay lag 12 MiB over 1 MiB"); the plan shows it and nothing runs.

A gate's facts are what its approval covers, so they are the stable ones (the
candidate, its timeline), never a lag figure that moves with every write.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from sre.runbooks.actions.base import Action, ActionFailed, Args, Check, Context
from sre.runbooks.actions.pg_conn import CONNECT_TIMEOUT, admin, one, position

# On the standby: where it is, whether it streams, and how old its last replayed transaction is.
STANDBY = """
SELECT pg_is_in_recovery(), pg_is_wal_replay_paused(),
       (SELECT status FROM pg_stat_wal_receiver), (SELECT received_tli FROM pg_stat_wal_receiver),
       pg_wal_lsn_diff(%(lsn)s::pg_lsn, pg_last_wal_replay_lsn()),
       pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()),
       extract(epoch FROM now() - pg_last_xact_replay_timestamp())
"""


def _bytes(size: float) -> str:
    from sre.probes.judge import format_bytes

    return format_bytes(size)


class CandidateArgs(Args):
    service: str
    source: str  # the tier of the current primary
    target: str  # the tier of the standby to promote
    mode: Literal["switchover", "failover"] = "switchover"


def bounds(ctx: Context, service: str, tier: str) -> tuple[int, float | None]:
    """The model's byte and time bounds of a replica tier (Patroni's maximum_lag_on_failover)."""
    entry = ctx.platform.services[service].tiers.get(tier) if service in ctx.platform.services else None
    max_bytes = (entry.max_lag_bytes if entry else None) or ctx.platform.policies.replication.max_lag_bytes
    return max_bytes, entry.max_lag_seconds if entry else None


class PgCandidate(Action):
    """The target can take over: a streaming standby of the source's timeline, within both lag bounds.

    In failover mode the source is not asked (it is gone): the standby must
    have replayed what it received, within the byte bound.
    """

    name = "pg_candidate"
    Args = CandidateArgs

    async def _judge(self, a: CandidateArgs, ctx: Context) -> dict[str, Any]:
        if a.source == a.target:
            raise ActionFailed(f"source and target are both {a.source}", permanent=True)
        source_lsn, source_tli = "0/0", None  # failover: the source is not asked
        if a.mode == "switchover":
            recovering, source_lsn, source_tli = await position(ctx, a.service, a.source)
            if recovering:
                raise ActionFailed(
                    f"no switch: source {a.source} is not a primary (it is in recovery)", permanent=True
                )
        try:
            async with admin(ctx, a.service, a.target) as conn:
                row = await one(conn, STANDBY, {"lsn": source_lsn})
        except ActionFailed as exc:
            tier = ctx.platform.tiers.get(a.target)
            if tier is not None and tier.standby == "cold":
                raise ActionFailed(
                    f"no good candidate: {a.target} is a cold standby that does not answer; start it and "
                    f"let it catch up first ({exc})",
                    permanent=True,
                ) from None
            raise
        recovering, paused, receiver, received_tli, lag, pending, age = row
        why = "no good candidate: " + a.target
        if not recovering:
            raise ActionFailed(f"{why} is not a standby (not in recovery)", permanent=True)
        if paused:
            raise ActionFailed(f"{why} has its WAL replay paused", permanent=True)
        max_bytes, max_seconds = bounds(ctx, a.service, a.target)
        if a.mode == "failover":
            if pending is not None and int(pending) > max_bytes:
                raise ActionFailed(
                    f"{why} has {_bytes(int(pending))} received and not replayed, over {_bytes(max_bytes)}",
                    permanent=True,
                )
            return {"candidate": a.target, "mode": a.mode}
        if receiver != "streaming":
            raise ActionFailed(
                f"{why} is not streaming from {a.source} (walreceiver: {receiver or 'none'})", permanent=True
            )
        if received_tli is not None and int(received_tli) != source_tli:
            raise ActionFailed(
                f"{why} is on timeline {received_tli}, {a.source} on {source_tli}", permanent=True
            )
        behind_bytes = max(0, int(lag or 0))
        if behind_bytes > max_bytes:
            raise ActionFailed(
                f"{why} replay lag {_bytes(behind_bytes)} over {_bytes(max_bytes)}", permanent=True
            )
        # Time lag only counts while something is left to replay: an idle standby is not behind.
        seconds = float(age or 0.0) if behind_bytes > 0 else 0.0
        if max_seconds is not None and seconds > max_seconds:
            raise ActionFailed(f"{why} replay lag {seconds:.1f} s over {max_seconds:g} s", permanent=True)
        return {"candidate": a.target, "timeline": source_tli}

    async def check(self, args: Any, ctx: Context) -> Check:
        return Check(done=True, facts=await self._judge(args, ctx))

    async def apply(self, args: Any, ctx: Context) -> dict[str, Any]:
        return await self._judge(args, ctx)


class ControlPlaneArgs(Args):
    source: str  # the tier the switch leaves


class ControlPlaneGate(Action):
    """`sre serve` and its store must not be in the DC a switch leaves: they would go down with it.

    Where they run is platform.yaml's `control_plane.tier`, unless the engine
    was told otherwise (`$SRE_CONTROL_PLANE_TIER`: where this one really runs).
    """

    name = "dr_control_plane"
    Args = ControlPlaneArgs

    async def check(self, args: Any, ctx: Context) -> Check:
        tiers = ctx.platform.tiers
        where = ctx.settings.control_plane_tier or (
            ctx.platform.control_plane.tier if ctx.platform.control_plane else None
        )
        if where is None:
            raise ActionFailed(
                "the model names no control_plane tier: where sre serve runs is unknown", permanent=True
            )
        if where not in tiers or args.source not in tiers:
            raise ActionFailed(
                f"unknown tier {where if where not in tiers else args.source!r}", permanent=True
            )
        dc = tiers[where].dc
        if dc == tiers[args.source].dc:
            raise ActionFailed(
                f"control plane (sre serve and its store) runs in tier {where}, DC {dc}: the DC this switch "
                "leaves; move it first ($SRE_CONTROL_PLANE_TIER says where this engine runs)",
                permanent=True,
            )
        return Check(done=True, facts={"control_plane": where, "dc": dc})

    async def apply(self, args: Any, ctx: Context) -> dict[str, Any]:
        return (await self.check(args, ctx)).facts


class FencedArgs(Args):
    service: str
    tier: str  # the old primary's tier
    wait: float = Field(3.0, gt=0, le=60)  # how long a connection attempt may take


class PgFenced(Action):
    """The old primary cannot take writes: unreachable, or a standby. Verified here, not claimed.

    A failover while the old primary still answers as a primary would split the
    brain: two primaries taking writes. This gate refuses it.
    """

    name = "pg_fenced"
    Args = FencedArgs

    async def check(self, args: Any, ctx: Context) -> Check:
        import asyncio

        try:
            async with asyncio.timeout(min(args.wait, CONNECT_TIMEOUT)):
                async with admin(ctx, args.service, args.tier) as conn:
                    (recovering,) = await one(conn, "SELECT pg_is_in_recovery()")
        except (ActionFailed, TimeoutError):
            return Check(done=True, facts={"fenced": "unreachable"})
        if recovering:
            return Check(done=True, facts={"fenced": "standby"})
        raise ActionFailed(
            f"not fenced: {args.service}/{args.tier} still answers as a primary; stop it or cut it off "
            "before a failover (or run dr-switchover, which needs it up)",
            permanent=True,
        )

    async def apply(self, args: Any, ctx: Context) -> dict[str, Any]:
        return (await self.check(args, ctx)).facts

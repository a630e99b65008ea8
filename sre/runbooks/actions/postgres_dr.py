"""The PostgreSQL steps of a DR switch: stop the old primary's writes, wait for the standby to replay
them, promote it, and rejoin the old primary as its standby.

Each step's check is stable before the run (so the approved plan hash holds)
and true once its effect is there (so a resumed run does not do it twice).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from pydantic import Field

from sre.runbooks.actions.base import Action, ActionFailed, Args, Check, Context
from sre.runbooks.actions.pg_conn import admin, admin_credentials, behind, one, position

POLL = 0.05


class TierArgs(Args):
    service: str
    tier: str


class PgReadOnly(Action):
    """The source takes no more writes: `default_transaction_read_only`, its sessions ended.

    Its final WAL position is read after that and journaled (`final_lsn`), the
    point the target must replay. Compensation makes it writable again (abort).
    """

    name = "pg_read_only"
    Args = TierArgs
    reversible = True

    async def _read_only(self, a: TierArgs, ctx: Context) -> bool:
        async with admin(ctx, a.service, a.tier) as conn:
            (value,) = await one(conn, "SHOW default_transaction_read_only")
        return str(value) == "on"

    async def check(self, args: Any, ctx: Context) -> Check:
        read_only = await self._read_only(args, ctx)
        return Check(done=read_only, facts={"read_only": read_only})

    async def apply(self, args: Any, ctx: Context) -> dict[str, Any]:
        async with admin(ctx, args.service, args.tier) as conn:
            await conn.execute(b"ALTER SYSTEM SET default_transaction_read_only = on")
            await conn.execute(b"SELECT pg_reload_conf()")
        # A new session sees the reload once the postmaster has read it; then end the old ones, whose
        # open transactions may still write.
        deadline = time.monotonic() + 5
        while not await self._read_only(args, ctx):
            if time.monotonic() > deadline:
                raise ActionFailed(f"{args.service}/{args.tier}: read-only not in effect after a reload")
            await asyncio.sleep(POLL)
        async with admin(ctx, args.service, args.tier) as conn:
            (ended,) = await one(
                conn,
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
            )
        _, lsn, timeline = await position(ctx, args.service, args.tier)
        return {"final_lsn": lsn, "timeline": timeline, "sessions_ended": int(ended)}

    async def verify(self, args: Any, ctx: Context) -> None:
        if not await self._read_only(args, ctx):
            raise ActionFailed(f"{args.service}/{args.tier}: still writable")

    async def compensate(self, args: Any, ctx: Context) -> None:
        async with admin(ctx, args.service, args.tier) as conn:
            await conn.execute(b"ALTER SYSTEM RESET default_transaction_read_only")
            await conn.execute(b"SELECT pg_reload_conf()")


class CatchUpArgs(Args):
    service: str
    source: str
    target: str
    deadline: float = Field(30.0, gt=0, le=600)  # seconds; keep the step's timeout above it


class PgCatchUp(Action):
    """Wait until the target replayed the (read-only) source's final WAL position, or fail by the deadline.

    Failing is permanent: the run compensates (the source writable again, the
    gateway unfrozen) rather than promote a standby that is missing writes.
    """

    name = "pg_catch_up"
    Args = CatchUpArgs

    async def check(self, args: Any, ctx: Context) -> Check:
        # Not judged before the run: the source is still taking writes then. `apply` returns at once
        # when the target is there already.
        return Check(done=False)

    async def apply(self, args: Any, ctx: Context) -> dict[str, Any]:
        started = time.monotonic()
        _, final, _ = await position(ctx, args.service, args.source)
        gap = await behind(ctx, args.service, args.target, final)
        while gap > 0:
            if time.monotonic() - started > args.deadline:
                raise ActionFailed(
                    f"{args.target} did not replay {args.source}'s final WAL position {final} within "
                    f"{args.deadline:g} s ({gap} bytes short)",
                    permanent=True,
                )
            await asyncio.sleep(POLL)
            gap = await behind(ctx, args.service, args.target, final)
        return {"final_lsn": final, "waited_seconds": round(time.monotonic() - started, 3)}


class PromoteArgs(Args):
    service: str
    tier: str
    wait_seconds: int = Field(30, ge=1, le=600)


class PgPromote(Action):
    """`pg_promote(wait => true)`, verified by `pg_is_in_recovery() = false`: the point of no return."""

    name = "pg_promote"
    Args = PromoteArgs

    async def check(self, args: Any, ctx: Context) -> Check:
        recovering, _, _ = await position(ctx, args.service, args.tier)
        return Check(done=not recovering, facts={"in_recovery": recovering})

    async def apply(self, args: Any, ctx: Context) -> dict[str, Any]:
        async with admin(ctx, args.service, args.tier) as conn:
            (promoted,) = await one(
                conn, "SELECT pg_promote(wait => true, wait_seconds => %s)", (args.wait_seconds,)
            )
        if not promoted:
            raise ActionFailed(f"{args.service}/{args.tier}: not promoted within {args.wait_seconds} s")
        _, lsn, timeline = await position(ctx, args.service, args.tier)
        return {"lsn": lsn, "timeline": timeline}

    async def verify(self, args: Any, ctx: Context) -> None:
        recovering, _, _ = await position(ctx, args.service, args.tier)
        if recovering:
            raise ActionFailed(f"{args.service}/{args.tier}: still in recovery after pg_promote")


class RejoinArgs(Args):
    service: str
    tier: str  # the former primary, to become a standby
    primary: str  # the tier of the new primary
    deadline: float = Field(60.0, gt=0, le=600)


class PgRejoin(Action):
    """The former primary streams from the new one: stopped, rewound (pg_rewind), restarted as a standby.

    The sandbox supervises the servers, so the restart goes through it (the
    endpoint's `sandbox_dir` and `sandbox_process` params); elsewhere Patroni's
    rejoin does this, and the step says so instead of guessing.
    """

    name = "pg_rejoin"
    Args = RejoinArgs

    def _where(self, a: RejoinArgs, ctx: Context) -> tuple[str, str]:
        params = ctx.endpoint(a.service, a.tier).params
        root, process = params.get("sandbox_dir"), params.get("sandbox_process")
        if not root or not process:
            raise ActionFailed(
                f"{a.service}/{a.tier}: the endpoint has no sandbox_dir/sandbox_process params; "
                "rejoin it with Patroni (or pg_rewind by hand)",
                permanent=True,
            )
        return root, process

    async def _streaming(self, a: RejoinArgs, ctx: Context, slot: str) -> bool:
        async with admin(ctx, a.service, a.primary) as conn:
            (active,) = await one(
                conn,
                "SELECT coalesce(bool_or(active), false) FROM pg_replication_slots WHERE slot_name = %s",
                (slot,),
            )
        return bool(active)

    async def check(self, args: Any, ctx: Context) -> Check:
        from sre.sandbox.pgcluster import slot_name

        _, process = self._where(args, ctx)
        try:
            recovering, _, _ = await position(ctx, args.service, args.tier)
        except ActionFailed:
            return Check(done=False, facts={"standby": False})
        done = recovering and await self._streaming(args, ctx, slot_name(process))
        return Check(done=done, facts={"standby": recovering})

    async def apply(self, args: Any, ctx: Context) -> dict[str, Any]:
        from psycopg.conninfo import conninfo_to_dict

        from sre.errors import SreError
        from sre.sandbox.pgcluster import rejoin_as_standby, slot_name

        root, process = self._where(args, ctx)
        slot = slot_name(process)
        async with admin(ctx, args.service, args.primary) as conn:
            await conn.execute(
                b"SELECT pg_create_physical_replication_slot(%s, true)"
                b" WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = %s)",
                (slot, slot),
            )
            # pg_rewind reads the source's timeline from its control file, which a promotion updates
            # only at its next checkpoint: without one it sees "the same timeline" and rewinds nothing.
            await conn.execute(b"CHECKPOINT")
        new_primary = admin_credentials(ctx, args.service, args.primary)
        port = int(conninfo_to_dict(new_primary["conninfo"]).get("port") or 5432)
        try:
            done = await asyncio.to_thread(
                rejoin_as_standby,
                Path(root),
                process,
                port,
                str(new_primary.get("user", "postgres")),
                str(new_primary.get("password", "")),
            )
        except (SreError, OSError) as exc:
            raise ActionFailed(ctx.scrub(f"{args.service}/{args.tier}: rejoin: {exc}")) from None
        return done

    async def verify(self, args: Any, ctx: Context) -> None:
        from sre.sandbox.pgcluster import slot_name

        _, process = self._where(args, ctx)
        deadline = time.monotonic() + args.deadline
        while not await self._streaming(args, ctx, slot_name(process)):
            if time.monotonic() > deadline:
                raise ActionFailed(
                    f"{args.service}/{args.tier}: not streaming from {args.primary} after {args.deadline:g} s"
                )
            await asyncio.sleep(0.2)


class LossArgs(Args):
    service: str
    target: str  # the standby a failover promotes
    replay_wait: float = Field(5.0, ge=0, le=60)  # seconds for replay to reach what was received


class PgRecordLoss(Action):
    """Failover only: journal what the promoted standby may be missing (it never heard the rest).

    The last WAL position it received and replayed, and how old its last
    replayed transaction is: writes acknowledged by the old primary after that
    are lost unless the old primary's disk is recovered.
    """

    name = "pg_record_loss"
    Args = LossArgs

    async def apply(self, args: Any, ctx: Context) -> dict[str, Any]:
        # Promotion replays all that was received: wait a little for replay to get there, so the
        # record says what the new primary will hold (a stuck replay is recorded as such).
        deadline = time.monotonic() + args.replay_wait
        async with admin(ctx, args.service, args.target) as conn:
            while True:
                received, replayed, pending, at, age = await one(
                    conn,
                    "SELECT pg_last_wal_receive_lsn()::text, pg_last_wal_replay_lsn()::text,"
                    " coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0),"
                    " pg_last_xact_replay_timestamp()::text,"
                    " extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8",
                )
                if pending <= 0 or time.monotonic() >= deadline:
                    break
                await asyncio.sleep(POLL)
        return {
            "last_received_lsn": received,
            "last_replayed_lsn": replayed,
            "replayed_all_received": pending <= 0,
            "last_replayed_at": at,
            "data_age_seconds": None if age is None else round(float(age), 3),
            "may_have_lost": "writes the old primary acknowledged after the last received position",
        }

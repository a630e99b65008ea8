"""`sre drill dr`: switch the platform back and forth while writers write, and measure what it cost.

Each cycle is one ordinary run of the `dr-switchover` runbook (planned, approved as `drill`,
journaled in the store like any run). Around the cycles, K writers write through the gateway
without pause. Afterwards every acknowledged write is looked up, by writer and sequence number,
on the PostgreSQL that is primary then: one missing is a lost acknowledged row, and the drill
fails. RTO is the longest time with no acknowledged write, across all writers.
"""

from __future__ import annotations

import asyncio
import secrets
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sre.drill.writers import Writers, longest_gap
from sre.errors import InputError, SreError, flat

if TYPE_CHECKING:
    from sre.platform.model import Endpoint
    from sre.runbooks.engine import Engine

RUNBOOK = "dr-switchover"
APPROVER = "drill"
WRITER_SPACE = 1000  # writer ids of one drill are BASE+1 .. BASE+K: earlier drills' rows never count
FIRST_WRITE_TIMEOUT = 15.0
SETTLE = 1.0  # writing goes on this long after the last cycle, so its outage has an end

Hook = Callable[[int, str, str], Awaitable[None]]  # cycle number, from, to


@dataclass
class Hooks:
    """Fault injection for the drill's own tests: run before or after each cycle's switchover."""

    before_cycle: Hook | None = None
    after_cycle: Hook | None = None


@dataclass
class StepTime:
    id: str
    outcome: str  # done, skipped, failed, compensated, not run
    seconds: float | None
    reason: str = ""

    def body(self) -> dict[str, Any]:
        seconds = None if self.seconds is None else round(self.seconds, 3)
        return {"id": self.id, "outcome": self.outcome, "seconds": seconds, "reason": self.reason}


@dataclass
class Cycle:
    number: int
    from_: str
    to: str
    started: float
    ended: float = 0.0
    run_id: str | None = None
    state: str = ""
    message: str = ""
    rto_seconds: float = 0.0
    rows_acknowledged: int = 0
    rows_lost: int = 0
    lost_sample: list[tuple[int, int]] = field(default_factory=list)
    data_age_seconds: float = 0.0
    steps: list[StepTime] = field(default_factory=list)
    failure: str = ""  # why the cycle counts as failed (empty when it passed)

    @property
    def ok(self) -> bool:
        return not self.failure

    def body(self) -> dict[str, Any]:
        return {
            "cycle": self.number,
            "from": self.from_,
            "to": self.to,
            "run_id": self.run_id,
            "state": self.state,
            "ok": self.ok,
            "failure": self.failure,
            "seconds": round(self.ended - self.started, 3),
            "rto_seconds": round(self.rto_seconds, 3),
            "rows_acknowledged": self.rows_acknowledged,
            "rows_lost": self.rows_lost,
            "lost_sample": [{"writer": w, "seq": s} for w, s in self.lost_sample],
            "data_age_seconds": round(self.data_age_seconds, 3),
            "steps": [s.body() for s in self.steps],
        }


@dataclass
class Report:
    runbook: str
    writers: int
    cycles: list[Cycle]
    rows_acknowledged: int
    rows_lost: int
    failed_writes: int
    tiers: dict[str, dict[str, str]]
    notes: list[str]

    @property
    def ok(self) -> bool:
        return self.rows_lost == 0 and all(c.ok for c in self.cycles) and bool(self.cycles)

    def summary(self) -> dict[str, Any]:
        rtos = sorted(c.rto_seconds for c in self.cycles)
        return {
            "ok": self.ok,
            "cycles": len(self.cycles),
            "cycles_failed": sum(1 for c in self.cycles if not c.ok),
            "rto_p50": round(percentile(rtos, 50), 3),
            "rto_p95": round(percentile(rtos, 95), 3),
            "rto_max": round(rtos[-1], 3) if rtos else 0.0,
            "rows_acknowledged": self.rows_acknowledged,
            "rows_lost": self.rows_lost,
            "failed_writes": self.failed_writes,
        }

    def body(self) -> dict[str, Any]:
        return {
            "runbook": self.runbook,
            "writers": self.writers,
            "cycles": [c.body() for c in self.cycles],
            "summary": self.summary(),
            "tiers": self.tiers,
            "notes": self.notes,
        }


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of sorted values (0 for none): p95 of 20 cycles is the 19th."""
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    rank = max(1, -(-len(values) * pct // 100))  # ceil
    return values[int(rank) - 1]


# --- the model's places -----------------------------------------------------------------------


def _service_of_kind(engine: Engine, kind: str) -> str:
    for sid, service in engine.platform.services.items():
        if service.kind == kind:
            return sid
    raise InputError(f"{engine.platform.source}: no service of kind {kind} to check the writes on")


def _endpoint(engine: Engine, service: str, tier: str) -> Endpoint | None:
    if engine.environment is None:
        return None
    return engine.environment.endpoints.get(service, {}).get(tier)


def _secret(endpoint: Endpoint, name: str) -> str | None:
    from sre.probes.context import resolve_secret

    ref = endpoint.secrets.get(name)
    return resolve_secret(ref, name) if ref is not None else None


def switch_tiers(engine: Engine) -> tuple[str, str]:
    """The two tiers a drill switches between: the active one and the hot standby."""
    by_mode = {t.standby: tid for tid, t in engine.platform.tiers.items()}
    if "active" not in by_mode or "hot" not in by_mode:
        raise InputError(f"{engine.platform.source}: a DR drill needs an active tier and a hot standby tier")
    return by_mode["active"], by_mode["hot"]


async def _pg(engine: Engine, service: str, tier: str) -> Any:
    import psycopg

    endpoint = _endpoint(engine, service, tier)
    if endpoint is None:
        raise SreError(f"no endpoint for {service}/{tier} in environment {engine.settings.env}")
    return await psycopg.AsyncConnection.connect(
        endpoint.url, password=_secret(endpoint, "password"), connect_timeout=5, autocommit=True
    )


async def postgres_role(engine: Engine, service: str, tier: str) -> str:
    try:
        async with await _pg(engine, service, tier) as conn:
            cur = await conn.execute("SELECT pg_is_in_recovery()")
            row = await cur.fetchone()
    except Exception as exc:  # a tier that is down is a state to report, not a crash
        return _down(exc)
    return "replica" if row and row[0] else "primary"


def _down(exc: BaseException) -> str:
    """`down (Connection refused)`: the end of the error's first line (drivers add hints below it)."""
    first = (str(exc).strip().splitlines() or [""])[0].rsplit(": ", 1)[-1]
    return f"down ({flat(first, 40) or type(exc).__name__})"


async def redis_role(engine: Engine, service: str, tier: str) -> str:
    import redis.asyncio as aioredis

    endpoint = _endpoint(engine, service, tier)
    if endpoint is None:
        return "-"
    client = aioredis.from_url(endpoint.url, password=_secret(endpoint, "password"), socket_timeout=5)
    try:
        role = str((await client.info("replication")).get("role"))
    except Exception as exc:
        return _down(exc)
    finally:
        await client.aclose()
    return {"slave": "replica"}.get(role, role)


async def nats_role(engine: Engine, service: str, tier: str) -> str:
    """What the tier's JetStream stream (endpoint param `stream`) is: writable, mirror, ..., or down."""
    from sre.runbooks.actions.nats_conn import connected
    from sre.runbooks.actions.nats_streams import describe

    endpoint = _endpoint(engine, service, tier)
    if endpoint is None:
        return "-"
    name = endpoint.params.get("stream")
    try:
        async with connected(engine.context("drill-tier-states"), service, tier) as nc:
            if name is None:
                return "up"
            return (await describe(nc.jetstream(timeout=5), name, tier)).role
    except Exception as exc:
        return _down(exc)


async def tier_states(engine: Engine) -> dict[str, dict[str, str]]:
    """Each tier's data stores as they are now: primary, replica, writable, mirror, down, or - (none here)."""
    out: dict[str, dict[str, str]] = {}
    services = [
        (sid, s.kind)
        for sid, s in engine.platform.services.items()
        if s.kind in ("postgres", "redis", "nats")
    ]
    for tier in engine.platform.tiers:
        row: dict[str, str] = {}
        for sid, kind in services:
            if _endpoint(engine, sid, tier) is None:
                row[sid] = "-"
            elif kind == "postgres":
                row[sid] = await postgres_role(engine, sid, tier)
            elif kind == "nats":
                row[sid] = await nats_role(engine, sid, tier)
            else:
                row[sid] = await redis_role(engine, sid, tier)
        out[tier] = row
    return out


async def current_primary(engine: Engine, service: str, tiers: tuple[str, str]) -> str:
    for tier in tiers:
        if await postgres_role(engine, service, tier) == "primary":
            return tier
    raise SreError(f"neither {tiers[0]} nor {tiers[1]} has a primary {service}: nothing to switch from")


async def present_rows(
    engine: Engine, service: str, tier: str, base: int, count: int
) -> set[tuple[int, int]]:
    async with await _pg(engine, service, tier) as conn:
        cur = await conn.execute(
            "SELECT writer, seq FROM drill_writes WHERE writer > %s AND writer <= %s", (base, base + count)
        )
        return {(int(w), int(s)) for w, s in await cur.fetchall()}


# --- the journal ------------------------------------------------------------------------------


def step_times(engine: Engine, journal: list[dict[str, Any]]) -> list[StepTime]:
    """Each step of the runbook with its time and outcome, from the run's journal."""
    runbook = engine.catalog.runbooks.get(RUNBOOK)
    order = [s.id for s in runbook.spec.steps] if runbook else []
    for e in journal:
        if e["step"] != "run" and e["step"] not in order:
            order.append(e["step"])
    out = []
    for sid in order:
        events = [e for e in journal if e["step"] == sid]
        done = next((e for e in events if e["event"] == "done"), None)
        checked = next((e for e in events if e["event"] == "checked"), None)
        failed = [e for e in events if e["event"] == "failed"]
        facts = (checked or {}).get("facts") or {}
        skipped_why = str(facts.get("skipped", "")) if isinstance(facts, dict) else ""
        if done is not None:
            seconds = float(done.get("seconds") or 0.0)
            if skipped_why:
                out.append(StepTime(sid, "skipped", seconds, skipped_why))
            else:
                out.append(StepTime(sid, "done" if not done.get("skipped") else "already", seconds))
        elif failed:
            outcome = "compensated" if any(e["event"] == "compensated" for e in events) else "failed"
            out.append(StepTime(sid, outcome, None, str(failed[-1].get("error", ""))))
        else:
            out.append(StepTime(sid, "not run", None))
    return out


# --- the drill --------------------------------------------------------------------------------


def _tls(engine: Engine, endpoint: Endpoint) -> ssl.SSLContext | bool:
    ca = endpoint.ca_file or (engine.environment.ca_file if engine.environment else None)
    if not endpoint.url.startswith("https:"):
        return False
    ctx = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


@dataclass
class _Drill:
    engine: Engine
    pool: Writers
    database: str
    tiers: tuple[str, str]
    base: int
    count: int
    hooks: Hooks
    requested_by: str
    lost: set[tuple[int, int]] = field(default_factory=set)

    async def cycle(self, number: int, source: str) -> tuple[Cycle, str]:
        """One switchover away from `source`, accounted; the cycle and the primary tier after it."""
        from sre.runbooks.invoke import run_runbook

        target = self.tiers[1] if source == self.tiers[0] else self.tiers[0]
        cycle = Cycle(number, source, target, started=time.time())
        if self.hooks.before_cycle:
            await self.hooks.before_cycle(number, source, target)
        try:
            outcome = await run_runbook(
                self.engine,
                RUNBOOK,
                {"from": source, "to": target},
                requested_by=self.requested_by,
                approved_by=APPROVER,
                trigger="drill",
            )
            cycle.run_id, cycle.state, cycle.message = outcome.run_id, outcome.state, outcome.message
            cycle.steps = step_times(self.engine, outcome.journal)
            if not outcome.ok:
                cycle.failure = (
                    f"run {outcome.run_id or '(refused at plan)'} {outcome.state}: {outcome.message}"
                )
        except SreError as exc:
            cycle.state, cycle.failure = "error", str(exc)
        cycle.ended = time.time()
        if self.hooks.after_cycle:
            await self.hooks.after_cycle(number, source, target)
        primary = await current_primary(self.engine, self.database, self.tiers)
        await self.account(cycle, primary)
        return cycle, primary

    async def account(self, cycle: Cycle, primary: str) -> None:
        """The cycle's RTO, its acknowledged rows, and acknowledged rows missing on the primary now."""
        checked_at = time.time()
        writes = self.pool.writes
        cycle.rows_acknowledged = len(writes.acked_between(cycle.started, cycle.ended))
        cycle.rto_seconds = longest_gap(writes.ack_times(), cycle.started, cycle.ended)
        present = await present_rows(self.engine, self.database, primary, self.base, self.count)
        newly = (writes.acked_before(checked_at) - present) - self.lost
        self.lost |= newly
        cycle.rows_lost = len(newly)
        cycle.lost_sample = [(w - self.base, s) for w, s in sorted(newly)[:5]]
        if newly:
            oldest = min(writes.acked[key] for key in newly)
            cycle.data_age_seconds = max(0.0, cycle.ended - oldest)
            cycle.failure = cycle.failure or (
                f"{len(newly)} acknowledged rows missing on {self.database}/{primary} "
                f"(e.g. writer {cycle.lost_sample[0][0]} seq {cycle.lost_sample[0][1]})"
            )


async def run_drill(
    engine: Engine,
    *,
    cycles: int,
    writers: int,
    gateway: str = "ext_api",
    requested_by: str = "drill-operator",
    hooks: Hooks | None = None,
    progress: Callable[[Cycle], None] | None = None,
) -> Report:
    engine.catalog.get(RUNBOOK)  # an unknown runbook is an input error before anything starts
    tiers = switch_tiers(engine)
    database = _service_of_kind(engine, "postgres")
    entry = _endpoint(engine, gateway, tiers[0])
    if entry is None:
        raise InputError(f"environment {engine.settings.env} has no endpoint for {gateway}/{tiers[0]}")
    # A drill switches back and forth on purpose; the breaker is for alerts that repeat.
    engine.breaker = False
    url = entry.url.rstrip("/") + "/write"
    base = secrets.randbelow((2**31 - 1) // WRITER_SPACE - 1) * WRITER_SPACE
    pool = Writers(url, range(base + 1, base + writers + 1), _tls(engine, entry))
    drill = _Drill(engine, pool, database, tiers, base, writers, hooks or Hooks(), requested_by)
    done: list[Cycle] = []
    await pool.start()
    try:
        if not await pool.wait_for_first(FIRST_WRITE_TIMEOUT):
            errors = ", ".join(f"{k} x{v}" for k, v in pool.writes.errors.items()) or "no answer"
            raise SreError(f"no write to {url} succeeded in {FIRST_WRITE_TIMEOUT:g} s ({errors})")
        source = await current_primary(engine, database, tiers)
        for number in range(1, cycles + 1):
            cycle, source = await drill.cycle(number, source)
            done.append(cycle)
            if progress:
                progress(cycle)
            if not cycle.ok:
                break  # the platform may be half-way; a human looks before anything else moves
        await asyncio.sleep(SETTLE)
    finally:
        await pool.stop()
    final = await current_primary(engine, database, tiers)
    missing = pool.writes.acked.keys() - await present_rows(engine, database, final, base, writers)
    if done:
        # The last cycle's outage ends with the first write after it, which may come during SETTLE.
        done[-1].rto_seconds = longest_gap(pool.writes.ack_times(), done[-1].started, done[-1].ended)
    return Report(
        runbook=RUNBOOK,
        writers=writers,
        cycles=done,
        rows_acknowledged=len(pool.writes.acked),
        rows_lost=len(missing | drill.lost),
        failed_writes=pool.writes.failed,
        tiers=await tier_states(engine),
        notes=[
            f"each cycle is a run of {RUNBOOK}, requested by {requested_by} and approved as "
            f"`{APPROVER}` where it needs approval; the circuit breaker is not applied to drill runs",
            f"writes: POST {url}, {writers} writers (ids {base + 1}..{base + writers} in drill_writes)",
            f"rows checked on {database}/{final}, the primary at the end",
        ],
    )

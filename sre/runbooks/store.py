"""The runbook store: the alert inbox, episodes, plans, approvals, runs, their journal, and locks.

One schema for SQLite and PostgreSQL (ids are text made here, times are Unix
seconds), so one test suite covers both. Every write is one transaction; the
journal append and the lock's fencing check are the same transaction, so a
worker that lost its lock cannot journal (and so cannot act) any more.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sre.runbooks.db import Database, StoreError, Tx

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS notifications (
        id TEXT PRIMARY KEY, delivery TEXT NOT NULL UNIQUE, received_at DOUBLE PRECISION NOT NULL,
        body TEXT NOT NULL, state TEXT NOT NULL, owner TEXT, error TEXT)""",
    "CREATE INDEX IF NOT EXISTS notifications_state ON notifications (state, received_at)",
    """CREATE TABLE IF NOT EXISTS episodes (
        fingerprint TEXT NOT NULL, starts_at TEXT NOT NULL, alertname TEXT NOT NULL, status TEXT NOT NULL,
        labels TEXT NOT NULL, runbook TEXT, run_id TEXT, reason TEXT,
        first_seen DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (fingerprint, starts_at))""",
    """CREATE TABLE IF NOT EXISTS plans (
        hash TEXT PRIMARY KEY, runbook TEXT NOT NULL, body TEXT NOT NULL, requested_by TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS approvals (
        plan_hash TEXT NOT NULL, approver TEXT NOT NULL, approved_at DOUBLE PRECISION NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (plan_hash, approver))""",
    """CREATE TABLE IF NOT EXISTS runs (
        id TEXT PRIMARY KEY, runbook TEXT NOT NULL, target TEXT NOT NULL, params TEXT NOT NULL,
        plan_hash TEXT NOT NULL, state TEXT NOT NULL, requested_by TEXT NOT NULL, approved_by TEXT,
        trigger TEXT NOT NULL, owner TEXT, lease_until DOUBLE PRECISION, abort_requested INTEGER NOT NULL,
        created_at DOUBLE PRECISION NOT NULL, started_at DOUBLE PRECISION, ended_at DOUBLE PRECISION,
        message TEXT)""",
    "CREATE INDEX IF NOT EXISTS runs_state ON runs (state, created_at)",
    "CREATE INDEX IF NOT EXISTS runs_target ON runs (runbook, target, created_at)",
    """CREATE TABLE IF NOT EXISTS journal (
        run_id TEXT NOT NULL, seq INTEGER NOT NULL, at DOUBLE PRECISION NOT NULL, step TEXT NOT NULL,
        event TEXT NOT NULL, fence BIGINT NOT NULL, detail TEXT NOT NULL, PRIMARY KEY (run_id, seq))""",
    """CREATE TABLE IF NOT EXISTS locks (
        target TEXT PRIMARY KEY, fence BIGINT NOT NULL, run_id TEXT, owner TEXT,
        expires_at DOUBLE PRECISION NOT NULL)""",
)

# Run states. Active ones are picked up by a worker; the others wait for a human or are over.
QUEUED, RUNNING, WAITING_APPROVAL = "queued", "running", "waiting_approval"
SUCCEEDED, ROLLED_BACK, NEEDS_HUMAN, ABORTED, REFUSED = (
    "succeeded",
    "rolled_back",
    "needs_human",
    "aborted",
    "refused",
)
FINAL = (SUCCEEDED, ROLLED_BACK, ABORTED, REFUSED)


class LostLock(StoreError):
    """Another worker holds the target now (our fencing token is stale): stop acting."""


def new_id(prefix: str) -> str:
    return f"{prefix}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(4)}"


@dataclass
class Run:
    id: str
    runbook: str
    target: str
    params: dict[str, Any]
    plan_hash: str
    state: str
    requested_by: str
    approved_by: str | None
    trigger: str
    owner: str | None
    lease_until: float | None
    abort_requested: bool
    created_at: float
    started_at: float | None
    ended_at: float | None
    message: str | None
    journal: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("journal", "owner", "lease_until")}
        out["journal"] = self.journal
        return out


_RUN_COLUMNS = (
    "id, runbook, target, params, plan_hash, state, requested_by, approved_by, trigger, owner, "
    "lease_until, abort_requested, created_at, started_at, ended_at, message"
)


def _run(row: tuple[Any, ...]) -> Run:
    values = list(row)
    values[3] = json.loads(values[3])
    values[11] = bool(values[11])
    return Run(*values)


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db
        try:
            with self.tx() as tx:
                if tx.skip_locked:  # PostgreSQL: receivers starting together must not race on DDL
                    tx.rows("SELECT pg_advisory_xact_lock(4242)")
                for statement in SCHEMA:
                    tx.run(statement)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"store {self.db.url}: cannot create the schema: {exc}") from None

    @contextmanager
    def tx(self, write: bool = True) -> Iterator[Tx]:
        try:
            with self.db.tx(write) as tx:
                yield tx
        except (StoreError, LookupError, ValueError):
            raise
        except Exception as exc:
            if type(exc).__module__.startswith(("sqlite3", "psycopg")):
                raise StoreError(f"store: {' '.join(str(exc).split())}") from None
            raise

    def close(self) -> None:
        self.db.close()

    # --- the inbox -------------------------------------------------------------------------------

    def add_notification(self, delivery: str, body: str, now: float | None = None) -> bool:
        """Store a notification unless the same delivery is stored already; True when new."""
        with self.tx() as tx:
            count = tx.run(
                "INSERT INTO notifications (id, delivery, received_at, body, state)"
                " VALUES (?, ?, ?, ?, 'new')"
                " ON CONFLICT (delivery) DO NOTHING",
                new_id("n"),
                delivery,
                now or time.time(),
                body,
            )
        return count == 1

    def add_notifications(self, batch: list[tuple[str, str]], now: float | None = None) -> list[bool]:
        """Several notifications in one transaction (one disk flush): True for each that was new."""
        at = now or time.time()
        with self.tx() as tx:
            return [
                tx.run(
                    "INSERT INTO notifications (id, delivery, received_at, body, state)"
                    " VALUES (?, ?, ?, ?, 'new') ON CONFLICT (delivery) DO NOTHING",
                    new_id("n"),
                    delivery,
                    at,
                    body,
                )
                == 1
                for delivery, body in batch
            ]

    def claim_notifications(self, owner: str, limit: int = 20) -> list[tuple[str, str]]:
        with self.tx() as tx:
            rows = tx.rows(
                "SELECT id, body FROM notifications WHERE state = 'new'"  # noqa: S608 - a fixed suffix
                " ORDER BY received_at LIMIT ?" + tx.skip_locked,
                limit,
            )
            for nid, _ in rows:
                tx.run("UPDATE notifications SET state = 'processing', owner = ? WHERE id = ?", owner, nid)
        return [(str(a), str(b)) for a, b in rows]

    def release_stale_notifications(self) -> int:
        """At start-up of a single receiver: notifications a killed process had claimed go back."""
        with self.tx() as tx:
            return tx.run("UPDATE notifications SET state = 'new', owner = NULL WHERE state = 'processing'")

    def finish_notification(self, nid: str, error: str | None = None) -> None:
        with self.tx() as tx:
            tx.run(
                "UPDATE notifications SET state = ?, error = ? WHERE id = ?",
                "failed" if error else "done",
                error,
                nid,
            )

    def notification_count(self) -> int:
        with self.tx(write=False) as tx:
            return int(tx.rows("SELECT COUNT(*) FROM notifications")[0][0])

    # --- episodes --------------------------------------------------------------------------------

    def episode(self, fingerprint: str, starts_at: str) -> dict[str, Any] | None:
        with self.tx(write=False) as tx:
            rows = tx.rows(
                "SELECT fingerprint, starts_at, alertname, status, labels, runbook, run_id, reason,"
                " first_seen, updated_at FROM episodes WHERE fingerprint = ? AND starts_at = ?",
                fingerprint,
                starts_at,
            )
        return _episode(rows[0]) if rows else None

    def add_episode(self, fingerprint: str, starts_at: str, alertname: str, status: str, labels: str) -> bool:
        now = time.time()
        with self.tx() as tx:
            return (
                tx.run(
                    "INSERT INTO episodes (fingerprint, starts_at, alertname, status, labels, first_seen,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (fingerprint, starts_at) DO NOTHING",
                    fingerprint,
                    starts_at,
                    alertname,
                    status,
                    labels,
                    now,
                    now,
                )
                == 1
            )

    def update_episode(self, fingerprint: str, starts_at: str, **values: Any) -> None:
        allowed = {"status", "runbook", "run_id", "reason"}
        sets = ", ".join(f"{k} = ?" for k in values if k in allowed)
        with self.tx() as tx:
            tx.run(
                f"UPDATE episodes SET {sets}, updated_at = ? WHERE fingerprint = ? AND starts_at = ?",  # noqa: S608
                *[v for k, v in values.items() if k in allowed],
                time.time(),
                fingerprint,
                starts_at,
            )

    def episodes(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.tx(write=False) as tx:
            rows = tx.rows(
                "SELECT fingerprint, starts_at, alertname, status, labels, runbook, run_id, reason,"
                " first_seen, updated_at FROM episodes ORDER BY first_seen DESC LIMIT ?",
                limit,
            )
        return [_episode(r) for r in rows]

    # --- plans and approvals ---------------------------------------------------------------------

    def save_plan(self, plan_hash: str, runbook: str, body: dict[str, Any], requested_by: str) -> None:
        with self.tx() as tx:
            tx.run(
                "INSERT INTO plans (hash, runbook, body, requested_by, created_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (hash) DO NOTHING",
                plan_hash,
                runbook,
                json.dumps(body, sort_keys=True),
                requested_by,
                time.time(),
            )

    def plan(self, plan_hash: str) -> dict[str, Any] | None:
        with self.tx(write=False) as tx:
            rows = tx.rows(
                "SELECT hash, runbook, body, requested_by, created_at FROM plans WHERE hash = ?", plan_hash
            )
            if not rows:
                return None
            approvals = tx.rows(
                "SELECT approver, approved_at, expires_at FROM approvals WHERE plan_hash = ?"
                " ORDER BY approved_at",
                plan_hash,
            )
        h, runbook, body, requested_by, created_at = rows[0]
        return {
            "hash": h,
            "runbook": runbook,
            "requested_by": requested_by,
            "created_at": created_at,
            **json.loads(body),
            "approvals": [{"approver": a, "approved_at": t, "expires_at": e} for a, t, e in approvals],
        }

    def approve(self, plan_hash: str, approver: str, expires_at: float) -> None:
        with self.tx() as tx:
            tx.run(
                "INSERT INTO approvals (plan_hash, approver, approved_at, expires_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (plan_hash, approver) DO UPDATE SET approved_at = excluded.approved_at,"
                " expires_at = excluded.expires_at",
                plan_hash,
                approver,
                time.time(),
                expires_at,
            )

    def valid_approvers(self, plan_hash: str, now: float | None = None) -> list[str]:
        with self.tx(write=False) as tx:
            rows = tx.rows(
                "SELECT approver FROM approvals WHERE plan_hash = ? AND expires_at > ? ORDER BY approved_at",
                plan_hash,
                now or time.time(),
            )
        return [str(r[0]) for r in rows]

    # --- runs ------------------------------------------------------------------------------------

    def create_run(
        self,
        *,
        runbook: str,
        target: str,
        params: dict[str, Any],
        plan_hash: str,
        state: str,
        requested_by: str,
        trigger: str,
        message: str | None = None,
        run_id: str | None = None,
    ) -> str:
        """A new run; with `run_id` (derived from an alert episode) a second request is a no-op."""
        run_id = run_id or new_id("run")
        now = time.time()
        with self.tx() as tx:
            tx.run(
                f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, NULL, NULL, 0, ?,"  # noqa: S608
                " NULL, ?, ?) ON CONFLICT (id) DO NOTHING",
                run_id,
                runbook,
                target,
                json.dumps(params, sort_keys=True),
                plan_hash,
                state,
                requested_by,
                trigger,
                now,
                now if state in FINAL else None,
                message,
            )
        return run_id

    def run(self, run_id: str, *, journal: bool = True) -> Run | None:
        with self.tx(write=False) as tx:
            rows = tx.rows(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", run_id)  # noqa: S608
            if not rows:
                return None
            run = _run(rows[0])
            if journal:
                run.journal = [
                    {"seq": s, "at": at, "step": step, "event": ev, "fence": f, **json.loads(d)}
                    for s, at, step, ev, f, d in tx.rows(
                        "SELECT seq, at, step, event, fence, detail FROM journal"
                        " WHERE run_id = ? ORDER BY seq",
                        run_id,
                    )
                ]
        return run

    def runs(self, limit: int = 50, state: str | None = None) -> list[Run]:
        where = "WHERE state = ?" if state else ""
        args: list[Any] = [state] if state else []
        with self.tx(write=False) as tx:
            rows = tx.rows(
                f"SELECT {_RUN_COLUMNS} FROM runs {where} ORDER BY created_at DESC LIMIT ?",  # noqa: S608
                *args,
                limit,
            )
        return [_run(r) for r in rows]

    def run_counts(self) -> dict[str, int]:
        with self.tx(write=False) as tx:
            return {str(s): int(n) for s, n in tx.rows("SELECT state, COUNT(*) FROM runs GROUP BY state")}

    def recent_runs(self, runbook: str, target: str, since: float, exclude: str) -> int:
        """Runs of this runbook on this target since `since` that got as far as starting (the breaker)."""
        with self.tx(write=False) as tx:
            return int(
                tx.rows(
                    "SELECT COUNT(*) FROM runs WHERE runbook = ? AND target = ? AND created_at >= ?"
                    " AND started_at IS NOT NULL AND id <> ?",
                    runbook,
                    target,
                    since,
                    exclude,
                )[0][0]
            )

    def set_run(self, run_id: str, **values: Any) -> None:
        allowed = {"state", "approved_by", "started_at", "ended_at", "message", "abort_requested", "owner"}
        bad = set(values) - allowed
        if bad:
            raise ValueError(f"unknown run fields {sorted(bad)}")
        sets = ", ".join(f"{k} = ?" for k in values)
        with self.tx() as tx:
            tx.run(f"UPDATE runs SET {sets} WHERE id = ?", *values.values(), run_id)  # noqa: S608

    def claim_run(self, owner: str, lease: float, run_id: str | None = None) -> Run | None:
        """Take a queued run, or one whose worker stopped renewing its lease (it died): resume it."""
        now = time.time()
        with self.tx() as tx:
            where = "id = ? AND " if run_id else ""
            rows = tx.rows(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE {where}"  # noqa: S608
                " (state = 'queued' OR (state = 'running' AND (lease_until IS NULL OR lease_until < ?)))"
                " ORDER BY created_at LIMIT 1" + tx.skip_locked,
                *([run_id] if run_id else []),
                now,
            )
            if not rows:
                return None
            run = _run(rows[0])
            tx.run(
                "UPDATE runs SET state = 'running', owner = ?, lease_until = ? WHERE id = ?",
                owner,
                now + lease,
                run.id,
            )
        run.state, run.owner = RUNNING, owner
        return run

    # --- locks and the journal -------------------------------------------------------------------

    def acquire_lock(self, target: str, run_id: str, owner: str, lease: float) -> int | None:
        """The fencing token for `target`, or None while another run holds it. Each grant counts up."""
        now = time.time()
        with self.tx() as tx:
            tx.run(
                "INSERT INTO locks (target, fence, run_id, owner, expires_at) VALUES (?, 0, NULL, NULL, 0)"
                " ON CONFLICT (target) DO NOTHING",
                target,
            )
            row = tx.rows(
                "SELECT fence, run_id, expires_at FROM locks WHERE target = ?" + _for_update(tx),  # noqa: S608
                target,
            )[0]
            fence, holder, expires = int(row[0]), row[1], float(row[2])
            if holder is not None and holder != run_id and expires > now:
                return None
            tx.run(
                "UPDATE locks SET fence = ?, run_id = ?, owner = ?, expires_at = ? WHERE target = ?",
                fence + 1,
                run_id,
                owner,
                now + lease,
                target,
            )
            tx.run("UPDATE runs SET owner = ?, lease_until = ? WHERE id = ?", owner, now + lease, run_id)
        return fence + 1

    def renew(self, target: str, run_id: str, fence: int, lease: float) -> None:
        with self.tx() as tx:
            _renew(tx, target, run_id, fence, lease)

    def requeue_approved(self, plan_hash: str) -> list[str]:
        """Runs that waited for this plan's approval go back to the queue."""
        with self.tx() as tx:
            ids = [
                str(r[0])
                for r in tx.rows(
                    "SELECT id FROM runs WHERE plan_hash = ? AND state = 'waiting_approval'", plan_hash
                )
            ]
            tx.run(
                "UPDATE runs SET state = 'queued' WHERE plan_hash = ? AND state = 'waiting_approval'",
                plan_hash,
            )
        return ids

    def lock_holder(self, target: str) -> tuple[str | None, float]:
        with self.tx(write=False) as tx:
            rows = tx.rows("SELECT run_id, expires_at FROM locks WHERE target = ?", target)
        return (rows[0][0], float(rows[0][1])) if rows else (None, 0.0)

    def release_lock(self, target: str, run_id: str, fence: int) -> None:
        with self.tx() as tx:
            tx.run(
                "UPDATE locks SET run_id = NULL, owner = NULL, expires_at = 0"
                " WHERE target = ? AND run_id = ? AND fence = ?",
                target,
                run_id,
                fence,
            )

    def journal(
        self, run_id: str, target: str, fence: int, step: str, event: str, *, lease: float, **detail: Any
    ) -> None:
        """Append one transition and renew the lease, only while `fence` is still the target's token."""
        with self.tx() as tx:
            _renew(tx, target, run_id, fence, lease)
            _append(tx, run_id, fence, step, event, detail=detail)

    def note(self, run_id: str, step: str, event: str, **detail: Any) -> None:
        """A journal line written without the lock (a refusal before it was taken, an abort request)."""
        with self.tx() as tx:
            _append(tx, run_id, 0, step, event, detail=detail)


def _renew(tx: Tx, target: str, run_id: str, fence: int, lease: float) -> None:
    until = time.time() + lease
    if (
        tx.run(
            "UPDATE locks SET expires_at = ? WHERE target = ? AND run_id = ? AND fence = ?",
            until,
            target,
            run_id,
            fence,
        )
        != 1
    ):
        raise LostLock(f"run {run_id}: lost the lock on {target} (fencing token {fence} is stale)")
    tx.run("UPDATE runs SET lease_until = ? WHERE id = ?", until, run_id)


def _append(tx: Tx, run_id: str, fence: int, step: str, event: str, *, detail: dict[str, Any]) -> None:
    seq = int(tx.rows("SELECT COALESCE(MAX(seq), 0) FROM journal WHERE run_id = ?", run_id)[0][0]) + 1
    tx.run(
        "INSERT INTO journal (run_id, seq, at, step, event, fence, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
        run_id,
        seq,
        time.time(),
        step,
        event,
        fence,
        json.dumps(detail, sort_keys=True, default=str),
    )


def _for_update(tx: Tx) -> str:
    return " FOR UPDATE" if tx.skip_locked else ""


def _episode(row: tuple[Any, ...]) -> dict[str, Any]:
    fp, starts_at, alertname, status, labels, runbook, run_id, reason, first_seen, updated_at = row
    return {
        "fingerprint": fp,
        "startsAt": starts_at,
        "alertname": alertname,
        "status": status,
        "labels": json.loads(labels),
        "runbook": runbook,
        "run_id": run_id,
        "reason": reason,
        "first_seen": first_seen,
        "updated_at": updated_at,
    }

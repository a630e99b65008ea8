"""`sre serve` probes the platform on a schedule and keeps each run in its store.

Each round is `sre probe --all --format json` in a child process (argument list, its
own time budget): the same code and the same document as anyone running it by hand,
and a probe that misbehaves cannot take the receiver down with it. The documents go
in the store's `probe_runs` table; the last KEEP are kept, for the status page's
history.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sre.runbooks.db import StoreError
from sre.runbooks.store import Store, new_id

log = logging.getLogger("sre.serve.probes")
KEEP = 50
MAX_OUTPUT = 64 << 20  # a probe document past this is refused, not held in memory
SCHEMA = """CREATE TABLE IF NOT EXISTS probe_runs (
    id TEXT PRIMARY KEY, started_at DOUBLE PRECISION NOT NULL, exit_code INTEGER NOT NULL, body TEXT NOT NULL,
    error TEXT)"""


@dataclass(frozen=True)
class ProbeSchedule:
    """What to run and how often: `sre probe --all` for this platform file and environment."""

    platform_file: Path
    env: str
    interval: float
    probes_dir: Path | None = None
    timeout: float = 30.0
    extra: tuple[str, ...] = field(default_factory=tuple)

    def argv(self) -> list[str]:
        argv = [sys.executable, "-m", "sre", "probe", "--all", "--format", "json"]
        argv += ["--platform", str(self.platform_file), "--env", self.env, "--timeout", str(self.timeout)]
        if self.probes_dir is not None:
            argv += ["--probes", str(self.probes_dir)]
        return [*argv, *self.extra]


class ProbeHistory:
    """The probe runs in the store: add one, read the latest, read the last few."""

    def __init__(self, store: Store) -> None:
        self.store = store
        with store.tx() as tx:
            tx.run(SCHEMA)

    def add(self, body: dict[str, Any], exit_code: int, error: str | None = None) -> str:
        run_id = new_id("probe")
        with self.store.tx() as tx:
            tx.run(
                "INSERT INTO probe_runs (id, started_at, exit_code, body, error) VALUES (?, ?, ?, ?, ?)",
                run_id,
                float(body.get("started_at") or time.time()),
                exit_code,
                json.dumps(body),
                error,
            )
            old = tx.rows("SELECT id FROM probe_runs ORDER BY started_at DESC LIMIT 1000 OFFSET ?", KEEP)
            for (gone,) in old:
                tx.run("DELETE FROM probe_runs WHERE id = ?", gone)
        return run_id

    def recent(self, limit: int = 10) -> list[dict[str, Any]]:
        """The last `limit` runs, newest first, each with its document under `body`."""
        with self.store.tx(write=False) as tx:
            rows = tx.rows(
                "SELECT id, started_at, exit_code, body, error FROM probe_runs"
                " ORDER BY started_at DESC LIMIT ?",
                limit,
            )
        return [
            {"id": i, "started_at": t, "exit_code": c, "body": json.loads(b), "error": e}
            for i, t, c, b, e in rows
        ]

    def latest(self) -> dict[str, Any] | None:
        found = self.recent(1)
        return found[0] if found else None


async def probe_once(schedule: ProbeSchedule) -> tuple[dict[str, Any], int, str | None]:
    """One `sre probe --all`: its JSON document, exit code, and what went wrong (None when it ran)."""
    proc = await asyncio.create_subprocess_exec(
        *schedule.argv(),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        limit=MAX_OUTPUT,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), schedule.timeout + 30)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return {}, -1, f"sre probe --all took longer than {schedule.timeout + 30:.0f} s; killed"
    code = proc.returncode if proc.returncode is not None else -1
    if code not in (0, 1):
        last = (err.decode(errors="replace").strip().splitlines() or [f"exit {code}"])[-1]
        return {}, code, f"sre probe --all: {last[:300]}"
    try:
        return json.loads(out), code, None
    except ValueError:
        return {}, code, "sre probe --all wrote no JSON document"


async def probe_loop(schedule: ProbeSchedule, history: ProbeHistory, halt: asyncio.Event) -> None:
    """A round now, then one every interval, until `halt`; a failed round is kept with its error."""
    while not halt.is_set():
        began = time.monotonic()
        try:
            body, code, error = await probe_once(schedule)
        except OSError as exc:
            body, code, error = {}, -1, f"cannot start sre probe: {exc.strerror or exc}"
        if error:
            log.error("%s", error)
        try:
            await asyncio.to_thread(history.add, body, code, error)
        except StoreError as exc:
            log.error("cannot keep a probe run: %s", exc)
        wait = max(0.0, schedule.interval - (time.monotonic() - began))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(halt.wait(), wait)

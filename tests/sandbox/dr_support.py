"""Helpers of the DR runbook tests: an engine on the sandbox, writers through the gateway, replication facts."""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from sandbox_helpers import REPO, Running, env, secret, tls_context

from sre.cli.runbook import open_engine
from sre.runbooks.engine import Engine
from sre.runbooks.invoke import Outcome, run_runbook


def engine(core: Running, folder: Path, runbooks: Path | None = None) -> Engine:
    """An engine on the sandbox environment with its own SQLite store; the control plane in no DC it leaves."""
    found = open_engine(
        core.place.platform_file, runbooks or REPO / "runbooks", str(folder / "store.db"), env="sandbox"
    )
    found.settings.control_plane_tier = "tertiary"
    return found


def runbooks_with(folder: Path, name: str, old: str, new: str) -> Path:
    """A copy of the shipped runbooks with one text replaced in one of them (a shorter deadline)."""
    target = folder / "runbooks"
    shutil.copytree(REPO / "runbooks", target)
    path = target / f"{name}.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))
    return target


def run(eng: Engine, name: str, params: dict[str, str]) -> Outcome:
    return asyncio.run(
        run_runbook(eng, name, params, requested_by="alice", approved_by="bob", trigger="test")
    )


def admin(core: Running, tier: str) -> psycopg.Connection[Any]:
    ep = env(core).endpoints["db_postgres"][tier]
    assert ep.secrets["admin_password"].file is not None
    password = secret(ep.secrets["admin_password"].file)
    return psycopg.connect(
        ep.url,
        user=ep.params["admin_user"],
        password=password,
        dbname="app",
        autocommit=True,
        connect_timeout=5,
    )


def one(core: Running, tier: str, sql: str, params: Any = None) -> Any:
    with admin(core, tier) as conn:
        row = conn.execute(sql.encode(), params).fetchone()
    return row[0] if row else None


def streaming_standbys(core: Running, tier: str) -> set[str]:
    with admin(core, tier) as conn:
        rows = conn.execute("SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'")
        return {str(r[0]) for r in rows}


def tier_map(core: Running) -> dict[str, str]:
    path = core.sandbox.root / "haproxy" / "tiers.map"
    import socket

    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(core.sandbox.root / "run" / "haproxy.sock"))
        s.sendall(f"show map {path}\n".encode())
        answer = s.makefile().read()
    return {c[1]: c[2] for c in (line.split() for line in answer.splitlines()) if len(c) == 3}


@dataclass
class Writers:
    """K writers posting (writer, seq) through the primary tier's gateway; what was acknowledged."""

    url: str
    tls: ssl.SSLContext
    count: int
    acked: dict[int, list[int]] = field(default_factory=dict)
    refused: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def _one(self, writer: int) -> None:
        seq = 0
        while not self.stop.is_set():
            seq += 1
            body = json.dumps({"writer": writer, "seq": seq}).encode()
            request = urllib.request.Request(self.url, data=body, method="POST")
            try:
                with urllib.request.urlopen(request, context=self.tls, timeout=5) as resp:
                    if resp.status == 200 and json.loads(resp.read())["ok"]:
                        self.acked.setdefault(writer, []).append(seq)
            except (urllib.error.URLError, OSError, ValueError):
                self.refused += 1
                self.stop.wait(0.02)


@contextmanager
def writers(core: Running, count: int = 2) -> Iterator[Writers]:
    e = env(core)
    w = Writers(e.endpoints["ext_api"]["primary"].url + "/write", tls_context(Path(e.ca_file or "")), count)
    threads = [threading.Thread(target=w._one, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    try:
        yield w
    finally:
        w.stop.set()
        for t in threads:
            t.join(10)


def missing(core: Running, tier: str, w: Writers) -> list[tuple[int, int]]:
    """Acknowledged writes that the database of `tier` does not have."""
    with admin(core, tier) as conn:
        have = {(int(a), int(b)) for a, b in conn.execute("SELECT writer, seq FROM drill_writes")}
    return [(writer, seq) for writer, seqs in w.acked.items() for seq in seqs if (writer, seq) not in have]


def follow_redis(core: Running, replica: str, master: str) -> None:
    """Make the Redis of tier `replica` a replica of `master`'s, and wait until its link is up (the
    rebuild an old master needs after a failover)."""
    from sandbox_helpers import eventually, rd

    port = urlsplit(env(core).endpoints["redis"][master].url).port
    node = rd(core, replica)
    node.execute_command("REPLICAOF", "127.0.0.1", str(port))  # type: ignore[no-untyped-call]

    def linked() -> bool:
        info = node.info("replication")
        return bool(info["role"] == "slave" and info["master_link_status"] == "up")

    eventually(linked, timeout=30)


def back_to_the_primary(core: Running, eng: Engine, start: tuple[str, ...]) -> Outcome:
    """After a failover to the secondary: rewind the old primary into a standby of the new one, start
    the tier's other stopped processes `start`, make its Redis the new master's replica, wait until
    its workers pass their probes three times in a row (the plan's capacity gate probes once more; a
    worker still reconnecting flaps), and switch back with dr-switchover."""
    from sandbox_helpers import eventually

    from sre.runbooks.actions import REGISTRY
    from sre.runbooks.actions.gates import probe_status

    ctx = eng.context("test-rejoin")
    rejoin = REGISTRY["pg_rejoin"]
    args = rejoin.Args.model_validate({"service": "db_postgres", "tier": "primary", "primary": "secondary"})
    asyncio.run(rejoin.apply(args, ctx))
    asyncio.run(rejoin.verify(args, ctx))
    for name in start:
        core.sandbox.start_process(name)
    # The old Redis master comes back as a master; it is made the new master's replica by hand.
    follow_redis(core, replica="primary", master="secondary")
    streak = [0]

    def steady() -> bool:
        ok = asyncio.run(probe_status(ctx, "k8s_workers", "primary"))[0] == "ok"
        streak[0] = streak[0] + 1 if ok else 0
        return streak[0] >= 3

    eventually(steady, timeout=60, every=0.5)
    return run(eng, "dr-switchover", {"from": "secondary", "to": "primary"})

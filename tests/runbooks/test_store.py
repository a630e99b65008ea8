"""The store's work queues under concurrent claimers (receivers), on SQLite and PostgreSQL.

On PostgreSQL claims use SELECT ... FOR UPDATE SKIP LOCKED, so claimers never wait for each other
nor take the same row; on SQLite one writer at a time gives the same answer.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sre.runbooks.db import open_database
from sre.runbooks.store import Store


def stores(url: str, tmp_path: Path, n: int) -> list[Store]:
    return [Store(open_database(url, tmp_path / "s.db")) for _ in range(n)]


def test_concurrent_receivers_claim_each_notification_once(store_url: str, tmp_path: Path) -> None:
    first, *others = stores(store_url, tmp_path, 4)
    assert first.add_notifications([(f"d{i}", "{}") for i in range(200)]) == [True] * 200
    assert first.add_notifications([("d7", "{}"), ("new", "{}")]) == [False, True]
    claimed: list[str] = []
    lock = threading.Lock()

    def claim(store: Store, owner: str) -> None:
        while batch := store.claim_notifications(owner, limit=7):
            with lock:
                claimed.extend(nid for nid, _ in batch)

    threads = [threading.Thread(target=claim, args=(s, f"r{i}")) for i, s in enumerate([first, *others])]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(claimed) == 201 and len(set(claimed)) == 201


def test_concurrent_workers_claim_each_run_once(store_url: str, tmp_path: Path) -> None:
    first, *others = stores(store_url, tmp_path, 4)
    ids = {
        first.create_run(
            runbook="r",
            target=f"t{i}",
            params={},
            plan_hash="h",
            state="queued",
            requested_by="a",
            trigger="t",
        )
        for i in range(40)
    }
    got: list[str] = []
    lock = threading.Lock()

    def work(store: Store, owner: str) -> None:
        while run := store.claim_run(owner, lease=60):
            with lock:
                got.append(run.id)

    threads = [threading.Thread(target=work, args=(s, f"w{i}")) for i, s in enumerate([first, *others])]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(got) == sorted(ids)
    # A run claimed with a live lease is nobody else's; the same id asked for again is refused.
    assert first.claim_run("late", lease=60, run_id=got[0]) is None

"""The DR switchover's data-store actions against real servers: two Redis (master and replica) started here.

`redis_failover` runs once with Redis' own `FAILOVER` and once with the manual `REPLICAOF NO ONE`
path, back and forth, and a written key must survive each move.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
import redis
from rb_support import REDIS, World, free_port, wait
from requirements import need_binary
from test_actions import act, context

from sre.runbooks.actions import ActionFailed

pytestmark = pytest.mark.integration

PASSWORD = "redis-test-password-123"


@pytest.fixture(params=["sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return str(tmp_path / "store.db")


def _redis(folder: Path, port: int, master: int | None) -> subprocess.Popen[bytes]:
    folder.mkdir(parents=True)
    argv = [
        need_binary("redis-server"), "--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder),
        "--save", "", "--appendonly", "no", "--requirepass", PASSWORD, "--masterauth", PASSWORD,
        "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
    ]  # fmt: skip
    if master is not None:
        argv += ["--replicaof", "127.0.0.1", str(master)]
    return subprocess.Popen(argv, stdout=(folder / "log").open("wb"), stderr=subprocess.STDOUT)


def client(port: int) -> redis.Redis:
    return redis.Redis(port=port, password=PASSWORD, decode_responses=True, socket_timeout=5)


class Pair(NamedTuple):
    first: int
    second: int
    replica: subprocess.Popen[bytes]


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    first, second = free_port(), free_port()
    procs = [_redis(tmp_path / "r1", first, None), _redis(tmp_path / "r2", second, first)]
    try:
        wait(lambda: client(second).info("replication").get("master_link_status") == "up", 20, procs[1])
        # The master's side too: FAILOVER refuses a replica it does not list as online yet.
        wait(
            lambda: client(first).info("replication").get("slave0", {}).get("state") == "online", 20, procs[0]
        )
        yield Pair(first, second, procs[1])
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


@pytest.fixture
def rworld(tmp_path: Path, store_url: str, target_db: str, pair: Pair) -> World:
    world = World(tmp_path, store_url, target_db)
    text = world.platform_file.read_text()
    secret = tmp_path / "redis.password"
    secret.write_text(PASSWORD + "\n")
    for tier, port in (("primary", pair.first), ("secondary", pair.second)):
        text = text.replace(
            f'{tier}: "{REDIS}"',
            f'{tier}: {{url: "redis://127.0.0.1:{port}/0", secrets: {{password: {{file: "{secret}"}}}}}}',
            1,
        )
    world.platform_file.write_text(text)
    return world


@pytest.mark.parametrize("method", ["failover", "replicaof"])
def test_redis_failover_swaps_roles_and_keeps_every_write(rworld: World, pair: Pair, method: str) -> None:
    first, second, _ = pair
    ctx = context(rworld)
    client(first).set("k", "before")
    there = act(
        "redis_failover", {"service": "cache", "from": "primary", "to": "secondary", "method": method}, ctx
    )
    found = there.check()
    assert found.done is False and found.facts["from_role"] == "master" and found.facts["to_role"] == "slave"
    assert there.apply()["method"] == method
    there.verify()
    assert there.check().done is True  # a resumed run does not fail over twice
    assert client(second).info("replication")["role"] == "master"
    assert client(first).info("replication")["role"] == "slave"
    assert client(second).get("k") == "before"
    client(second).set("k", "after")
    wait(lambda: client(first).get("k") == "after", 10)  # the old master replicates from the new one

    back = act(
        "redis_failover", {"service": "cache", "from": "secondary", "to": "primary", "method": method}, ctx
    )
    back.apply()
    back.verify()
    assert client(first).info("replication")["role"] == "master"
    assert client(first).get("k") == "after"


def test_redis_failover_is_done_when_already_so_and_refuses_a_source_that_is_no_master(
    rworld: World, pair: Pair
) -> None:
    first, second, _ = pair
    ctx = context(rworld)
    back = act("redis_failover", {"service": "cache", "from": "secondary", "to": "primary"}, ctx)
    assert back.check().done is True  # primary is the master and secondary follows it: nothing to do
    client(second).replicaof("NO", "ONE")
    client(first).replicaof("127.0.0.1", 1)  # follows nothing that answers
    wrong = act("redis_failover", {"service": "cache", "from": "primary", "to": "secondary"}, ctx)
    with pytest.raises(ActionFailed, match="is not the master") as caught:
        wrong.check()
    assert caught.value.permanent and PASSWORD not in str(caught.value)


def test_redis_failover_to_a_stalled_replica_rolls_back_within_its_timeout(rworld: World, pair: Pair) -> None:
    ctx = context(rworld)
    pair.replica.send_signal(signal.SIGSTOP)  # the replica stops consuming the stream
    try:
        client(pair.first).set("k", "x")
        stalled = act(
            "redis_failover",
            {
                "service": "cache",
                "from": "primary",
                "to": "secondary",
                "method": "failover",
                "timeout_ms": 300,
            },
            ctx,
        )
        with pytest.raises(ActionFailed, match="did not complete within 300 ms"):
            stalled.apply()
        assert client(pair.first).info("replication")["role"] == "master"  # rolled back: still the master
        client(pair.first).set("k", "still writable")
    finally:
        pair.replica.send_signal(signal.SIGCONT)

"""dr-switchover and dr-failover on a real sandbox (PostgreSQL, HAProxy, workers): one sandbox for the module.

The tests run in file order and each leaves primary as the primary, secondary streaming from it.
"""

from __future__ import annotations

import asyncio
import functools
import time
from pathlib import Path

import pytest
from dr_support import (
    admin,
    back_to_the_primary,
    engine,
    missing,
    one,
    run,
    runbooks_with,
    streaming_standbys,
    tier_map,
    writers,
)
from sandbox_helpers import Running, env, eventually, nats_role, post, rd

from sre.errors import InputError
from sre.runbooks.actions import REGISTRY

pytestmark = pytest.mark.integration

SETTLED = {"primary": "primary", "secondary": "secondary", "tertiary": "tertiary"}


def _primary_is(core: Running, tier: str) -> None:
    other = "secondary" if tier == "primary" else "primary"
    assert one(core, tier, "SELECT pg_is_in_recovery()") is False
    assert one(core, other, "SELECT pg_is_in_recovery()") is True
    eventually(lambda: f"postgres-{other}" in streaming_standbys(core, tier), timeout=30)


def _replicates(core: Running, primary: str, standby: str) -> None:
    """A row written on the primary shows on the standby: it really streams again."""
    marker = f"rejoin-{time.time_ns()}"
    with admin(core, primary) as conn:
        conn.execute("INSERT INTO events (service, tier) VALUES (%s, %s)", (marker, primary))
    eventually(lambda: one(core, standby, "SELECT count(*) FROM events WHERE service = %s", (marker,)) == 1)


def test_switchover_and_back_keeps_every_acknowledged_write(core: Running, tmp_path: Path) -> None:
    eng = engine(core, tmp_path)
    with writers(core) as w:
        eventually(lambda: sum(map(len, w.acked.values())) > 20)
        there = run(eng, "dr-switchover", {"from": "primary", "to": "secondary"})
        assert there.ok, (there.message, there.journal[-3:])
        _primary_is(core, "secondary")
        assert tier_map(core) == dict.fromkeys(SETTLED, "secondary")
        assert nats_role(core, "secondary") == "writable"
        assert nats_role(core, "primary") == "mirror of SANDBOX ($JS.secondary.API)"
        acked_between = sum(map(len, w.acked.values()))
        eventually(lambda: sum(map(len, w.acked.values())) > acked_between + 20)
        back = run(eng, "dr-switchover", {"from": "secondary", "to": "primary"})
        assert back.ok, (back.message, back.journal[-3:])
        eventually(lambda: sum(map(len, w.acked.values())) > acked_between + 40)
    _primary_is(core, "primary")
    assert tier_map(core) == dict.fromkeys(SETTLED, "primary")
    assert (nats_role(core, "primary"), nats_role(core, "secondary")) == (
        "writable",
        "mirror of SANDBOX ($JS.primary.API)",
    )
    assert sum(map(len, w.acked.values())) > 60
    assert missing(core, "primary", w) == []
    _replicates(core, "primary", "secondary")
    # The journal has what the drill reports: every step's time, the final WAL position, the promotion.
    done = {e["step"]: e for e in there.journal if e["event"] == "done"}
    assert {"freeze", "source-read-only", "catch-up", "promote", "move-traffic", "rejoin"} <= set(done)
    applied = {e["step"]: e["result"] for e in there.journal if e["event"] == "applied"}
    assert applied["source-read-only"]["final_lsn"] == applied["catch-up"]["final_lsn"]
    assert applied["promote"]["timeline"] > applied["source-read-only"]["timeline"]
    assert applied["rejoin"]["rewound"] is True
    # NATS moved after the promotion: the mirror had all of the sealed source, the primary tier's
    # worker's consumer went along at its ack floor + 1.
    moved = applied["nats-move"]
    assert moved["from_last_seq"] == moved["mirror_last_seq"] > 0
    assert "worker-primary" in moved["consumers"]
    assert [s["step"] for s in there.journal if s["event"] == "done"].index("nats-move") > [
        s["step"] for s in there.journal if s["event"] == "done"
    ].index("promote")
    # The cold tier is no candidate until it has been started and caught up.
    cold = run(eng, "dr-switchover", {"from": "primary", "to": "tertiary"})
    assert cold.state == "refused"
    assert cold.refusals()[0].startswith(
        "candidate: no good candidate: tertiary is a cold standby that does not answer; start it"
    ), cold.refusals()


def test_plan_refuses_a_stalled_replica_with_the_reason(core: Running, tmp_path: Path) -> None:
    eng = engine(core, tmp_path)
    before = tier_map(core)
    one(core, "secondary", "SELECT pg_wal_replay_pause()")
    try:
        paused = run(eng, "dr-switchover", {"from": "primary", "to": "secondary"})
        assert paused.state == "refused" and paused.run_id is None
        assert paused.refusals() == ["candidate: no good candidate: secondary has its WAL replay paused"]
        one(core, "secondary", "SELECT pg_wal_replay_resume()")
        # A walreceiver stopped by SIGSTOP: the standby hears nothing while the primary writes 2 MiB and more.
        pid = one(core, "secondary", "SELECT pid FROM pg_stat_wal_receiver")
        import os
        import signal

        os.kill(int(pid), signal.SIGSTOP)
        try:
            with admin(core, "primary") as conn:
                conn.execute(
                    "INSERT INTO events (service, tier) SELECT 'pad-' || md5(i::text), 'primary'"
                    " FROM generate_series(1, 30000) i"
                )
            stalled = run(eng, "dr-switchover", {"from": "primary", "to": "secondary"})
        finally:
            os.kill(int(pid), signal.SIGCONT)
        assert stalled.state == "refused"
        (reason,) = stalled.refusals()
        assert reason.startswith("candidate: no good candidate: secondary replay lag ") and reason.endswith(
            " over 1 MiB"
        ), reason
    finally:
        one(core, "secondary", "SELECT pg_wal_replay_resume()")
    _primary_is(core, "primary")
    assert tier_map(core) == before


def test_a_target_that_does_not_catch_up_rolls_back_and_unfreezes_the_source(
    core: Running, tmp_path: Path
) -> None:
    folder = runbooks_with(tmp_path, "dr-switchover", "deadline: 20", "deadline: 2")
    eng = engine(core, tmp_path, folder)
    before = tier_map(core)

    def stall_after_freeze(run_id: str, step: str, event: str, detail: dict[str, object]) -> None:
        if step == "freeze" and event == "done":
            one(core, "secondary", "SELECT pg_wal_replay_pause()")
            with admin(core, "primary") as conn:  # WAL the paused standby will not replay
                conn.execute("INSERT INTO events (service, tier) VALUES ('after-freeze', 'primary')")

    eng.observers.append(stall_after_freeze)
    try:
        outcome = run(eng, "dr-switchover", {"from": "primary", "to": "secondary"})
    finally:
        one(core, "secondary", "SELECT pg_wal_replay_resume()")
    assert outcome.state == "rolled_back", outcome.message
    assert "catch-up" in outcome.message and "did not replay" in outcome.message
    compensated = [e["step"] for e in outcome.journal if e["event"] == "compensated"]
    assert compensated == ["source-read-only", "freeze"]
    assert tier_map(core) == before
    assert one(core, "secondary", "SELECT pg_is_in_recovery()") is True
    e = env(core)
    status, body = post(
        e.endpoints["ext_api"]["primary"].url + "/write", b'{"writer": 90, "seq": 1}', Path(e.ca_file or "")
    )
    assert (status, body.get("tier")) == (200, "primary"), body
    _primary_is(core, "primary")


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"from": "primary; DROP TABLE drill_writes", "to": "secondary"}, "parameter from: "),
        ({"from": "primary", "to": "../secondary"}, "parameter to: "),
        ({"from": "primary", "to": "secondary", "extra": "x"}, "unknown parameter(s) extra"),
        ({"from": "primary"}, "parameter to is required"),
    ],
)
def test_hostile_parameters_are_refused_before_any_plan(
    core: Running, tmp_path: Path, params: dict[str, str], says: str
) -> None:
    with pytest.raises(InputError, match=None) as caught:
        run(engine(core, tmp_path), "dr-switchover", params)
    assert says in str(caught.value)


def test_a_switch_onto_itself_or_from_a_standby_is_refused(core: Running, tmp_path: Path) -> None:
    eng = engine(core, tmp_path)
    same = run(eng, "dr-switchover", {"from": "primary", "to": "primary"})
    assert same.refusals()[0] == "candidate: source and target are both primary"
    backwards = run(eng, "dr-switchover", {"from": "secondary", "to": "primary"})
    assert (
        "candidate: no switch: source secondary is not a primary (it is in recovery)" in backwards.refusals()
    )


def test_the_control_plane_in_the_source_dc_is_refused(core: Running, tmp_path: Path) -> None:
    eng = engine(core, tmp_path)
    eng.settings.control_plane_tier = None  # the model's: secondary
    outcome = run(eng, "dr-switchover", {"from": "secondary", "to": "primary"})
    assert any(
        r.startswith("control-plane: control plane (sre serve and its store) runs in tier secondary, DC ams1")
        for r in outcome.refusals()
    ), outcome.refusals()


def test_failover_refuses_while_the_old_primary_answers(core: Running, tmp_path: Path) -> None:
    before = tier_map(core)
    outcome = run(engine(core, tmp_path), "dr-failover", {"from": "primary"})
    assert outcome.state == "refused" and outcome.run_id is None
    assert outcome.refusals() == [
        "fenced: not fenced: db_postgres/primary still answers as a primary; stop it or cut it off "
        "before a failover (or run dr-switchover, which needs it up)",
        "redis-promote: redis/primary still answers as the master; stop it or cut it off first "
        "(or use redis_failover, which needs it up)",
    ]
    _primary_is(core, "primary")
    assert tier_map(core) == before


def test_failover_refuses_while_the_old_redis_master_answers(core: Running, tmp_path: Path) -> None:
    assert core.sandbox.stop_process("postgres-primary")
    try:
        outcome = run(engine(core, tmp_path), "dr-failover", {"from": "primary"})
    finally:
        core.sandbox.start_process("postgres-primary")
    assert outcome.state == "refused" and outcome.run_id is None
    assert outcome.refusals() == [
        "redis-promote: redis/primary still answers as the master; stop it or cut it off first "
        "(or use redis_failover, which needs it up)"
    ]
    eventually(lambda: "postgres-secondary" in streaming_standbys(core, "primary"), timeout=30)
    _primary_is(core, "primary")


def test_failover_of_a_stopped_primary_records_what_it_may_lose_then_the_old_primary_rejoins(
    core: Running, tmp_path: Path
) -> None:
    eng = engine(core, tmp_path)
    with writers(core) as w:
        eventually(lambda: sum(map(len, w.acked.values())) > 20)
        # The DC is gone: its PostgreSQL and Redis no longer answer (the fence).
        assert core.sandbox.stop_process("postgres-primary")
        assert core.sandbox.stop_process("redis-primary")
        acked_before = {k: list(v) for k, v in w.acked.items()}
        outcome = run(eng, "dr-failover", {"from": "primary"})
        assert outcome.ok, (outcome.message, outcome.journal[-3:])
        eventually(lambda: sum(map(len, w.acked.values())) > sum(map(len, acked_before.values())) + 20)
    checked = {e["step"]: e.get("facts") for e in outcome.journal if e["event"] == "checked"}
    assert checked["fenced"] == {"fenced": "unreachable"}
    loss = next(
        e["result"] for e in outcome.journal if e["step"] == "record-loss" and e["event"] == "applied"
    )
    assert set(loss) >= {"last_received_lsn", "last_replayed_lsn", "last_replayed_at", "data_age_seconds"}
    assert loss["last_received_lsn"] == loss["last_replayed_lsn"]
    redis_loss = next(
        e["result"] for e in outcome.journal if e["step"] == "redis-promote" and e["event"] == "applied"
    )
    assert set(redis_loss) >= {"offset", "link_down_seconds"}
    assert rd(core, "secondary").info("replication")["role"] == "master"
    # A clean stop sends the standby every committed byte first: nothing acknowledged is lost here.
    assert missing(core, "secondary", w) == []
    assert tier_map(core) == dict.fromkeys(SETTLED, "secondary")

    # Back to the start: the old primary rejoins (rewound) and a planned switchover returns to it.
    back = back_to_the_primary(core, eng, start=("redis-primary",))
    assert back.ok, (back.message, back.journal[-3:])
    _primary_is(core, "primary")
    _replicates(core, "primary", "secondary")


def test_a_rejoin_finds_the_wal_it_rewinds_from_after_checkpoints(core: Running, tmp_path: Path) -> None:
    """pg_rewind reads the old primary's WAL back to the last checkpoint before the histories split.
    Checkpoints after the split recycle older segments unless the cluster keeps some (a 20-cycle
    drill lost one: "could not find previous WAL record"); the sandbox's clusters keep them."""
    eng = engine(core, tmp_path)
    ctx = eng.context("test-rewind")
    rejoin = REGISTRY["pg_rejoin"]
    for old, new in (("primary", "secondary"), ("secondary", "primary")):
        with admin(core, old) as conn:
            conn.execute("CHECKPOINT")
            conn.execute("SELECT pg_switch_wal()")  # the split lands a segment after that checkpoint
            conn.execute("INSERT INTO events (service, tier) VALUES ('before-split', %s)", (old,))
        seen = "SELECT count(*) FROM events WHERE tier = %s AND service = 'before-split'"
        eventually(functools.partial(one, core, new, seen, (old,)))
        one(core, new, "SELECT pg_promote(wait => true)")
        with admin(core, old) as conn:  # the old primary goes on, and checkpoints
            for _ in range(3):
                conn.execute("INSERT INTO events (service, tier) VALUES ('after-split', %s)", (old,))
                conn.execute("SELECT pg_switch_wal()")
                conn.execute("CHECKPOINT")
        args = rejoin.Args.model_validate({"service": "db_postgres", "tier": old, "primary": new})
        asyncio.run(rejoin.apply(args, ctx))
        asyncio.run(rejoin.verify(args, ctx))
        assert one(core, old, "SELECT pg_is_in_recovery()") is True
    _primary_is(core, "primary")
    _replicates(core, "primary", "secondary")


def test_the_loss_record_waits_for_the_standby_to_replay_what_it_received(
    core: Running, tmp_path: Path
) -> None:
    """Promotion replays everything received, so the record waits (bounded) for replay to get there;
    a standby whose replay is stuck is recorded as such, not as caught up."""
    ctx = engine(core, tmp_path).context("test-loss")
    record = REGISTRY["pg_record_loss"]
    args = record.Args.model_validate({"service": "db_postgres", "target": "secondary", "replay_wait": 1})
    one(core, "secondary", "SELECT pg_wal_replay_pause()")
    try:
        with admin(core, "primary") as conn:
            conn.execute("INSERT INTO events (service, tier) VALUES ('loss-record', 'primary')")
        eventually(
            lambda: (
                one(
                    core,
                    "secondary",
                    "SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())",
                )
                > 0
            )
        )
        stuck = asyncio.run(record.apply(args, ctx))
    finally:
        one(core, "secondary", "SELECT pg_wal_replay_resume()")
    assert stuck["replayed_all_received"] is False
    assert stuck["last_received_lsn"] != stuck["last_replayed_lsn"]
    done = asyncio.run(record.apply(args, ctx))
    assert done["replayed_all_received"] is True
    assert done["last_received_lsn"] == done["last_replayed_lsn"]

"""`sre drill dr` on a real sandbox: writers through the gateway, switchovers through the runbook engine.

These tests check the drill's own measuring, so they run a stand-in `dr-switchover` (drill_standin/:
freeze the source tier at the gateway, wait for the target's database, scale, unfreeze) and prove that
the report goes red when it must: a row removed behind the drill's back, a replica that stalls.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import pytest
from sandbox_helpers import Running, pg, sre

from sre.cli.runbook import open_engine
from sre.drill.dr import Hooks, Report, run_drill, tier_states

pytestmark = pytest.mark.integration

STANDIN = Path(__file__).parent / "drill_standin"


def drill(core: Running, tmp_path: Path, hooks: Hooks, cycles: int = 2) -> tuple[Report, object]:
    engine = open_engine(core.place.platform_file, STANDIN, str(tmp_path / "store.db"), env="sandbox")
    return asyncio.run(run_drill(engine, cycles=cycles, writers=3, requested_by="alice", hooks=hooks)), engine


def test_a_drill_loses_nothing_and_reports_each_cycle_and_step(core: Running, tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    done = sre(core, "drill", "dr", "--runbooks", str(STANDIN), "--store", str(store), "--cycles", "2",
               "--writers", "3", "--format", "json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["summary"]["rows_lost"] == 0 and report["summary"]["cycles"] == 2
    assert report["summary"]["rows_acknowledged"] > 0 and report["summary"]["rto_p95"] > 0
    assert [(c["from"], c["to"], c["state"]) for c in report["cycles"]] == [
        ("primary", "secondary", "succeeded")
    ] * 2  # the stand-in promotes nothing, so the primary stays where it is
    for cycle in report["cycles"]:
        assert cycle["rows_acknowledged"] > 0 and cycle["rows_lost"] == 0 and cycle["rto_seconds"] > 0
        steps = {s["id"]: s for s in cycle["steps"]}
        assert list(steps) == ["freeze", "target-answers", "scale-target", "unfreeze"]
        assert steps["freeze"]["outcome"] == "done" and steps["freeze"]["seconds"] > 0
        assert (
            steps["scale-target"]["outcome"] == "skipped"
            and "no Kubernetes API" in steps["scale-target"]["reason"]
        )
    assert report["tiers"]["primary"] == {"db_postgres": "primary", "redis": "master", "nats_js": "writable"}
    assert report["tiers"]["secondary"] == {"db_postgres": "replica", "redis": "replica", "nats_js": "mirror"}
    assert any("approved as `drill`" in n for n in report["notes"])
    # Journaled like any run: the store has both, approved by `drill`.
    status = sre(core, "runbook", "status", report["cycles"][0]["run_id"], "--store", str(store),
                 "--runbooks", str(STANDIN), "--format", "json")  # fmt: skip
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["approved_by"] == "drill"

    table = sre(core, "drill", "dr", "--runbooks", str(STANDIN), "--store", str(store), "--cycles", "1")
    assert table.returncode == 0 and "PASS" in table.stdout and "scale-target" in table.stdout


def test_a_row_removed_on_the_primary_turns_the_drill_red(core: Running, tmp_path: Path) -> None:
    async def remove_one(number: int, source: str, target: str) -> None:
        with pg(core, "primary") as conn:  # an acknowledged write, not the last one in flight
            conn.execute(
                "DELETE FROM drill_writes WHERE (writer, seq) = "
                "(SELECT writer, seq FROM drill_writes ORDER BY at DESC OFFSET 5 LIMIT 1)"
            )

    report, _ = drill(core, tmp_path, Hooks(after_cycle=remove_one))
    assert not report.ok and report.rows_lost == 1
    first = report.cycles[0]
    assert first.rows_lost == 1 and "acknowledged rows missing on db_postgres/primary" in first.failure
    assert len(report.cycles) == 1  # a red cycle stops the drill
    assert report.body()["summary"]["rows_lost"] == 1


def test_a_stalled_replica_fails_the_cycle_with_its_reason(core: Running, tmp_path: Path) -> None:
    replica = core.sandbox.state().processes["postgres-secondary"].pid
    assert replica is not None

    async def stall(number: int, source: str, target: str) -> None:
        os.kill(replica, signal.SIGSTOP)

    async def resume(number: int, source: str, target: str) -> None:
        os.kill(replica, signal.SIGCONT)

    report, _ = drill(core, tmp_path, Hooks(before_cycle=stall, after_cycle=resume))
    assert not report.ok and len(report.cycles) == 1
    cycle = report.cycles[0]
    # The plan's read-only check already finds the replica unresponsive: refused before anything changed.
    assert cycle.state == "refused" and cycle.failure.startswith(
        "run (refused at plan) refused: target-answers"
    )
    assert {s.outcome for s in cycle.steps} == {"not run"}
    assert report.rows_lost == 0 and report.rows_acknowledged > 0


def test_the_real_switchover_back_and_forth_moves_postgres_and_redis_and_loses_nothing(
    core: Running, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No $SRE_CONTROL_PLANE_TIER: the sandbox's environment file says where this engine runs.
    monkeypatch.delenv("SRE_CONTROL_PLANE_TIER", raising=False)
    engine = open_engine(core.place.platform_file, None, str(tmp_path / "store.db"), env="sandbox")
    seen: list[dict[str, dict[str, str]]] = []

    async def tiers(number: int, source: str, target: str) -> None:
        seen.append(await tier_states(engine))

    report = asyncio.run(run_drill(engine, cycles=2, writers=3, hooks=Hooks(after_cycle=tiers)))
    assert report.ok, [c.failure for c in report.cycles]
    assert [(c.from_, c.to) for c in report.cycles] == [("primary", "secondary"), ("secondary", "primary")]
    assert seen[0]["secondary"] == {"db_postgres": "primary", "redis": "master", "nats_js": "writable"}
    assert seen[0]["primary"] == {"db_postgres": "replica", "redis": "replica", "nats_js": "mirror"}
    assert report.tiers["primary"] == {"db_postgres": "primary", "redis": "master", "nats_js": "writable"}
    assert report.tiers["secondary"]["nats_js"] == "mirror"
    steps = {s.id: s for s in report.cycles[0].steps}
    assert steps["promote"].outcome == steps["redis-failover"].outcome == steps["nats-move"].outcome == "done"
    assert steps["nats-move"].seconds is not None and steps["nats-move"].seconds > 0
    assert steps["scale-target"].outcome == "skipped"
    assert all(c.rows_acknowledged > 0 and c.rows_lost == 0 for c in report.cycles)

"""The engine on real SQLite and PostgreSQL stores, acting on a real PostgreSQL database.

The runbooks' apply steps increment a counter (deliberately not idempotent), so
a step applied twice shows as n = 2.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from rb_support import World, events, run, start_and_execute

from sre.errors import InputError
from sre.runbooks import store as st

STEP = """\
  - id: {id}
    action: postgres_sql
    with:
      service: db
      tier: "{{{{ tier }}}}"
      check_sql: "SELECT EXISTS (SELECT 1 FROM changes WHERE k = %(k)s)"
      apply_sql: "INSERT INTO changes (k, n) VALUES (%(k)s, 1) ON CONFLICT (k) DO UPDATE SET n = changes.n + 1"
      verify_sql: "SELECT EXISTS (SELECT 1 FROM changes WHERE k = %(k)s)"
      compensate_sql: "DELETE FROM changes WHERE k = %(k)s"
      params: {{k: "{id}"}}
    point_of_no_return: {pnr}
"""

FAIL = """\
  - id: {id}
    action: postgres_sql
    with: {{service: db, tier: "{{{{ tier }}}}", apply_sql: "SELECT 1 / 0"}}
    retry: {{attempts: 2, delay: 0}}
"""

GATE = """\
  - id: {id}
    action: wait_until
    with:
      postgres: {{service: db, tier: "{{{{ tier }}}}", sql: "SELECT EXISTS (SELECT 1 FROM gate WHERE k = 'open')"}}
      interval: 0.1
    timeout: 30s
"""


def runbook(world: World, name: str, *steps: str, head: str = "") -> None:
    world.runbook(
        name,
        f"""\
version: 1
name: {name}
revision: 1
params:
  tier: {{type: tier}}
target: "{{{{ tier }}}}"
limits: {{runs: 10, per: 1h}}
{head}steps:
"""
        + "".join(steps),
    )


def counts(world: World) -> dict[str, int]:
    return {k: n for k, n in world.sql("SELECT k, n FROM changes")}


def test_a_run_journals_every_transition_and_a_rerun_applies_nothing(world: World) -> None:
    runbook(world, "two", STEP.format(id="a", pnr="false"), STEP.format(id="b", pnr="false"))
    engine = world.engine()
    run_id, state = start_and_execute(engine, "two", {"tier": "primary"})
    assert state == st.SUCCEEDED
    assert counts(world) == {"a": 1, "b": 1}
    assert events(engine, run_id) == [
        ("run", "started"),
        ("a", "checked"),
        ("a", "apply"),
        ("a", "applied"),
        ("a", "done"),
        ("b", "checked"),
        ("b", "apply"),
        ("b", "applied"),
        ("b", "done"),
        ("run", "succeeded"),
    ]
    record = engine.store.run(run_id)
    assert record is not None and record.started_at and record.ended_at and record.requested_by == "alice"
    # The same runbook again: every check says done, nothing is applied.
    second, state = start_and_execute(engine, "two", {"tier": "primary"})
    assert state == st.SUCCEEDED
    assert counts(world) == {"a": 1, "b": 1}
    assert ("a", "apply") not in events(engine, second)


class Crash(BaseException):
    """Stands for kill -9: not an Exception, so nothing in the engine handles it."""


@pytest.mark.parametrize("moment", ["apply", "applied"])
def test_a_run_killed_mid_step_resumes_without_applying_it_twice(world: World, moment: str) -> None:
    runbook(world, "two", STEP.format(id="a", pnr="false"), STEP.format(id="b", pnr="false"))
    engine = world.engine(lease=0.5)

    def crash(run_id: str, step: str, event: str, detail: dict[str, Any]) -> None:
        if step == "b" and event == moment:
            raise Crash

    engine.observers.append(crash)
    rb = engine.catalog.get("two")
    run_id, _ = run(engine.request(rb, {"tier": "primary"}, requested_by="alice", trigger="test"))
    claimed = engine.store.claim_run(engine.owner, engine.lease, run_id)
    assert claimed is not None
    with pytest.raises(Crash):
        run(engine.execute(claimed))
    # "apply" is journaled before the action ran; "applied" after it ran and before it was verified.
    assert counts(world) == ({"a": 1} if moment == "apply" else {"a": 1, "b": 1})
    # Nobody renews the dead worker's lease; another worker takes the run over when it ends.
    later = world.engine(lease=0.5)
    assert later.store.claim_run(later.owner, later.lease) is None
    time.sleep(0.6)
    resumed = later.store.claim_run(later.owner, later.lease)
    assert resumed is not None and resumed.id == run_id
    assert run(later.execute(resumed)) == st.SUCCEEDED
    assert counts(world) == {"a": 1, "b": 1}
    journal = events(later, run_id)
    assert ("run", "resumed") in journal
    assert journal.count(("a", "apply")) == 1
    after = journal[journal.index(("run", "resumed")) :]
    assert after[1] == ("b", "checked")  # check first
    assert (("b", "apply") in after) == (moment == "apply")


def test_a_failure_before_the_point_of_no_return_compensates_in_reverse(world: World) -> None:
    runbook(
        world, "undo", STEP.format(id="a", pnr="false"), STEP.format(id="b", pnr="false"), FAIL.format(id="c")
    )
    engine = world.engine()
    run_id, state = start_and_execute(engine, "undo", {"tier": "primary"})
    assert state == st.ROLLED_BACK
    assert counts(world) == {}
    journal = events(engine, run_id)
    assert journal.count(("c", "failed")) == 2  # retry: two attempts
    assert [e for e in journal if e[1] == "compensated"] == [("b", "compensated"), ("a", "compensated")]
    record = engine.store.run(run_id)
    assert record is not None and "division by zero" in (record.message or "")


def test_a_failure_after_the_point_of_no_return_stops_and_asks(world: World) -> None:
    runbook(
        world, "pnr", STEP.format(id="a", pnr="false"), STEP.format(id="b", pnr="true"), FAIL.format(id="c")
    )
    engine = world.engine()
    run_id, state = start_and_execute(engine, "pnr", {"tier": "primary"})
    assert state == st.NEEDS_HUMAN
    assert counts(world) == {"a": 1, "b": 1}
    assert not any(e[1] == "compensate" for e in events(engine, run_id))
    # A human aborts it: nothing is compensated after the point of no return either.
    assert engine.abort(run_id, "bob") == st.ABORTED


def test_approval_is_bound_to_the_plan_hash_needs_four_eyes_and_drift_voids_it(world: World) -> None:
    head = "approval: {required: true, four_eyes: true, ttl: 1h}\n"
    runbook(world, "guarded", STEP.format(id="a", pnr="false"), head=head)
    engine = world.engine()
    rb = engine.catalog.get("guarded")
    plan = run(engine.plan(rb, {"tier": "primary"}, "alice"))
    assert plan.needs_approval and plan.steps[0].done is False
    with pytest.raises(InputError, match="four eyes"):
        engine.approve(plan.hash, "alice")
    # Not approved yet: the run waits.
    run_id, state = start_and_execute(engine, "guarded", {"tier": "primary"}, approved_hash=plan.hash)
    assert state == st.WAITING_APPROVAL and counts(world) == {}
    _, requeued = engine.approve(plan.hash, "bob")
    assert requeued == [run_id]
    claimed = engine.store.claim_run(engine.owner, engine.lease, run_id)
    assert claimed is not None
    assert run(engine.execute(claimed)) == st.SUCCEEDED
    assert engine.store.run(run_id).approved_by == "bob"  # type: ignore[union-attr]
    # The state moved (step a is done now): the old hash no longer holds.
    with pytest.raises(InputError, match="no longer holds") as caught:
        start_and_execute(engine, "guarded", {"tier": "primary"}, approved_hash=plan.hash)
    assert "step a: done was False, now True" in str(caught.value)


def test_facts_that_drift_between_approval_and_start_refuse_the_run(world: World) -> None:
    runbook(world, "guarded", STEP.format(id="a", pnr="false"), head="approval: {required: true}\n")
    engine = world.engine()
    run_id, _ = run(
        engine.request(engine.catalog.get("guarded"), {"tier": "primary"}, requested_by="a", trigger="t")
    )
    plan_hash = engine.store.run(run_id).plan_hash  # type: ignore[union-attr]
    engine.approve(plan_hash, "bob")
    world.sql("INSERT INTO changes VALUES ('a', 7)")  # someone did it by hand meanwhile
    claimed = engine.store.claim_run(engine.owner, engine.lease, run_id)
    assert claimed is not None
    assert run(engine.execute(claimed)) == st.REFUSED
    assert "drifted" in (engine.store.run(run_id).message or "")  # type: ignore[union-attr]
    assert counts(world) == {"a": 7}


def test_an_expired_approval_does_not_count(world: World) -> None:
    runbook(world, "guarded", STEP.format(id="a", pnr="false"), head="approval: {required: true, ttl: 1}\n")
    engine = world.engine()
    plan = run(engine.plan(engine.catalog.get("guarded"), {"tier": "primary"}, "alice"))
    engine.approve(plan.hash, "bob")
    assert engine.store.valid_approvers(plan.hash) == ["bob"]
    assert engine.store.valid_approvers(plan.hash, now=time.time() + 2) == []


def test_one_run_per_target_and_a_stale_fencing_token_cannot_journal(world: World) -> None:
    runbook(world, "gated", GATE.format(id="wait"))
    engine = world.engine(lease=0.3)
    rb = engine.catalog.get("gated")
    first, _ = run(engine.request(rb, {"tier": "primary"}, requested_by="a", trigger="t"))
    second, _ = run(engine.request(rb, {"tier": "primary"}, requested_by="a", trigger="t"))
    fence = engine.store.acquire_lock("gated:primary", first, "w1", 0.3)
    assert fence is not None
    assert engine.store.acquire_lock("gated:primary", second, "w2", 0.3) is None
    time.sleep(0.4)  # w1 stops renewing: its lease ends, w2 gets a newer token
    newer = engine.store.acquire_lock("gated:primary", second, "w2", 30)
    assert newer == fence + 1
    with pytest.raises(st.LostLock):
        engine.store.journal(first, "gated:primary", fence, "wait", "apply", lease=30)
    engine.store.journal(second, "gated:primary", newer, "wait", "apply", lease=30)


def test_a_run_on_a_busy_target_waits_in_the_queue(world: World) -> None:
    runbook(world, "two", STEP.format(id="a", pnr="false"))
    engine = world.engine()
    rb = engine.catalog.get("two")
    busy, _ = run(engine.request(rb, {"tier": "primary"}, requested_by="a", trigger="t"))
    assert engine.store.acquire_lock("two:primary", busy, "other", 30) is not None
    waiting, state = start_and_execute(engine, "two", {"tier": "primary"})
    assert state == st.QUEUED
    assert "held by run " + busy in (engine.store.run(waiting).message or "")  # type: ignore[union-attr]
    assert counts(world) == {}


def test_the_circuit_breaker_refuses_runs_past_the_limit(world: World) -> None:
    runbook(world, "two", STEP.format(id="a", pnr="false"))
    (world.folder / "runbooks" / "two.yaml").write_text(
        (world.folder / "runbooks" / "two.yaml").read_text().replace("runs: 10", "runs: 2")
    )
    engine = world.engine()
    states = [start_and_execute(engine, "two", {"tier": "primary"})[1] for _ in range(3)]
    assert states == [st.SUCCEEDED, st.SUCCEEDED, st.REFUSED]
    assert "circuit breaker" in (engine.store.runs(1)[0].message or "")
    # Another target has its own budget.
    assert start_and_execute(engine, "two", {"tier": "secondary"})[1] == st.SUCCEEDED


def test_abort_of_a_running_run_compensates_before_its_next_step(world: World) -> None:
    runbook(world, "ab", STEP.format(id="a", pnr="false"), STEP.format(id="b", pnr="false"))
    engine = world.engine()

    def abort_after_a(run_id: str, step: str, event: str, detail: dict[str, Any]) -> None:
        if step == "a" and event == "done":
            assert engine.abort(run_id, "bob") == "abort_requested"

    engine.observers.append(abort_after_a)
    run_id, state = start_and_execute(engine, "ab", {"tier": "primary"})
    assert state == st.ABORTED
    assert counts(world) == {}
    assert ("a", "compensated") in events(engine, run_id)


def test_the_store_holds_plans_runs_and_journal_as_json(world: World) -> None:
    runbook(world, "two", STEP.format(id="a", pnr="false"))
    engine = world.engine()
    run_id, _ = start_and_execute(engine, "two", {"tier": "primary"})
    record = engine.store.run(run_id)
    assert record is not None
    body = record.as_json()
    assert body["params"] == {"tier": "primary"} and body["journal"][0]["event"] == "started"
    plan = engine.store.plan(record.plan_hash)
    assert plan is not None and plan["runbook"] == "two" and plan["steps"][0]["id"] == "a"
    assert engine.store.run_counts() == {"succeeded": 1}


def test_secrets_in_endpoints_never_reach_the_journal(tmp_path: Any, store_url: str, target_db: str) -> None:
    world = World(tmp_path, store_url, target_db, gw="http://ops:gw-secret-password@127.0.0.1:9/api")
    world.runbook(
        "call",
        """\
        version: 1
        name: call
        revision: 1
        params: {tier: {type: tier}}
        target: "{{ tier }}"
        steps:
          - id: call
            action: http
            with: {service: gw, tier: "{{ tier }}", url: /drain}
        """,
    )
    engine = world.engine()
    run_id, state = start_and_execute(engine, "call", {"tier": "primary"})
    assert state == st.ROLLED_BACK
    record = engine.store.run(run_id)
    assert record is not None
    text = json.dumps(record.as_json()) + json.dumps(engine.store.plan(record.plan_hash))
    assert "127.0.0.1:9/api/drain" in text  # the error is there, with the URL...
    assert "gw-secret-password" not in text  # ...but not its password


def test_runs_and_steps_are_spans_when_an_otlp_endpoint_is_set(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from sre.runbooks import tracing

    bodies: list[bytes] = []

    class Collector(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            bodies.append(self.rfile.read(int(self.headers["content-length"])))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    tracing._tracer.cache_clear()
    try:
        runbook(world, "two", STEP.format(id="a", pnr="false"))
        engine = world.engine()
        run_id, state = start_and_execute(engine, "two", {"tier": "primary"})
        assert state == st.SUCCEEDED
        tracing.flush()
    finally:
        tracing._tracer.cache_clear()
        server.shutdown()
    data = b"".join(bodies)
    assert b"runbook.run" in data and b"runbook.step" in data and run_id.encode() in data
    assert b"INSERT INTO" not in data  # arguments are not span attributes

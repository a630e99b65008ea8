"""The one-line verdict per tier counts a cold standby's allowed downtime apart from failures."""

from __future__ import annotations

from pathlib import Path

from sre.platform.loader import load_platform
from sre.probes.model import Reason, Result, Status
from sre.probes.verdict import Topology, tier_verdict


def result(service: str, status: Status, reason: Reason | None = None) -> Result:
    return Result(
        service=service,
        check="https",
        zone="dmz",
        tier="tertiary",
        dc="dub1",
        endpoint="https://127.0.0.1:1",
        vantage="local",
        status=status,
        reason=reason,
    )


def test_all_expected_down_is_a_cold_standby() -> None:
    v = tier_verdict("tertiary", [result("a", Status.expected_down), result("b", Status.expected_down)])
    assert (v.word, v.expected) == ("down", True)
    assert v.why == "cold standby: 2 probes unreachable, as allowed"


def test_failures_beside_expected_downtime_are_not_all_failures() -> None:
    v = tier_verdict(
        "tertiary",
        [
            result("a", Status.expected_down),
            result("b", Status.failed, Reason.role_mismatch),
            result("c", Status.skipped),
        ],
    )
    assert (v.word, v.why) == ("down", "1 of 2 failed, 1 expected down: b (role_mismatch)")


def test_one_failure_among_passes_is_degraded() -> None:
    v = tier_verdict("primary", [result("a", Status.ok), result("b", Status.failed, Reason.timeout)])
    assert (v.word, v.why) == ("degraded", "1 of 2 failed: b (timeout)")


def test_everything_skipped_is_not_probed() -> None:
    assert tier_verdict("primary", [result("a", Status.skipped)]).word == "not probed"


REPO = Path(__file__).resolve().parents[2]


def failing(service: str, reason: Reason, tier: str = "secondary", **facts: object) -> Result:
    r = result(service, Status.failed, reason)
    r.tier = tier
    r.facts = dict(facts)
    return r


def passing(service: str, tier: str = "secondary") -> Result:
    r = result(service, Status.ok)
    r.tier = tier
    return r


def test_the_root_cause_is_named_first_and_the_rest_as_depending_on_it() -> None:
    """The issue's case: the secondary Redis stopped, the gateways' health fails because of it."""
    topology = Topology.of(load_platform(REPO / "platform.yaml"))
    gateways = ["ext_api", "push_svc", "analytics_gw", "int_api"]
    results = [
        *(failing(g, Reason.status_code, health_failing=["redis"]) for g in gateways),
        failing("k8s_workers", Reason.not_ready),
        failing("redis", Reason.connect_refused),
        passing("cdn"),
        passing("db_postgres"),
    ]
    v = tier_verdict("secondary", results, topology)
    assert v.word == "degraded"
    assert v.root_causes == (("redis", "connect_refused"),)
    assert v.why.startswith("6 of 8 failed: redis (connect_refused); ")
    assert "ext_api, push_svc, analytics_gw, int_api and 1 more: depend on redis" in v.why
    assert set(v.dependents) == {*gateways, "k8s_workers"}
    assert v.as_dict()["root_causes"] == [{"service": "redis", "reason": "connect_refused"}]
    assert v.as_dict()["counts"]["failed"] == 6


def test_an_active_tier_without_its_primary_datastore_is_critical() -> None:
    topology = Topology.of(load_platform(REPO / "platform.yaml"))
    results = [
        failing("redis", Reason.timeout, tier="primary"),
        failing("ext_api", Reason.status_code, tier="primary", health_failing=["redis"]),
        *(passing(s, tier="primary") for s in ("cdn", "db_postgres", "nats_js")),
    ]
    v = tier_verdict("primary", results, topology)
    assert v.word == "critical"
    assert v.why.startswith("primary datastore redis failed; 2 of 5 failed: redis (timeout); ")
    # The same on the hot standby is a degraded standby, not an outage.
    for r in results:
        r.tier = "secondary"
    assert tier_verdict("secondary", results, topology).word == "degraded"


def test_services_that_depend_on_each_other_are_both_roots() -> None:
    topology = Topology({"a": frozenset({"b"}), "b": frozenset({"a"})}, {}, frozenset())
    v = tier_verdict("secondary", [failing("a", Reason.timeout), failing("b", Reason.timeout)], topology)
    assert [s for s, _ in v.root_causes] == ["a", "b"] and not v.dependents


def test_probes_the_budget_never_started_are_counted_apart() -> None:
    never = result("b", Status.skipped, Reason.budget)
    v = tier_verdict("primary", [result("a", Status.ok), never])
    assert v.word == "incomplete"
    assert v.why == "1 of 1 probes ok; 1 not probed: the run's time budget ran out"
    assert v.counts["budget"] == 1
    assert tier_verdict("primary", [never]).word == "incomplete"

"""The one-line verdict per tier counts a cold standby's allowed downtime apart from failures."""

from __future__ import annotations

from sre.probes.model import Reason, Result, Status
from sre.probes.verdict import tier_verdict


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

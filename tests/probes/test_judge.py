"""The judge: observations against what the tier should be."""

from __future__ import annotations

import pytest
from probe_support import make_target

from sre.probes.conditions import Condition
from sre.probes.context import RunContext
from sre.probes.judge import judge
from sre.probes.model import Expectation, Observation, ProbeError, Reason, Status, Target, public_url

NOW = 1_700_000_000.0
RUN = RunContext(vantage="t")


def _judge(
    target: Target, error: ProbeError | None = None, **facts: object
) -> tuple[Status, Reason | None, str]:
    v = judge(target, Observation(facts=dict(facts)), error, RUN, duration=0.05, now=NOW)
    return v.status, v.reason, v.message


def db(standby: str, role: str, **kw: float) -> Target:
    return make_target(
        "postgresql://db:5432/app",
        "postgres",
        service="db",
        tier={"active": "primary", "hot": "secondary", "cold": "tertiary"}[standby],
        expect=Expectation(standby=standby, role=role, **kw),  # type: ignore[arg-type]
    )


def test_primary_that_is_a_replica_is_role_mismatch() -> None:
    status, reason, message = _judge(db("active", "primary"), role="replica")
    assert (status, reason) == (Status.failed, Reason.role_mismatch)
    assert "replica where a primary is expected" in message


def test_two_actives() -> None:
    status, reason, message = _judge(db("hot", "replica", max_lag_seconds=5), role="primary")
    assert (status, reason) == (Status.failed, Reason.role_mismatch)
    assert "two actives" in message


def test_replica_within_and_over_its_lag_bound() -> None:
    target = db("hot", "replica", max_lag_seconds=5)
    assert _judge(target, role="replica", lag_seconds=1.2)[0] is Status.ok
    status, reason, message = _judge(target, role="replica", lag_seconds=9.0)
    assert (status, reason) == (Status.failed, Reason.replication_lag)
    assert "9s over the bound 5s" in message


def test_replica_behind_the_primary_by_more_than_its_byte_bound() -> None:
    target = db("hot", "replica", max_lag_seconds=5, max_lag_bytes=1 << 20)
    assert _judge(target, role="replica", lag_seconds=0.0, lag_bytes=4096)[0] is Status.ok
    status, reason, message = _judge(target, role="replica", lag_seconds=0.2, lag_bytes=5 << 20)
    assert (status, reason) == (Status.failed, Reason.replication_lag)
    assert message == "5 MiB behind the primary, over the bound 1 MiB"


def test_a_writable_copy_on_any_standby_tier_is_two_actives() -> None:
    # A promoted cold tertiary: expected role `cold`, but it answers as a writable primary.
    status, reason, message = _judge(db("cold", "cold"), role="primary", writable=True)
    assert (status, reason) == (Status.failed, Reason.role_mismatch)
    assert message == "db answers as writable on the tertiary tier (cold standby): two actives"
    assert _judge(db("hot", "replica"), role="replica", writable=True)[1] is Reason.role_mismatch
    assert _judge(db("cold", "cold"), role="replica", writable=False)[0] is Status.ok
    assert _judge(db("active", "primary"), role="primary", writable=True)[0] is Status.ok


def test_backup_age() -> None:
    target = db("cold", "cold", max_backup_age_hours=26)
    assert _judge(target, backup_age_hours=3)[0] is Status.ok
    assert _judge(target, backup_age_hours=30)[1] is Reason.stale


def test_cold_tier_down_with_a_stale_backup_fails() -> None:
    target = db("cold", "cold", max_backup_age_hours=26)
    refused = ProbeError(Reason.connect_refused, "connection refused")
    assert _judge(target, refused, backup_age_hours=3)[0] is Status.expected_down
    status, reason, message = _judge(target, refused, backup_age_hours=30)
    assert (status, reason) == (Status.failed, Reason.stale)
    assert message == "cold standby is down and its last backup 30.0 h old, over the bound 26 h"


def test_cold_tier_unreachable_is_expected_down_but_other_errors_fail() -> None:
    target = db("cold", "cold")
    refused = ProbeError(Reason.connect_refused, "connection refused")
    assert _judge(target, refused)[0] is Status.expected_down
    assert _judge(db("hot", "replica"), refused)[0] is Status.failed
    auth = ProbeError(Reason.auth, "password authentication failed")
    assert _judge(target, auth)[:2] == (Status.failed, Reason.auth)


def test_tls_policy_and_certificate_expiry() -> None:
    web = make_target("https://web")
    assert _judge(web, tls_version="1.3", cert_not_after=NOW + 90 * 86400)[0] is Status.ok
    assert _judge(web, tls_version="1.2")[1] is Reason.tls_version_below_policy
    status, reason, _ = _judge(web, tls_version="1.3", cert_not_after=NOW + 3 * 86400)
    assert (status, reason) == (Status.degraded, Reason.cert_expiring)
    assert _judge(web, cert_not_after=NOW - 10)[1] is Reason.cert_expired


def test_conditions_are_assertions_listing_every_failure() -> None:
    web = make_target(
        "https://web", conditions=(Condition.parse("status == 200"), Condition.parse("role == primary"))
    )
    status, reason, message = _judge(web, http_status=503)
    assert (status, reason) == (Status.failed, Reason.assertion)
    assert "status (503) == 200" in message and "role (not observed) == primary" in message


def test_failure_outranks_expiring_certificate() -> None:
    web = make_target("https://web")
    status, reason, _ = _judge(web, tls_version="1.2", cert_not_after=NOW + 86400)
    assert (status, reason) == (Status.failed, Reason.tls_version_below_policy)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql://u:hunter2@db:5432/app?password=hunter2&sslmode=verify-full",
            "postgresql://db:5432/app?password=***&sslmode=verify-full",
        ),
        ("https://api.example/healthz", "https://api.example/healthz"),
    ],
)
def test_public_url_hides_credentials(url: str, shown: str) -> None:
    assert public_url(url) == shown

"""Judge one attempt: what a check observed (or the error it raised) against what its tier should be.

The check says what it saw; the judge says whether that is right *here*: a
replica on a hot standby tier is right, on the active tier it is a failure; a
cold tier that does not answer is expected to be down, not failed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sre.probes import tlsinfo
from sre.probes.conditions import Evidence, format_duration
from sre.probes.context import RunContext
from sre.probes.model import Observation, ProbeError, Reason, Status, Target

# What a cold standby that is switched off looks like: nothing answers.
DOWN_REASONS = frozenset(
    {Reason.timeout, Reason.dns, Reason.connect_refused, Reason.connect_error, Reason.not_ready}
)


@dataclass(frozen=True, slots=True)
class Verdict:
    status: Status
    reason: Reason | None = None
    message: str = ""


def judge(
    target: Target,
    observation: Observation,
    error: ProbeError | None,
    run: RunContext,
    *,
    duration: float,
    now: float | None = None,
) -> Verdict:
    now = time.time() if now is None else now
    if error is not None:
        if target.expect.standby == "cold" and error.reason in DOWN_REASONS:
            # Down is allowed for a cold standby, a stale copy to start it from is not.
            stale = _stale(target, observation.facts)
            if stale:
                return Verdict(Status.failed, Reason.stale, f"cold standby is down and its {stale}")
            message = f"cold standby, down as allowed: {error.message}"
            return Verdict(Status.expected_down, error.reason, message)
        return Verdict(Status.failed, error.reason, error.message)
    failures = [*_tier(target, observation.facts), *_tls(observation.facts, run, now)]
    failures += _conditions(target, observation, duration, now)
    hard = [f for f in failures if f[0] is not Reason.cert_expiring]
    if hard:
        return Verdict(Status.failed, hard[0][0], "; ".join(text for _, text in hard))
    if failures:
        return Verdict(Status.degraded, failures[0][0], failures[0][1])
    return Verdict(Status.ok)


def _tier(target: Target, facts: dict[str, object]) -> list[tuple[Reason, str]]:
    out: list[tuple[Reason, str]] = []
    expect = target.expect
    role = facts.get("role")
    writable = facts.get("writable") is True
    if expect.standby != "active" and (role == "primary" or writable):
        # Whatever the tier should hold (a replica, a cold copy): a writable copy here is a second active.
        what = "writable" if writable else "primary"
        why = f"answers as {what} on the {target.tier} tier ({expect.standby} standby): two actives"
        out.append((Reason.role_mismatch, f"{target.service} {why}"))
    elif expect.role in ("primary", "replica") and role is not None and role != expect.role:
        out.append((Reason.role_mismatch, f"{target.service} is a {role} where a {expect.role} is expected"))
    lag = facts.get("lag_seconds")
    if expect.max_lag_seconds is not None and isinstance(lag, int | float) and lag > expect.max_lag_seconds:
        bound = format_duration(expect.max_lag_seconds)
        out.append((Reason.replication_lag, f"replication lag {format_duration(lag)} over the bound {bound}"))
    behind = facts.get("lag_bytes")
    if expect.max_lag_bytes is not None and isinstance(behind, int) and behind > expect.max_lag_bytes:
        bound = format_bytes(expect.max_lag_bytes)
        out.append(
            (Reason.replication_lag, f"{format_bytes(behind)} behind the primary, over the bound {bound}")
        )
    stale = _stale(target, facts)
    if stale:
        out.append((Reason.stale, stale))
    return out


def format_bytes(size: float) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{int(size)} B"


def _stale(target: Target, facts: dict[str, object]) -> str | None:
    age = facts.get("backup_age_hours")
    hours = target.expect.max_backup_age_hours
    if hours is not None and isinstance(age, int | float) and age > hours:
        return f"last backup {age:.1f} h old, over the bound {hours:g} h"
    return None


def _tls(facts: dict[str, object], run: RunContext, now: float) -> list[tuple[Reason, str]]:
    out: list[tuple[Reason, str]] = []
    version = facts.get("tls_version")
    if isinstance(version, str) and tlsinfo.below(version, run.tls_min_version):
        why = f"TLS {version} negotiated; the policy requires {run.tls_min_version}"
        out.append((Reason.tls_version_below_policy, why))
    after = facts.get("cert_not_after")
    if isinstance(after, int | float):
        if after <= now:
            out.append((Reason.cert_expired, f"certificate expired {tlsinfo.utc(after)}"))
        elif after - now < run.cert_warn_seconds:
            left = format_duration(after - now)
            out.append((Reason.cert_expiring, f"certificate expires in {left} ({tlsinfo.utc(after)})"))
    return out


def _conditions(
    target: Target, observation: Observation, duration: float, now: float
) -> list[tuple[Reason, str]]:
    if not target.conditions:
        return []
    seen = Evidence(
        facts=observation.facts,
        phases=observation.phases,
        duration=duration,
        body=observation.body,
        headers=observation.headers,
        now=now,
    )
    out: list[tuple[Reason, str]] = []
    for condition in target.conditions:
        holds, text = condition.evaluate(seen)
        if not holds:
            out.append((Reason.assertion, f"condition failed: {text}"))
    return out

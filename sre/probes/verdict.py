"""One line per DC tier: healthy, degraded or down, and why."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sre.probes.model import Result, Status

MAX_NAMED = 4


@dataclass(frozen=True, slots=True)
class TierVerdict:
    tier: str
    word: str  # healthy | degraded | down | not probed
    why: str
    expected: bool = False  # down, as a cold standby is allowed to be


def tier_verdict(tier: str, results: Iterable[Result]) -> TierVerdict:
    ran = [r for r in results if r.status is not Status.skipped]
    if not ran:
        return TierVerdict(tier, "not probed", "every probe was skipped")
    by = Counter(r.status for r in ran)
    failed = [r for r in ran if r.status is Status.failed]
    up = by[Status.ok] + by[Status.degraded]
    down = by[Status.expected_down]
    if down == len(ran):
        return TierVerdict(tier, "down", f"cold standby: {len(ran)} probes unreachable, as allowed", True)
    note = f", {down} expected down" if down else ""
    if failed and not up:
        return TierVerdict(tier, "down", f"{len(failed)} of {len(ran)} failed{note}: {_named(failed)}")
    if failed:
        return TierVerdict(tier, "degraded", f"{len(failed)} of {len(ran)} failed{note}: {_named(failed)}")
    degraded = [r for r in ran if r.status is Status.degraded]
    if degraded:
        return TierVerdict(tier, "degraded", f"{len(degraded)} of {len(ran)} degraded: {_named(degraded)}")
    return TierVerdict(tier, "healthy", f"{up} of {len(ran)} probes ok{note}")


def _named(results: list[Result]) -> str:
    names = [f"{r.service} ({r.reason or r.status})" for r in results[:MAX_NAMED]]
    more = f" and {len(results) - MAX_NAMED} more" if len(results) > MAX_NAMED else ""
    return ", ".join(names) + more

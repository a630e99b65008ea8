"""Merge result files from several vantage points into per-service reachability.

A service is judged by the share of vantages that reached it (like Grafana
Synthetic Monitoring's reachability), so one broken vantage point shows up as
a suspect vantage instead of turning every service red.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sre.probes.model import Result, Status

SUSPECT_BELOW = 0.5  # a vantage that reached less than half of what the others reached


@dataclass
class Reachability:
    service: str
    check: str
    zone: str
    tier: str
    dc: str
    status: Status  # ok: every vantage; degraded: some; failed: none; expected_down; skipped
    reached: int = 0
    vantages: int = 0
    failed_from: dict[str, str] = field(default_factory=dict)  # vantage -> reason

    @property
    def share(self) -> float:
        return self.reached / self.vantages if self.vantages else 0.0


@dataclass
class Merged:
    services: list[Reachability]
    vantages: dict[str, float]  # vantage -> share of the probes it ran that passed
    suspects: list[str]  # vantages far worse than the rest


def merge(runs: list[list[Result]]) -> Merged:
    grouped: dict[tuple[str, str, str], list[Result]] = defaultdict(list)
    for results in runs:
        for r in results:
            grouped[(r.service, r.check, r.tier)].append(r)
    services = [_one(rs) for rs in grouped.values()]
    per_vantage: dict[str, list[bool]] = defaultdict(list)
    for results in runs:
        for r in results:
            if r.status not in (Status.skipped, Status.expected_down):
                per_vantage[r.vantage].append(r.passed)
    shares = {v: sum(ok) / len(ok) for v, ok in per_vantage.items() if ok}
    suspects = []
    for vantage, share in shares.items():
        others = [s for v, s in shares.items() if v != vantage]
        if others and share < SUSPECT_BELOW * (sum(others) / len(others)):
            suspects.append(vantage)
    return Merged(services, shares, sorted(suspects))


def _one(results: list[Result]) -> Reachability:
    first = results[0]
    ran = [r for r in results if r.status is not Status.skipped]
    out = Reachability(first.service, first.check, first.zone, first.tier, first.dc, Status.skipped)
    if not ran:
        return out
    out.vantages = len(ran)
    out.reached = sum(1 for r in ran if r.status in (Status.ok, Status.degraded))
    out.failed_from = {r.vantage: str(r.reason) for r in ran if r.status is Status.failed}
    if all(r.status is Status.expected_down for r in ran):
        out.status = Status.expected_down
    elif out.reached == out.vantages:
        out.status = Status.ok
    elif out.reached:
        out.status = Status.degraded
    else:
        out.status = Status.failed if out.failed_from else Status.expected_down
    return out

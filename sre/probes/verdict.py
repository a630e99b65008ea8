"""One verdict per DC tier: healthy, degraded, critical or down, and why, root causes first.

A failing service that no other failing service explains is a root cause; the
others are named after it, as depending on it. "Depends on" comes from the
model's edges (`from` needs `to`, transitively; `both` edges count both ways;
edges to every service, such as monitoring's, do not count) and from what a
health answer says itself (`health_failing`, the gateways' list of failing
dependencies). An active tier whose primary datastore (a stateful service
with role primary there) fails is `critical` even when most probes pass, and
`down` when nothing passes. Probes the run's budget never started are counted
apart: with them a tier that is otherwise fine is `incomplete`, never healthy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sre.probes.model import Reason, Result, Status

if TYPE_CHECKING:
    from sre.platform.model import Platform

MAX_NAMED = 4
HEALTH_FAILING = "health_failing"  # the fact a health answer's list of failing dependencies is kept in


@dataclass(frozen=True, slots=True)
class Topology:
    """What the verdict needs of the model: who depends on whom, and where the primary datastores are."""

    depends_on: Mapping[str, frozenset[str]] = field(default_factory=dict)  # transitive
    primaries: Mapping[str, frozenset[str]] = field(default_factory=dict)  # tier -> stateful primaries
    active: frozenset[str] = frozenset()  # tiers with standby: active

    @classmethod
    def of(cls, platform: Platform) -> Topology:
        direct: dict[str, set[str]] = {sid: set() for sid in platform.services}
        for edge in platform.edges:
            if edge.target not in platform.services or edge.source not in platform.services:
                continue  # "*" (monitoring reads everything) and externals explain no failure
            direct[edge.source].add(edge.target)
            if edge.both:
                direct[edge.target].add(edge.source)
        primaries = {
            tid: frozenset(
                sid
                for sid, svc in platform.services.items()
                if svc.stateful and (entry := svc.tiers.get(tid)) is not None and entry.role == "primary"
            )
            for tid in platform.tiers
        }
        active = frozenset(tid for tid, tier in platform.tiers.items() if tier.standby == "active")
        return cls({sid: frozenset(_reach(sid, direct)) for sid in direct}, primaries, active)


def _reach(start: str, direct: Mapping[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(direct.get(start, ()))
    while todo:
        name = todo.pop()
        if name not in seen and name != start:
            seen.add(name)
            todo.extend(direct.get(name, ()))
    return seen


@dataclass(frozen=True, slots=True)
class TierVerdict:
    tier: str
    word: str  # healthy | degraded | critical | down | incomplete | not probed
    why: str
    expected: bool = False  # down, as a cold standby is allowed to be
    counts: Mapping[str, int] = field(default_factory=dict)
    root_causes: tuple[tuple[str, str], ...] = ()  # (service, reason), failing for reasons of their own
    dependents: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # service -> its root causes

    def as_dict(self) -> dict[str, Any]:
        """For the JSON output: what CI and a webhook read."""
        return {
            "tier": self.tier,
            "status": self.word,
            "expected": self.expected,
            "why": self.why,
            "counts": dict(self.counts),
            "root_causes": [{"service": s, "reason": r} for s, r in self.root_causes],
            "dependents": {s: list(c) for s, c in self.dependents.items()},
        }


def tier_verdict(tier: str, results: Iterable[Result], topology: Topology | None = None) -> TierVerdict:
    topology = topology or Topology()
    every = list(results)
    ran = [r for r in every if r.status is not Status.skipped]
    unstarted = sum(1 for r in every if r.reason is Reason.budget)
    counts = Counter(str(r.status) for r in every)
    counts["budget"] = unstarted
    tally = {s: counts.get(s, 0) for s in ("ok", "degraded", "failed", "expected_down", "skipped", "budget")}
    budget_note = f"; {unstarted} not probed: the run's time budget ran out" if unstarted else ""
    if not ran:
        why = "every probe was skipped" + budget_note
        return TierVerdict(tier, "incomplete" if unstarted else "not probed", why, counts=tally)
    failed = [r for r in ran if r.status is Status.failed]
    up = tally["ok"] + tally["degraded"]
    down = tally["expected_down"]
    if down == len(ran) and not unstarted:
        why = f"cold standby: {len(ran)} probes unreachable, as allowed"
        return TierVerdict(tier, "down", why, True, counts=tally)
    note = f", {down} expected down" if down else ""
    if failed:
        roots, dependents = root_causes(failed, topology)
        named = _explained(failed, roots, dependents)
        why = f"{len(failed)} of {len(ran)} failed{note}: {named}{budget_note}"
        lost = sorted({r.service for r in failed} & topology.primaries.get(tier, frozenset()))
        if not up:
            word = "down"
        elif tier in topology.active and lost:
            word = "critical"
            why = f"primary datastore {', '.join(lost)} failed; {why}"
        else:
            word = "degraded"
        return TierVerdict(tier, word, why, counts=tally, root_causes=roots, dependents=dependents)
    degraded = [r for r in ran if r.status is Status.degraded]
    if degraded:
        why = f"{len(degraded)} of {len(ran)} degraded: {_named(degraded)}{budget_note}"
        return TierVerdict(tier, "degraded", why, counts=tally)
    if unstarted:
        return TierVerdict(
            tier, "incomplete", f"{up} of {len(ran)} probes ok{note}{budget_note}", counts=tally
        )
    return TierVerdict(tier, "healthy", f"{up} of {len(ran)} probes ok{note}", counts=tally)


def root_causes(
    failed: list[Result], topology: Topology
) -> tuple[tuple[tuple[str, str], ...], dict[str, tuple[str, ...]]]:
    """The failing services no other failing service explains, and for the others which roots explain them."""
    first: dict[str, Result] = {}
    for r in failed:
        first.setdefault(r.service, r)
    names = set(first)
    needs: dict[str, set[str]] = {}
    for name in names:
        said: set[str] = set()
        for r in failed:
            listed = r.facts.get(HEALTH_FAILING) if r.service == name else None
            if isinstance(listed, list):
                said |= {str(x) for x in listed}
        needs[name] = ((set(topology.depends_on.get(name, ())) | said) & names) - {name}
    # Services that need each other (a cycle) do not explain each other: both stay roots.
    roots = [n for n in first if all(n in needs[other] for other in needs[n])]
    explained = {
        n: tuple(sorted(needs[n] & set(roots))) for n in first if n not in roots and needs[n] & set(roots)
    }
    # A service explained only by non-roots (a chain whose root is not failing here) still needs a cause.
    for n in first:
        if n not in roots and n not in explained:
            roots.append(n)
    return tuple((n, str(first[n].reason or first[n].status)) for n in roots), explained


def _explained(
    failed: list[Result], roots: tuple[tuple[str, str], ...], dependents: Mapping[str, tuple[str, ...]]
) -> str:
    parts = [_names([f"{s} ({reason})" for s, reason in roots])]
    groups: dict[tuple[str, ...], list[str]] = {}
    for service, causes in dependents.items():
        groups.setdefault(causes, []).append(service)
    for causes, services in groups.items():
        verb = "depends" if len(services) == 1 else "depend"
        parts.append(f"{_names(services)}: {verb} on {', '.join(causes)}")
    return "; ".join(parts)


def _names(items: list[str]) -> str:
    more = f" and {len(items) - MAX_NAMED} more" if len(items) > MAX_NAMED else ""
    return ", ".join(items[:MAX_NAMED]) + more


def _named(results: list[Result]) -> str:
    return _names([f"{r.service} ({r.reason or r.status})" for r in results])


def tier_verdicts(
    results: Iterable[Result], tiers: Iterable[str], topology: Topology | None = None
) -> list[TierVerdict]:
    """A verdict for every tier with results, in the order given."""
    every = list(results)
    out = []
    for tier in tiers:
        in_tier = [r for r in every if r.tier == tier]
        if in_tier:
            out.append(tier_verdict(tier, in_tier, topology))
    return out

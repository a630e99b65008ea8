"""Cross-references inside platform.yaml that types alone cannot check."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

from sre.platform.model import EVERY_SERVICE, SCHEMES, EnvironmentBody, Platform
from sre.yamlfile import PathKey, Problem


def _one_of(names: Iterable[object]) -> str:
    return ", ".join(sorted(str(n) for n in names))


def cross_check(p: Platform) -> list[Problem]:
    return [*_tiers(p), *_services(p), *_edges(p), *_environments(p), *_sandbox(p)]


def _sandbox(p: Platform) -> Iterator[Problem]:
    placed: dict[str, str] = {}
    for component, sids in p.sandbox.components.items():
        for i, sid in enumerate(sids):
            at: PathKey = ("sandbox", "components", component, i)
            if sid not in p.services:
                yield Problem(at, f"unknown service {sid!r}; expected one of {_one_of(p.services)}")
            elif sid in placed:
                yield Problem(at, f"service {sid!r} is already given to component {placed[sid]!r}")
            placed[sid] = component
    for sid in p.sandbox.skip:
        if sid not in p.services:
            expected = _one_of(p.services)
            yield Problem(("sandbox", "skip", sid), f"unknown service {sid!r}; expected one of {expected}")


def _tiers(p: Platform) -> Iterator[Problem]:
    if not any(t.standby == "active" for t in p.tiers.values()):
        yield Problem(("tiers",), "no tier has standby: active; one tier must serve traffic")
    seen: dict[str, str] = {}
    for tid, tier in p.tiers.items():
        if tier.dc in seen:
            yield Problem(("tiers", tid, "dc"), f"dc {tier.dc!r} is already used by tier {seen[tier.dc]!r}")
        seen[tier.dc] = tid
    if p.control_plane is not None and p.control_plane.tier not in p.tiers:
        yield Problem(
            ("control_plane", "tier"),
            f"unknown tier {p.control_plane.tier!r}; expected one of {_one_of(p.tiers)}",
        )


def _services(p: Platform) -> Iterator[Problem]:
    for sid in p.services.keys() & p.externals.keys():
        yield Problem(("externals", sid), f"duplicate id {sid!r}: already a service")
    required_crypto = p.policies.pii.encryption_at_rest
    for sid, svc in p.services.items():
        at: PathKey = ("services", sid)
        if svc.zone not in p.zones:
            yield Problem((*at, "zone"), f"unknown zone {svc.zone!r}; expected one of {_one_of(p.zones)}")
        if p.teams and svc.owner not in p.teams:
            yield Problem((*at, "owner"), f"unknown team {svc.owner!r}; expected one of {_one_of(p.teams)}")
        if svc.user_facing and svc.slo is None:
            yield Problem((*at, "slo"), "a user-facing service needs an SLO (availability, latency)")
        if svc.pii and svc.encryption_at_rest != required_crypto:
            yield Problem(
                (*at, "encryption_at_rest"),
                f"holds PII ({', '.join(svc.pii)}), so policy requires {required_crypto}; "
                f"got {svc.encryption_at_rest!r}",
            )
        for tid in svc.tiers:
            if tid not in p.tiers:
                yield Problem(
                    (*at, "tiers", tid), f"unknown tier {tid!r}; expected one of {_one_of(p.tiers)}"
                )
        if svc.stateful:
            for tid in p.tiers:
                if tid not in svc.tiers:
                    yield Problem(
                        (*at, "tiers"), f"stateful service has no replication role for tier {tid!r}"
                    )
            yield from _roles(p, sid)
        elif svc.tiers:
            yield Problem((*at, "tiers"), "replication roles are only for stateful services (stateful: true)")


def _roles(p: Platform, sid: str) -> Iterator[Problem]:
    at: PathKey = ("services", sid, "tiers")
    primary: str | None = None
    for tid, entry in p.services[sid].tiers.items():
        tier = p.tiers.get(tid)
        if entry.role == "primary":
            if primary is not None:
                yield Problem(
                    (*at, tid, "role"), f"tier {primary!r} is already the primary; a service has one primary"
                )
            primary = primary or tid
        elif entry.role == "replica" and tier is not None and tier.standby == "active":
            yield Problem(
                (*at, tid, "role"),
                f"tier {tid!r} serves traffic (standby: active), so it holds the primary, not a replica",
            )


def _edges(p: Platform) -> Iterator[Problem]:
    nodes = p.services.keys() | p.externals.keys()
    seen: dict[tuple[str, str, str | None], int] = {}
    for i, edge in enumerate(p.edges):
        if edge.source not in nodes:
            yield Problem(("edges", i, "from"), f"unknown service or external {edge.source!r}")
        if edge.target != EVERY_SERVICE and edge.target not in nodes:
            yield Problem(("edges", i, "to"), f"unknown service or external {edge.target!r}")
        if edge.target == edge.source:
            yield Problem(("edges", i), f"edge from {edge.source!r} to itself")
        key = (edge.source, edge.target, edge.label)
        if key in seen:
            yield Problem(("edges", i), f"duplicate edge (same as edges[{seen[key]}])")
        seen.setdefault(key, i)


def _environments(p: Platform) -> Iterator[Problem]:
    for name, env in p.environments.items():
        if env.file and env.endpoints:
            yield Problem(("environments", name), "give either endpoints or file, not both")
        yield from environment_problems(p, env, ("environments", name))


def environment_problems(p: Platform, env: EnvironmentBody, at: PathKey) -> Iterator[Problem]:
    if env.control_plane_tier is not None and env.control_plane_tier not in p.tiers:
        yield Problem(
            (*at, "control_plane_tier"),
            f"unknown tier {env.control_plane_tier!r}; expected one of {_one_of(p.tiers)}",
        )
    for sid in env.unavailable:
        if sid not in p.services:
            yield Problem((*at, "unavailable", sid), f"unknown service {sid!r}")
    for sid, per_tier in env.endpoints.items():
        if sid not in p.services:
            yield Problem((*at, "endpoints", sid), f"unknown service {sid!r}")
            continue
        kind = p.services[sid].kind
        for tid, endpoint in per_tier.items():
            if tid not in p.tiers:
                yield Problem(
                    (*at, "endpoints", sid, tid), f"unknown tier {tid!r}; expected one of {_one_of(p.tiers)}"
                )
            scheme = urlsplit(endpoint.url).scheme
            if scheme not in SCHEMES[kind]:
                yield Problem(
                    (*at, "endpoints", sid, tid),
                    f"a {kind} service is reached over {'/'.join(s + '://' for s in SCHEMES[kind])}; "
                    f"got {scheme}://",
                )

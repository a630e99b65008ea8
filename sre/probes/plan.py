"""Which probes a run makes: every service x tier with an endpoint, after the filters.

A service the environment cannot run, or a tier without an endpoint, is not
silently dropped: it comes back as a skipped result with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pydantic import ValidationError

from sre.errors import InputError
from sre.platform.model import Endpoint, EnvironmentBody, Platform
from sre.probes.definitions import Definitions, Resolved
from sre.probes.model import Expectation, Reason, Result, Status, Target, location
from sre.urls import public_url

ADHOC_TIER = "target"  # the tier column of probes outside the model


@dataclass
class Plan:
    targets: list[Target] = field(default_factory=list)
    skipped: list[Result] = field(default_factory=list)


def make_plan(
    platform: Platform,
    env: EnvironmentBody,
    defs: Definitions,
    *,
    vantage: str,
    services: Sequence[str] = (),
    tiers: Sequence[str] = (),
    zones: Sequence[str] = (),
) -> Plan:
    _known("service", services, platform.services)
    _known("tier", tiers, platform.tiers)
    _known("zone", zones, platform.zones)
    plan = Plan()
    for sid, svc in platform.services.items():
        if (services and sid not in services) or (zones and svc.zone not in zones):
            continue
        for tid, tier in platform.tiers.items():
            if tiers and tid not in tiers:
                continue
            entry = svc.tiers.get(tid)
            replica = entry is not None and entry.role == "replica"
            expect = Expectation(
                standby=tier.standby,
                role=entry.role if entry else None,
                max_lag_seconds=entry.max_lag_seconds if entry else None,
                max_lag_bytes=(entry.max_lag_bytes or platform.policies.replication.max_lag_bytes)
                if entry is not None and replica
                else None,
                max_backup_age_hours=entry.max_backup_age_hours if entry else None,
            )
            endpoint = env.endpoints.get(sid, {}).get(tid)
            upstream = _primary_endpoint(platform, env, sid) if replica else None
            for spec in defs.for_service(sid, svc.kind):
                planned = _PlannedProbe(
                    sid, spec.check, svc.zone, tid, tier.dc, endpoint.url if endpoint else ""
                )
                if sid in env.unavailable:
                    plan.skipped.append(
                        planned.skip(vantage, Reason.not_in_environment, env.unavailable[sid])
                    )
                elif endpoint is None:
                    why = f"no endpoint for tier {tid}"
                    plan.skipped.append(planned.skip(vantage, Reason.no_endpoint, why))
                elif spec.check in endpoint.unavailable:
                    why = endpoint.unavailable[spec.check]
                    plan.skipped.append(planned.skip(vantage, Reason.not_in_environment, why))
                elif (address := _endpoint(endpoint, spec)) is None:
                    why = f"the {tid} endpoint has no params.{spec.endpoint_param}"
                    plan.skipped.append(planned.skip(vantage, Reason.no_endpoint, why))
                else:
                    side = (
                        upstream if spec.endpoint_param is None else None
                    )  # an extra check asks another address
                    plan.targets.append(target(planned, address, expect, spec, side))
    return plan


def _primary_endpoint(platform: Platform, env: EnvironmentBody, sid: str) -> Endpoint | None:
    """The service's endpoint on the active tier where it is the primary: what a replica is compared with."""
    svc = platform.services[sid]
    for tid, tier in platform.tiers.items():
        entry = svc.tiers.get(tid)
        if tier.standby == "active" and entry is not None and entry.role == "primary":
            return env.endpoints.get(sid, {}).get(tid)
    return None


@dataclass(frozen=True)
class _PlannedProbe:
    """One (service, check, tier) the plan visits, with the labels its result carries and the URL."""

    service: str
    check: str
    zone: str
    tier: str
    dc: str
    url: str

    def skip(self, vantage: str, reason: Reason, message: str) -> Result:
        return Result(
            **location(self),
            endpoint=public_url(self.url) if self.url else "",
            vantage=vantage,
            status=Status.skipped,
            reason=reason,
            message=message,
            attempts=0,
        )


def target(
    planned: _PlannedProbe,
    endpoint: Endpoint,
    expect: Expectation,
    spec: Resolved,
    upstream: Endpoint | None = None,
) -> Target:
    return Target(
        **location(planned),  # planned.check is spec.check
        endpoint=endpoint,
        expect=expect,
        settings=spec.settings,
        # The endpoint's own secrets are environment-specific: they win over the definition's.
        secrets={**spec.secrets, **endpoint.secrets},
        timeout=spec.timeout,
        conditions=spec.conditions,
        failure_threshold=spec.failure_threshold,
        success_threshold=spec.success_threshold,
        retry_delay=spec.retry_delay,
        upstream=upstream,
    )


def adhoc_target(address: str, spec: Resolved) -> Target:
    """A target outside the model (`--target`, the exporter): its kind's defaults, judged as an active tier.

    Raises ValueError with a one-line message when the address is not a URL or host:port.
    """
    url = address if "://" in address else f"{spec.check}://{address}"
    try:
        endpoint = Endpoint(url=url)
    except ValidationError as exc:
        raise ValueError(f"{address!r}: {exc.errors()[0]['msg'].removeprefix('Value error, ')}") from None
    # The service column (and the X-SRE-Probe-Id header) name the host, never a user:password.
    host = urlsplit(url).netloc.rpartition("@")[2]
    planned = _PlannedProbe(host or public_url(address), spec.check, "-", ADHOC_TIER, "-", url)
    return target(planned, endpoint, Expectation(standby="active"), spec)


def _endpoint(endpoint: Endpoint, spec: Resolved) -> Endpoint | None:
    if spec.endpoint_param is None:
        return endpoint
    address = endpoint.params.get(spec.endpoint_param)
    if address is None:
        return None
    if "://" not in address:
        address = f"{spec.scheme or spec.check}://{address}"
    return endpoint.model_copy(update={"url": address})


def _known(what: str, given: Sequence[str], defined: Mapping[str, object]) -> None:
    unknown = [name for name in given if name not in defined]
    if unknown:
        names = ", ".join(repr(n) for n in unknown)
        raise InputError(f"unknown {what} {names}; expected one of {', '.join(defined)}")

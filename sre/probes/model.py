"""What a probe is about and what it found: targets, observations, typed results.

A check only observes: it records facts and phase timings, and raises
`ProbeError` with a machine-readable reason when what it saw is wrong. The
runner owns deadlines and judges the facts against the tier's expectations.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

from sre.platform.model import Endpoint, Role, SecretSource, Standby
from sre.urls import public_url as public_url  # noqa: PLC0414 - re-exported: the old home of it

if TYPE_CHECKING:
    from sre.probes.conditions import Condition


class Status(StrEnum):
    ok = "ok"
    degraded = "degraded"
    failed = "failed"
    expected_down = "expected_down"
    skipped = "skipped"


class Reason(StrEnum):
    """Why a probe did not pass. Stable strings: they are metric labels and JSON values."""

    timeout = "timeout"
    dns = "dns"
    connect_refused = "connect_refused"
    connect_error = "connect_error"
    tls_handshake = "tls_handshake"
    tls_version_below_policy = "tls_version_below_policy"
    cert_invalid = "cert_invalid"
    cert_expired = "cert_expired"
    cert_expiring = "cert_expiring"
    hostname_mismatch = "hostname_mismatch"
    protocol = "protocol"  # the server answered something that is not the protocol
    auth = "auth"
    status_code = "status_code"
    assertion = "assertion"  # a condition of the probe definition did not hold
    role_mismatch = "role_mismatch"
    replication_lag = "replication_lag"
    not_ready = "not_ready"  # reachable, but says it cannot serve (sealed, red, NOT_SERVING)
    stale = "stale"  # data or backup older than its bound
    passed_on_retry = "passed_on_retry"
    no_endpoint = "no_endpoint"
    not_in_environment = "not_in_environment"
    budget = "budget"  # skipped: the run's time budget ran out before this probe could start
    unsupported = "unsupported"
    internal = "internal"  # a bug or an unexpected exception in the prober itself


@dataclass(frozen=True, slots=True)
class Expectation:
    """What this tier should look like, from platform.yaml."""

    standby: Standby  # active, hot or cold: a cold tier may be down
    role: Role | None = None  # for stateful services
    max_lag_seconds: float | None = None
    max_lag_bytes: int | None = None  # behind the primary, in bytes of WAL or replication stream
    max_backup_age_hours: float | None = None


@dataclass(frozen=True, slots=True)
class Target:
    service: str
    check: str  # the registered check to run (usually the service's kind)
    zone: str
    tier: str
    dc: str
    endpoint: Endpoint
    expect: Expectation
    settings: Mapping[str, Any] = field(default_factory=dict)  # kind-specific options from probes/
    secrets: Mapping[str, SecretSource] = field(default_factory=dict)  # by reference only
    timeout: float = 10.0
    conditions: tuple[Condition, ...] = ()  # from probes/, judged after the check
    failure_threshold: int = 1  # attempts that must fail before the probe fails
    success_threshold: int = 1  # passes in a row after a failure before it counts as recovered
    retry_delay: float = 0.0
    # A replica's primary: the same service on the active tier, for the check to compare positions with.
    upstream: Endpoint | None = None

    @property
    def key(self) -> str:
        return f"{self.service}/{self.tier}/{self.check}"


@dataclass(slots=True)
class Observation:
    """What a check records while one attempt runs: facts (http_status, tls_version, role, lag_seconds,
    ...), phase timings and the HTTP evidence; the judge reads it (conditions through `Evidence`)."""

    facts: dict[str, Any] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    # Evidence for conditions (`body.$.status`, `header.content-type`); judged, never reported.
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case
    current_phase: str | None = None  # the phase a timeout interrupted

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        self.current_phase = name
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - start
        # Left set when the phase raised (a timeout), so the runner can say where it stopped.
        self.current_phase = None


class ProbeError(Exception):
    """What a check raises when what it saw is wrong; the message is for humans, the reason for machines."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(slots=True)
class Result:
    """One probe's verdict, labelled with what was checked and where it ran from."""

    service: str
    check: str
    zone: str
    tier: str
    dc: str
    endpoint: str  # the URL without credentials
    vantage: str
    status: Status
    reason: Reason | None = None
    message: str = ""
    started_at: float = 0.0  # Unix time
    duration_seconds: float = 0.0
    attempts: int = 1
    facts: dict[str, Any] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """As expected: ok, degraded, an expected-down cold tier, or deliberately skipped."""
        return self.status is not Status.failed


class Location(TypedDict):
    """What a probe checks and where: the labels a plan entry, its target and its result share."""

    service: str
    check: str
    zone: str
    tier: str
    dc: str


class Located(Protocol):
    @property
    def service(self) -> str: ...
    @property
    def check(self) -> str: ...
    @property
    def zone(self) -> str: ...
    @property
    def tier(self) -> str: ...
    @property
    def dc(self) -> str: ...


def location(of: Located) -> Location:
    return Location(service=of.service, check=of.check, zone=of.zone, tier=of.tier, dc=of.dc)


def result_for(target: Target, vantage: str, status: Status, **rest: Any) -> Result:
    """A result labelled with what was probed and from where; `rest` are the verdict and observations."""
    return Result(
        **location(target),
        endpoint=public_url(target.endpoint.url),
        vantage=vantage,
        status=status,
        **rest,
    )

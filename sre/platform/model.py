"""The platform model: pydantic classes for platform.yaml.

Shape checks live here (types, enums, ranges); cross-references between
sections live in `checks.py`, so every message can carry a field path.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    field_validator,
    model_validator,
)

from sre.strict import Strict
from sre.urls import shown_url

Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]

# The protocol a probe speaks to reach the service.
Kind = Literal[
    "http",
    "https",
    "grpc",
    "tcp",
    "tls",
    "dns",
    "postgres",
    "mongodb",
    "clickhouse",
    "redis",
    "s3",
    "vault",
    "kafka",
    "nats",
    "mlflow",
    "elasticsearch",
    "kubernetes",
    "delta_lake",
]
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]

# The URL schemes the check of each kind speaks: an endpoint with another scheme is a mistake in
# the model, found when it is loaded rather than as a failed probe.
HTTP_SCHEMES = ("http", "https")
SCHEMES: dict[str, tuple[str, ...]] = {
    "http": HTTP_SCHEMES,
    "https": HTTP_SCHEMES,
    "grpc": ("grpc", "grpcs", *HTTP_SCHEMES),
    "tcp": ("tcp",),
    "tls": ("tls", "tcp", "https"),
    "dns": ("dns", "udp", "tcp"),
    "postgres": ("postgres", "postgresql"),
    "mongodb": ("mongodb", "mongodb+srv"),
    "clickhouse": HTTP_SCHEMES,
    "redis": ("redis", "rediss"),
    "s3": HTTP_SCHEMES,
    "vault": HTTP_SCHEMES,
    "kafka": ("kafka", "kafka+ssl"),
    "nats": ("nats", "tls"),
    "mlflow": HTTP_SCHEMES,
    "elasticsearch": HTTP_SCHEMES,
    "kubernetes": HTTP_SCHEMES,
    "delta_lake": ("s3", "s3a", "gs", "abfss", "file"),
}

Role = Literal["primary", "replica", "cold"]
Standby = Literal["active", "hot", "cold"]

EVERY_SERVICE = "*"
MAX_URL_LENGTH = 2048


class PlatformMeta(Strict):
    name: str
    description: str = ""


class TlsPolicy(Strict):
    min_version: Literal["1.2", "1.3"] = "1.3"


class PiiPolicy(Strict):
    encryption_at_rest: Literal["AES-256"] = "AES-256"
    # The longest time logs of a service that handles PII may be kept (elk retention classes obey it).
    log_retention_days: Annotated[int, Field(ge=1, le=3650)] | None = None


# Patroni's maximum_lag_on_failover: a replica further behind than this is not promoted.
DEFAULT_MAX_LAG_BYTES = 1 << 20


class ReplicationPolicy(Strict):
    # The byte bound of every replica tier that sets no max_lag_bytes of its own.
    max_lag_bytes: Annotated[int, Field(gt=0)] = DEFAULT_MAX_LAG_BYTES


class Policies(Strict):
    tls: TlsPolicy = TlsPolicy()
    pii: PiiPolicy = PiiPolicy()
    replication: ReplicationPolicy = ReplicationPolicy()


class Tier(Strict):
    dc: Id
    standby: Standby
    provider: Annotated[str, StringConstraints(min_length=1)]
    region: Annotated[str, StringConstraints(min_length=1)]


class Zone(Strict):
    name: str


class Team(Strict):
    name: str
    contact: str | None = None


class Latency(Strict):
    threshold_ms: Annotated[int, Field(gt=0)]
    percentile: Annotated[float, Field(ge=50, lt=100)] = 99


_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?")
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,\s*|$)')
Matcher = tuple[str, str, str]  # label, operator (= != =~ !~), value


def parse_selector(text: str) -> tuple[str, tuple[Matcher, ...]]:
    """`metric{label="v", other=~"re"}` -> (metric, matchers); ValueError naming what is wrong."""
    found = _SELECTOR.fullmatch(text.strip())
    if found is None:
        raise ValueError(f'expected a series selector such as name{{label="value"}}; got {text!r}')
    name, body = found[1], (found[2] or "").strip()
    matchers: list[Matcher] = []
    at = 0
    while at < len(body):
        m = _MATCHER.match(body, at)
        if m is None:
            raise ValueError(f"{text!r}: cannot read the matcher at {body[at:]!r}")
        matchers.append((m[1], m[2], m[3]))
        at = m.end()
    for label, _, _ in matchers:
        if label in ("service", "tier"):
            raise ValueError(f"{text!r}: leave out {label}=; the rules select each service and tier")
    return name, tuple(matchers)


class RequestSli(Strict):
    """An availability SLI from the service's own request counters: the share of `errors` in
    `total`, both series selectors of counters (the rules add service and tier)."""

    total: str
    errors: str

    @field_validator("total", "errors")
    @classmethod
    def _selector(cls, value: str) -> str:
        parse_selector(value)
        return value.strip()


class Slo(Strict):
    availability: Annotated[float, Field(gt=0, lt=100)]
    latency: Latency | None = None
    window_days: Annotated[int, Field(ge=1, le=366)] = 30
    # The availability SLO measured by the service's own metrics too, beside the probes.
    requests: RequestSli | None = None


class ServiceTier(Strict):
    role: Role
    max_lag_seconds: Annotated[float, Field(gt=0)] | None = None
    max_lag_bytes: Annotated[int, Field(gt=0)] | None = None  # default: policies.replication
    max_backup_age_hours: Annotated[float, Field(gt=0)] | None = None


class Service(Strict):
    name: str
    zone: Id
    kind: Kind
    owner: Id
    stateful: bool
    user_facing: bool = False
    pii: list[Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]*(\.[a-z0-9_]+)*$")]] = []
    encryption_at_rest: Literal["AES-256"] | None = None
    slo: Slo | None = None
    tiers: dict[Id, ServiceTier] = {}


class External(Strict):
    name: str


class Edge(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    source: Id = Field(alias="from")
    target: Annotated[str, StringConstraints(pattern=r"^(\*|[a-z][a-z0-9_]{0,62})$")] = Field(alias="to")
    label: str | None = None
    both: bool = False


class SecretSource(Strict):
    """A secret by reference: the name of an environment variable, or a file. Never the value."""

    env: str | None = None
    file: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretSource:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of env (a variable name) or file (a path)")
        return self


def _endpoint_shorthand(value: Any) -> Any:
    # `primary: https://host` is the common case; a mapping adds TLS and protocol details.
    return {"url": value} if isinstance(value, str) else value


class Endpoint(Strict):
    url: str
    ca_file: str | None = None
    server_name: str | None = None
    params: dict[str, str] = {}
    secrets: dict[Id, SecretSource] = {}  # e.g. password: {file: /run/secrets/pg}
    # Checks this endpoint cannot answer in its environment, and why (no Kubernetes API in the sandbox).
    unavailable: dict[Id, str] = {}

    @field_validator("url")
    @classmethod
    def _has_scheme(cls, value: str) -> str:
        shown = shown_url(value)
        if len(value) > MAX_URL_LENGTH:
            raise ValueError(f"the URL is longer than {MAX_URL_LENGTH} characters: {shown!r}")
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises on a port that is not a number from 0 to 65535
        except ValueError as exc:
            raise ValueError(f"not a usable URL ({exc}); got {shown!r}") from None
        if not parts.scheme or not (parts.netloc or parts.path):
            raise ValueError(f"expected a URL with a scheme, such as https://host:port; got {shown!r}")
        return value


EndpointSpec = Annotated[Endpoint, BeforeValidator(_endpoint_shorthand)]


class EnvironmentBody(Strict):
    """What an environment file holds (and what an inline environment adds to `file`)."""

    description: str = ""
    ca_file: str | None = None
    endpoints: dict[Id, dict[Id, EndpointSpec]] = {}
    # Services this environment cannot run, and why (the sandbox has no Vault server, say).
    unavailable: dict[Id, str] = {}
    # Where this environment's control plane (`sre serve`, `sre runbook`, their store) runs, when not in
    # the model's `control_plane.tier`: DR runbooks refuse to leave the tier it runs in.
    control_plane_tier: Id | None = None


class Environment(EnvironmentBody):
    file: str | None = None


class ControlPlane(Strict):
    """Where `sre serve`, its store and the Alertmanager feeding it run: not a tier a runbook may leave."""

    tier: Id
    description: str = ""
    # How often `sre serve` runs `sre probe --all` for its status page (seconds).
    probe_interval_seconds: Annotated[float, Field(ge=1, le=86400)] = 60.0


class SandboxSpec(Strict):
    """How `sre sandbox` stands in for services. By default a service gets the component for its kind
    (postgres -> PostgreSQL, redis -> Redis, ...); this section decides where the kind does not."""

    # component -> the services it stands for (https services: the gateway, the CDN or the collector).
    components: dict[Id, list[Id]] = {}
    # service -> why the sandbox does not run it (a kind the sandbox could serve, deliberately not).
    skip: dict[Id, str] = {}


class Platform(Strict):
    version: Literal[1]
    platform: PlatformMeta
    policies: Policies = Policies()
    tiers: dict[Id, Tier]
    zones: dict[Id, Zone]
    teams: dict[Id, Team] = {}
    services: dict[Id, Service]
    externals: dict[Id, External] = {}
    edges: list[Edge] = []
    environments: dict[Id, Environment]
    control_plane: ControlPlane | None = None
    sandbox: SandboxSpec = SandboxSpec()

    _source: Path = PrivateAttr(default=Path("platform.yaml"))

    @property
    def source(self) -> Path:
        """The file this model was loaded from; relative paths in it are relative to its folder."""
        return self._source

    def services_in_zone(self, zone: str) -> dict[str, Service]:
        return {sid: s for sid, s in self.services.items() if s.zone == zone}

    def role(self, service: str, tier: str) -> Role | None:
        entry = self.services[service].tiers.get(tier)
        return entry.role if entry else None

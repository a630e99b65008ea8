"""Probe definitions as code: every YAML file in probes/, validated at load.

A file may hold any of these sections; together they say how each service is
probed (a key defined in two files is an error naming both):

    version: 1
    policy:   {cert_warn: 14d}                  # run-wide judging settings
    kinds:    {https: {timeout: 5s, settings: {path: /healthz}, conditions: [...]}}
    services: {cdn: {settings: {path: /}, conditions: ['body contains "<div id=\\"app\\">"'],
                     extra_checks: [{check: grpc, endpoint_param: grpc}]}}
    exporter: {allow: ["127.0.0.1:*"]}          # what `sre probe serve` accepts beyond the model

Mistakes read `file:line: field.path: message` and exit 2, like every definition file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
)

from sre.platform.model import Id, Platform, SecretSource
from sre.probes.checks import REGISTRY
from sre.probes.conditions import Condition, parse_duration
from sre.probes.settings import SETTINGS
from sre.safefile import short_repr
from sre.strict import Strict as _Strict
from sre.yamlfile import Document, PathKey, Problem, pydantic_problems, read_document, validate

DEFAULT_TIMEOUT = 10.0
DEFAULT_DIR = "probes"


def _duration(value: Any) -> Any:
    # `5s`, `300ms`, `14d`; a bare number is seconds.
    return parse_duration(value) if isinstance(value, str) else value


def _condition(value: Any) -> Condition:
    if isinstance(value, Condition):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a condition such as `status == 200`; got {short_repr(value)}")
    return Condition.parse(value)


Duration = Annotated[float, BeforeValidator(_duration), Field(ge=0)]
ConditionItem = Annotated[Condition, PlainValidator(_condition)]


class Strict(_Strict):
    model_config = ConfigDict(arbitrary_types_allowed=True)


class ProbeSpec(Strict):
    """What may be said of a probe at any level: kind defaults, a service, an extra check."""

    timeout: Annotated[Duration, Field(gt=0)] | None = None
    failure_threshold: Annotated[int, Field(ge=1, le=10)] | None = None
    success_threshold: Annotated[int, Field(ge=1, le=10)] | None = None
    retry_delay: Duration | None = None
    settings: dict[str, Any] = {}
    conditions: list[ConditionItem] = []
    secrets: dict[Id, SecretSource] = {}


class ExtraCheck(ProbeSpec):
    check: str
    # Probe the address in the endpoint's params[NAME] (k8s_workers: params.grpc) instead of its URL.
    endpoint_param: str | None = None
    scheme: str | None = None  # put before a bare host:port from params, e.g. grpcs


class ServiceSpec(ProbeSpec):
    check: str | None = None  # default: the service's kind
    extra_checks: list[ExtraCheck] = []


class Policy(Strict):
    cert_warn: Duration = 14 * 86400.0


def _allow_pattern(value: Any) -> Any:
    from sre.probes.targets import AllowPattern

    if isinstance(value, str):
        AllowPattern.parse(value)  # a ValueError names the pattern
    return value


class ExporterSpec(Strict):
    # [scheme://]host[:port] patterns `sre probe serve` may probe besides the model's endpoints.
    allow: list[Annotated[str, AfterValidator(_allow_pattern)]] = []


class ProbeFile(Strict):
    version: Literal[1]
    policy: Policy | None = None
    kinds: dict[str, ProbeSpec] = {}
    services: dict[Id, ServiceSpec] = {}
    exporter: ExporterSpec | None = None


@dataclass(frozen=True)
class Resolved:
    """The merged definition of one probe: kind defaults, then the service, then the extra check."""

    check: str
    timeout: float
    failure_threshold: int
    success_threshold: int
    retry_delay: float
    settings: Mapping[str, Any]
    conditions: tuple[Condition, ...]
    secrets: Mapping[str, SecretSource]
    endpoint_param: str | None = None
    scheme: str | None = None


@dataclass
class Definitions:
    policy: Policy = field(default_factory=Policy)
    kinds: dict[str, ProbeSpec] = field(default_factory=dict)
    services: dict[str, ServiceSpec] = field(default_factory=dict)
    exporter: ExporterSpec = field(default_factory=ExporterSpec)
    files: list[Path] = field(default_factory=list)

    @property
    def modules(self) -> list[str]:
        """Module names `sre probe serve` accepts: the kinds defined in probes/."""
        return sorted(self.kinds)

    def for_kind(self, check: str) -> Resolved:
        return _merge(check, self.kinds.get(check), None)

    def for_service(self, service: str, kind: str) -> list[Resolved]:
        """The service's main probe, then its extra checks."""
        spec = self.services.get(service)
        check = (spec.check if spec else None) or kind
        out = [_merge(check, self.kinds.get(check), spec)]
        for extra in spec.extra_checks if spec else []:
            merged = _merge(extra.check, self.kinds.get(extra.check), extra)
            out.append(replace(merged, endpoint_param=extra.endpoint_param, scheme=extra.scheme))
        return out


def _merge(check: str, kind: ProbeSpec | None, over: ProbeSpec | None) -> Resolved:
    layers = [spec for spec in (kind, over) if spec is not None]

    def pick(name: str, default: Any) -> Any:
        for spec in reversed(layers):
            value = getattr(spec, name)
            if value is not None:
                return value
        return default

    settings: dict[str, Any] = {}
    secrets: dict[str, SecretSource] = {}
    conditions: list[Condition] = []
    for spec in layers:
        settings.update(spec.settings)
        secrets.update(spec.secrets)
        conditions += spec.conditions
    return Resolved(
        check=check,
        timeout=pick("timeout", DEFAULT_TIMEOUT),
        failure_threshold=pick("failure_threshold", 1),
        success_threshold=pick("success_threshold", 1),
        retry_delay=pick("retry_delay", 0.0),
        settings=settings,
        conditions=tuple(conditions),
        secrets=secrets,
    )


def definitions_dir(platform_file: Path, option: Path | None) -> Path:
    """--probes DIR, else probes/ beside the platform file."""
    return option if option is not None else platform_file.parent / DEFAULT_DIR


def load_definitions(folder: Path, platform: Platform | None = None) -> Definitions:
    """Read every *.yaml in `folder` (none is fine: built-in defaults), check it, merge it."""
    if not folder.is_dir():
        return Definitions()
    defs = Definitions()
    seen: dict[tuple[str, str], str] = {}
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        doc = read_document(path)
        body = validate(ProbeFile, doc)
        problems = list(_problems(body, doc, platform, seen))
        if problems:
            raise doc.fail(problems)
        body = _absolute_secrets(body, path.parent)
        defs.kinds.update(body.kinds)
        defs.services.update(body.services)
        if body.policy is not None:
            defs.policy = body.policy
        if body.exporter is not None:
            defs.exporter = body.exporter
        defs.files.append(path)
    return defs


def _problems(
    body: ProbeFile, doc: Document, platform: Platform | None, seen: dict[tuple[str, str], str]
) -> Iterator[Problem]:
    keys = [("kinds", k) for k in body.kinds] + [("services", s) for s in body.services]
    keys += [(name, "") for name in ("policy", "exporter") if getattr(body, name) is not None]
    for section, key in keys:
        path: PathKey = (section, key) if key else (section,)
        here = f"{doc.source}:{doc.line(path)}"
        if (section, key) in seen:
            yield Problem(path, f"already defined at {seen[section, key]}")
        seen[section, key] = here
    known = ", ".join(sorted(REGISTRY))
    for kind, spec in body.kinds.items():
        if kind not in REGISTRY:
            yield Problem(("kinds", kind), f"unknown check {kind!r}; expected one of {known}")
            continue
        yield from _settings(kind, spec.settings, ("kinds", kind, "settings"))
    for sid, svc in body.services.items():
        at: PathKey = ("services", sid)
        if platform is not None and sid not in platform.services:
            known_services = ", ".join(sorted(platform.services))
            yield Problem(at, f"unknown service {sid!r}; expected one of {known_services}")
            continue
        check = svc.check or (platform.services[sid].kind if platform is not None else None)
        if svc.check is not None and svc.check not in REGISTRY:
            yield Problem((*at, "check"), f"unknown check {svc.check!r}; expected one of {known}")
        elif check is not None:
            yield from _settings(check, svc.settings, (*at, "settings"))
        for i, extra in enumerate(svc.extra_checks):
            if extra.check not in REGISTRY:
                message = f"unknown check {extra.check!r}; expected one of {known}"
                yield Problem((*at, "extra_checks", i, "check"), message)
            else:
                yield from _settings(extra.check, extra.settings, (*at, "extra_checks", i, "settings"))


def _settings(check: str, settings: dict[str, Any], at: PathKey) -> Iterator[Problem]:
    model = SETTINGS.get(check)
    if model is None:
        return
    try:
        model.model_validate(settings)
    except ValidationError as exc:
        yield from pydantic_problems(exc, at)


def _absolute_secrets(body: ProbeFile, base: Path) -> ProbeFile:
    def fix(secrets: dict[str, SecretSource]) -> dict[str, SecretSource]:
        return {
            name: ref.model_copy(update={"file": str((base / ref.file).resolve())}) if ref.file else ref
            for name, ref in secrets.items()
        }

    kinds = {k: spec.model_copy(update={"secrets": fix(spec.secrets)}) for k, spec in body.kinds.items()}
    services = {
        sid: svc.model_copy(
            update={
                "secrets": fix(svc.secrets),
                "extra_checks": [e.model_copy(update={"secrets": fix(e.secrets)}) for e in svc.extra_checks],
            }
        )
        for sid, svc in body.services.items()
    }
    return body.model_copy(update={"kinds": kinds, "services": services})

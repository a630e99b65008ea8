"""The definitions an SRE edits in elk/: field mappings, retention classes, PII handling, per-service extras.

Files (all optional except elk.yaml, ecs.yaml, retention.yaml and pii.yaml):

    elk/elk.yaml              index template priority, stack components, platform-wide index settings
    elk/ecs.yaml              ECS fields the platform logs, with their types
    elk/retention.yaml        retention classes (ILM hot / warm / cold / delete)
    elk/pii.yaml              what happens to each PII field, and free-text redaction
    elk/services/<id>.yaml    a service's own fields, retention class, PII overrides, extra processors

Every file goes through sre.yamlfile, so a mistake reads `file:line: field.path: message` (exit 2).
Checks that need more than one file, or platform.yaml, are in `_cross_check`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StringConstraints, model_validator

from sre.errors import InputError
from sre.platform.model import Id, Platform
from sre.strict import Strict
from sre.yamlfile import Document, Problem, read_document, validate

# ECS field names in dotted form (`user.email`, `@timestamp`).
FieldName = Annotated[str, StringConstraints(pattern=r"^(@timestamp|[a-z_][a-z0-9_]*(\.[a-z0-9_]+)*)$")]
Duration = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]*[dh]$")]
Size = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]*(mb|gb|tb)$")]
PatternName = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*$")]

FieldType = Literal[
    "keyword",
    "constant_keyword",
    "wildcard",
    "text",
    "match_only_text",
    "long",
    "integer",
    "short",
    "byte",
    "double",
    "float",
    "half_float",
    "scaled_float",
    "unsigned_long",
    "boolean",
    "date",
    "date_nanos",
    "ip",
    "geo_point",
    "flattened",
]
# Types that hold any string, so a masked or hashed value still fits the mapping.
STRING_TYPES = frozenset({"keyword", "constant_keyword", "wildcard", "text", "match_only_text"})

Action = Literal["remove", "mask", "hash"]

# The fields every pipeline stamps; they are mapped with the ECS fields.
STAMPED_FIELDS = ("labels.service", "labels.zone", "labels.tier", "labels.dc")


def _type_shorthand(value: Any) -> Any:
    # `client.ip: ip` is the common case; a mapping adds parameters.
    return {"type": value} if isinstance(value, str) else value


class FieldSpec(Strict):
    type: FieldType
    ignore_above: Annotated[int, Field(ge=1, le=32766)] | None = None
    ignore_malformed: bool | None = None
    index: bool | None = None
    doc_values: bool | None = None
    scaling_factor: Annotated[float, Field(gt=0)] | None = None
    fields: dict[Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]*$")], FieldSpecIn] = {}

    @model_validator(mode="after")
    def _scaling_factor(self) -> FieldSpec:
        if (self.type == "scaled_float") != (self.scaling_factor is not None):
            raise ValueError("scaling_factor is required for scaled_float and only allowed there")
        return self

    def mapping(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        for key in ("ignore_above", "ignore_malformed", "index", "doc_values", "scaling_factor"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.fields:
            out["fields"] = {name: sub.mapping() for name, sub in self.fields.items()}
        return out


FieldSpecIn = Annotated[FieldSpec, BeforeValidator(_type_shorthand)]
FieldSpec.model_rebuild()
FieldMap = dict[FieldName, FieldSpecIn]


IndexMode = Literal["logsdb", "standard", "cluster_default"]


class IndexTemplateOptions(Strict):
    # The stack's `logs` template (logs-*-*) has priority 100: ours must be higher to win. Fleet
    # installs its integration templates at 200, which lint refuses for ours.
    priority: Annotated[int, Field(gt=100, le=100_000)] = 250
    # Component templates the stack installs; ours come after them in composed_of, so ours win.
    stack_components: list[str] = ["logs@mappings", "logs@settings", "ecs@mappings"]
    # index.mode of the data streams: logsdb (synthetic _source, far less disk), standard, or
    # cluster_default (unset: logsdb for new logs-*-* streams on 9.x, standard on clusters
    # upgraded from 8.x, so the same templates give different modes on different clusters).
    index_mode: IndexMode = "logsdb"
    # `version` of every template, as the stack versions its own; bump it with a change that the
    # readers of these data streams should notice (a field's type, the index mode).
    version: Annotated[int, Field(ge=1, le=2_147_483_647)] = 1


class ClusterTemplate(Strict):
    """An index template that exists on the cluster but is not ours (the stack's, Fleet's)."""

    patterns: list[Annotated[str, StringConstraints(min_length=1)]]
    priority: Annotated[int, Field(ge=0)]


class ElkFile(Strict):
    index_template: IndexTemplateOptions = IndexTemplateOptions()
    settings: dict[str, Any] = {}
    field_budget: Annotated[int, Field(ge=1, le=100_000)] = 1000
    cluster_templates: dict[str, ClusterTemplate] = {}


class EcsFile(Strict):
    ecs_version: Annotated[str, StringConstraints(pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$")]
    fields: FieldMap


class HotPhase(Strict):
    max_age: Duration = "1d"
    max_primary_shard_size: Size = "50gb"


class WarmPhase(Strict):
    after: Duration
    forcemerge: bool = True
    replicas: Annotated[int, Field(ge=0, le=10)] | None = None


class ColdPhase(Strict):
    after: Duration
    replicas: Annotated[int, Field(ge=0, le=10)] | None = None


class DeletePhase(Strict):
    after: Duration


def hours(duration: str) -> int:
    return int(duration[:-1]) * (24 if duration.endswith("d") else 1)


class RetentionClass(Strict):
    description: str = ""
    hot: HotPhase = HotPhase()
    warm: WarmPhase | None = None
    cold: ColdPhase | None = None
    delete: DeletePhase

    @model_validator(mode="after")
    def _phases_in_order(self) -> RetentionClass:
        steps = [(name, phase.after) for name, phase in self.phases() if name != "hot" and phase]
        for (first, a), (second, b) in itertools.pairwise(steps):
            if hours(a) >= hours(b):
                raise ValueError(f"{second}.after ({b}) must be later than {first}.after ({a})")
        return self

    def phases(self) -> list[tuple[str, Any]]:
        return [("hot", self.hot), ("warm", self.warm), ("cold", self.cold), ("delete", self.delete)]

    @property
    def delete_days(self) -> float:
        return hours(self.delete.after) / 24

    @property
    def longest_days(self) -> float:
        """The longest a document can live: it waits for rollover (at most hot.max_age, its other
        condition only makes that sooner), and delete.after counts from the rollover."""
        return (hours(self.hot.max_age) + hours(self.delete.after)) / 24


class RetentionFile(Strict):
    classes: dict[Id, RetentionClass]
    default: Id
    pii_default: Id


def _action_shorthand(value: Any) -> Any:
    return {"action": value} if isinstance(value, str) else value


class PiiField(Strict):
    action: Action
    # Patterns of `text.patterns` that find this kind of value quoted in free text.
    text_patterns: list[PatternName] = []


class TextRedaction(Strict):
    """Free-text fields where PII may be quoted; each matching pattern is replaced by <NAME>."""

    fields: list[FieldName] = ["message"]
    patterns: dict[PatternName, Annotated[str, StringConstraints(min_length=1)]] = {}

    @model_validator(mode="after")
    def _patterns_compile(self) -> TextRedaction:
        for name, pattern in self.patterns.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"patterns.{name}: not a regular expression: {exc}") from None
        return self


class PiiFile(Strict):
    default_action: Action = "remove"
    fields: dict[FieldName, Annotated[PiiField, BeforeValidator(_action_shorthand)]] = {}
    text: TextRedaction = TextRedaction()


class ServiceFile(Strict):
    retention: Id | None = None
    fields: FieldMap = {}
    pii: dict[FieldName, Action] = {}
    # Raw ingest processors (Elasticsearch syntax) run before stamping and PII handling.
    processors: list[dict[str, Any]] = []


@dataclass(frozen=True)
class Definitions:
    root: Path
    elk: ElkFile
    ecs: EcsFile
    retention: RetentionFile
    pii: PiiFile
    services: dict[str, ServiceFile] = field(default_factory=dict)

    def service(self, sid: str) -> ServiceFile:
        return self.services.get(sid) or ServiceFile()

    def retention_class(self, platform: Platform, sid: str) -> str:
        chosen = self.service(sid).retention
        if chosen:
            return chosen
        return self.retention.pii_default if platform.services[sid].pii else self.retention.default

    def pii_action(self, sid: str, name: str) -> Action:
        override = self.service(sid).pii.get(name)
        if override:
            return override
        spec = self.pii.fields.get(name)
        return spec.action if spec else self.pii.default_action

    def field_type(self, sid: str, name: str) -> str | None:
        spec = self.service(sid).fields.get(name) or self.ecs.fields.get(name)
        return spec.type if spec else None


def default_root(platform: Platform) -> Path:
    return platform.source.parent / "elk"


def load_definitions(root: Path, platform: Platform) -> Definitions:
    if not root.is_dir():
        raise InputError(
            f"{root}: no elk definitions folder (expected elk.yaml, ecs.yaml, retention.yaml, pii.yaml)"
        )
    docs = {name: read_document(root / f"{name}.yaml") for name in ("elk", "ecs", "retention", "pii")}
    service_docs: dict[str, Document] = {}
    services_dir = root / "services"
    if services_dir.is_dir():
        for path in sorted(services_dir.glob("*.yaml")):
            if path.stem not in platform.services:
                known = ", ".join(sorted(platform.services))
                raise InputError(f"{path}:1: no service {path.stem!r} in {platform.source}; known: {known}")
            service_docs[path.stem] = read_document(path)
    defs = Definitions(
        root=root,
        elk=validate(ElkFile, docs["elk"]),
        ecs=validate(EcsFile, docs["ecs"]),
        retention=validate(RetentionFile, docs["retention"]),
        pii=validate(PiiFile, docs["pii"]),
        services={sid: validate(ServiceFile, doc) for sid, doc in service_docs.items()},
    )
    found: dict[str, list[Problem]] = {}
    for where, problem in _cross_check(defs, platform):
        found.setdefault(where, []).append(problem)
    if found:
        all_docs = {**docs, **{f"services/{sid}": doc for sid, doc in service_docs.items()}}
        raise InputError("\n".join(str(all_docs[where].fail(problems)) for where, problems in found.items()))
    return defs


def _cross_check(defs: Definitions, platform: Platform) -> Iterator[tuple[str, Problem]]:
    yield from _field_tree("ecs", ("fields",), defs.ecs.fields)
    for name in STAMPED_FIELDS:
        spec = defs.ecs.fields.get(name)
        if spec and spec.type != "keyword":
            yield "ecs", Problem(("fields", name), f"stamped by every pipeline as keyword; got {spec.type}")
    yield from _retention(defs, platform)
    yield from _pii(defs, platform)
    for sid, svc in defs.services.items():
        where = f"services/{sid}"
        yield from _field_tree(where, ("fields",), {**defs.ecs.fields, **svc.fields}, only=svc.fields)
        if svc.retention and svc.retention not in defs.retention.classes:
            known = ", ".join(defs.retention.classes)
            yield (
                where,
                Problem(("retention",), f"unknown retention class {svc.retention!r}; defined: {known}"),
            )
        pii = platform.services[sid].pii
        for name in svc.pii:
            if name not in pii:
                yield (
                    where,
                    Problem(("pii", name), f"not a PII field of {sid} in platform.yaml ({pii or 'none'})"),
                )
        for i, proc in enumerate(svc.processors):
            if len(proc) != 1:
                yield where, Problem(("processors", i), "a processor is a mapping with one key, its type")


def _field_tree(
    where: str, at: tuple[str, ...], fields: dict[str, FieldSpec], only: dict[str, FieldSpec] | None = None
) -> Iterator[tuple[str, Problem]]:
    """A dotted name cannot be both a leaf and the parent of another field (`a.b` and `a.b.c`)."""
    names = set(fields)
    for name in sorted(only if only is not None else fields):
        parts = name.split(".")
        for cut in range(1, len(parts)):
            parent = ".".join(parts[:cut])
            if parent in names:
                yield where, Problem((*at, name), f"its parent {parent} is a {fields[parent].type} field")


def _retention(defs: Definitions, platform: Platform) -> Iterator[tuple[str, Problem]]:
    classes = defs.retention.classes
    for key in ("default", "pii_default"):
        name = getattr(defs.retention, key)
        if name not in classes:
            yield (
                "retention",
                Problem((key,), f"unknown retention class {name!r}; defined: {', '.join(classes)}"),
            )
    limit = platform.policies.pii.log_retention_days
    if limit is None:
        return
    for sid, svc in platform.services.items():
        if not svc.pii:
            continue
        name = defs.retention_class(platform, sid)
        chosen = classes.get(name)
        if chosen is None or chosen.longest_days <= limit:
            continue
        # delete.after counts from rollover, and a document may wait up to hot.max_age for that.
        message = (
            f"class {name!r} keeps a document up to {chosen.longest_days:g}d (rollover after at most "
            f"hot.max_age {chosen.hot.max_age}, then delete.after {chosen.delete.after}), longer than the "
            f"platform's PII limit of {limit}d (policies.pii.log_retention_days), and {sid} holds PII "
            f"({', '.join(svc.pii)})"
        )
        if defs.service(sid).retention:
            yield f"services/{sid}", Problem(("retention",), message)
        else:
            yield "retention", Problem(("pii_default",), message)


def _pii(defs: Definitions, platform: Platform) -> Iterator[tuple[str, Problem]]:
    for name, spec in defs.pii.fields.items():
        for i, pattern in enumerate(spec.text_patterns):
            if pattern not in defs.pii.text.patterns:
                known = ", ".join(defs.pii.text.patterns) or "none"
                yield (
                    "pii",
                    Problem(
                        ("fields", name, "text_patterns", i), f"unknown pattern {pattern}; defined: {known}"
                    ),
                )
    for sid, svc in platform.services.items():
        for name in svc.pii:
            action = defs.pii_action(sid, name)
            kind = defs.field_type(sid, name)
            if action == "remove" or kind is None or kind in STRING_TYPES:
                continue
            # A masked or hashed value is a string; in an ip or numeric field it would be malformed.
            message = f"{action} writes a string, but {name} is mapped as {kind}; use remove"
            if name in defs.service(sid).pii:
                yield f"services/{sid}", Problem(("pii", name), message)
            elif name in defs.pii.fields:
                yield "pii", Problem(("fields", name, "action"), message)
            else:
                yield "pii", Problem(("default_action",), f"{message} (service {sid})")

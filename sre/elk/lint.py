"""Checks on the built bodies that Elasticsearch's schemas cannot make: they look across objects.

- a field mapped with different types in two services' composed templates (Kibana: "mapping
  conflict" on logs-*), or changed by a later component of the same template;
- index patterns that overlap another template's at the same priority (Elasticsearch rejects the
  second), or at a higher one (ours would never apply);
- names of ILM policies, pipelines or component templates that nothing defines;
- more fields per template than the field budget;
- a PII field of platform.yaml that no processor of the service's pipeline removes, masks or hashes;
- the stack's conventions (sre.elk.conventions): Fleet's priority, logsdb's constraints, the
  mappings ecs@mappings and logs@mappings would give, custom fields outside ECS field sets.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from sre.elk import conventions, names
from sre.elk.build import Bundle
from sre.elk.definitions import Definitions
from sre.elk.meta import Body
from sre.elk.normalize import flat_settings
from sre.platform.model import Platform

# Types a search across indices treats as one (Kibana data views show them as one type).
FAMILIES = {
    "constant_keyword": "keyword",
    "wildcard": "keyword",
    "match_only_text": "text",
    "long": "number",
    "integer": "number",
    "short": "number",
    "byte": "number",
    "double": "number",
    "float": "number",
    "half_float": "number",
    "scaled_float": "number",
    "unsigned_long": "number",
    "date_nanos": "date",
    "nested": "object",
}
PIPELINE_SETTINGS = ("index.default_pipeline", "index.final_pipeline")
# What `sre elk lint` says it checked. The request schemas are not among them: the project's tests
# check the build output against Elastic's, and the product runs no code from outside its package.
CHECKED = (
    "field type conflicts, index pattern overlaps, references to ILM policies, pipelines and "
    "component templates, the field budget, PII coverage"
)


@dataclass(frozen=True, order=True)
class Finding:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def lint(bundle: Bundle, platform: Platform, defs: Definitions) -> list[Finding]:
    found = [
        *field_conflicts(bundle),
        *pattern_overlaps(bundle, defs),
        *references(bundle, defs),
        *field_budget(bundle, defs),
        *pii_coverage(bundle, platform),
        *(Finding(where, message) for where, message in conventions.check(bundle, platform, defs)),
    ]
    return sorted(set(found))


# --- composing templates ---------------------------------------------------------------------------


def flatten_mappings(properties: Any, prefix: str = "") -> dict[str, str]:
    """Nested `properties` to {dotted path: type}; objects are "object", multi-fields are paths too."""
    out: dict[str, str] = {}
    if not isinstance(properties, dict):
        return out
    for name, spec in properties.items():
        if not isinstance(spec, dict):
            continue
        path = f"{prefix}{name}"
        out[path] = str(spec.get("type", "object"))
        out.update(flatten_mappings(spec.get("properties"), f"{path}."))
        for sub, sub_spec in (spec.get("fields") or {}).items():
            if isinstance(sub_spec, dict):
                out[f"{path}.{sub}"] = str(sub_spec.get("type", "object"))
    return out


def _template_parts(bundle: Bundle, body: Body) -> Iterator[tuple[str, Body]]:
    """The parts of an index template we can see, in merge order: our components, then its own block."""
    for component in body.get("composed_of", []):
        found = bundle.get("component_templates", component)
        if found is not None:
            yield component, found.get("template", {})
    yield "(the index template itself)", body.get("template", {})


def composed_fields(bundle: Bundle, body: Body) -> list[tuple[str, str, str]]:
    """(path, type, part) for every mapping of every visible part, in merge order."""
    rows = []
    for part, template in _template_parts(bundle, body):
        for path, kind in flatten_mappings((template.get("mappings") or {}).get("properties")).items():
            rows.append((path, kind, part))
    return rows


def composed_settings(bundle: Bundle, body: Body) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for _, template in _template_parts(bundle, body):
        merged.update(flat_settings(template.get("settings")))
    return merged


def family(kind: str) -> str:
    return FAMILIES.get(kind, kind)


# --- checks ----------------------------------------------------------------------------------------


def field_conflicts(bundle: Bundle) -> Iterator[Finding]:
    seen: dict[str, dict[str, set[str]]] = {}
    for name, body in bundle.objects["index_templates"].items():
        where = f"index_templates/{name}"
        final: dict[str, tuple[str, str]] = {}
        for path, kind, part in composed_fields(bundle, body):
            before = final.get(path)
            if before and family(before[0]) != family(kind):
                yield Finding(
                    where,
                    f"field {path} is {before[0]} in {before[1]} but {kind} in {part} (the later one wins)",
                )
            final[path] = (kind, part)
        for path, (kind, _) in final.items():
            seen.setdefault(path, {}).setdefault(family(kind), set()).add(name)
    for path, by_family in sorted(seen.items()):
        if len(by_family) > 1:
            parts = "; ".join(
                f"{fam} in {', '.join(sorted(tpls))}" for fam, tpls in sorted(by_family.items())
            )
            yield Finding(
                "index_templates",
                f"field {path} has conflicting types across templates: {parts} "
                "(a search over logs-* sees a mapping conflict)",
            )


@cache
def patterns_overlap(a: str, b: str) -> bool:
    """True when some index name matches both wildcard patterns (`*` is the only wildcard)."""

    @cache
    def go(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] == "*":
            return go(i + 1, j) or (j < len(b) and go(i, j + 1))
        if j < len(b) and b[j] == "*":
            return go(i, j + 1) or (i < len(a) and go(i + 1, j))
        return i < len(a) and j < len(b) and a[i] == b[j] and go(i + 1, j + 1)

    return go(0, 0)


def overlap(a: list[str], b: list[str]) -> tuple[str, str] | None:
    """The first pair of patterns, one of each list, that some index name matches both."""
    return next(((p, q) for p in a for q in b if patterns_overlap(p, q)), None)


def pattern_overlaps(bundle: Bundle, defs: Definitions) -> Iterator[Finding]:
    ours = [
        (name, list(body.get("index_patterns", [])), int(body.get("priority", 0)))
        for name, body in sorted(bundle.objects["index_templates"].items())
    ]
    theirs = [(name, t.patterns, t.priority) for name, t in sorted(defs.elk.cluster_templates.items())]
    for i, (name, patterns, priority) in enumerate(ours):
        for other, other_patterns, other_priority in ours[i + 1 :] + theirs:
            hit = overlap(patterns, other_patterns)
            if hit is None:
                continue
            if priority == other_priority:
                yield Finding(
                    f"index_templates/{name}",
                    f"pattern {hit[0]} overlaps {hit[1]} of template {other} at the same priority "
                    f"{priority}; Elasticsearch rejects the second of them",
                )
            elif priority < other_priority and other in defs.elk.cluster_templates:
                yield Finding(
                    f"index_templates/{name}",
                    f"pattern {hit[0]} overlaps {hit[1]} of template {other}, whose priority "
                    f"{other_priority} is higher than {priority}: {other} would apply instead",
                )


def references(bundle: Bundle, defs: Definitions) -> Iterator[Finding]:
    components = set(bundle.objects["component_templates"]) | set(defs.elk.index_template.stack_components)
    for name, body in sorted(bundle.objects["index_templates"].items()):
        optional = set(body.get("ignore_missing_component_templates", []))
        for component in body.get("composed_of", []):
            if component not in components and component not in optional:
                yield Finding(
                    f"index_templates/{name}",
                    f"composed_of names component template {component}, which is neither built here nor a "
                    "stack component (elk.yaml index_template.stack_components)",
                )
    for kind in ("component_templates", "index_templates"):
        for name, body in sorted(bundle.objects[kind].items()):
            settings = flat_settings((body.get("template") or {}).get("settings"))
            policy = settings.get("index.lifecycle.name")
            if policy is not None and policy not in bundle.objects["ilm"]:
                yield Finding(
                    f"{kind}/{name}", f"index.lifecycle.name names ILM policy {policy}, which is not built"
                )
            for key in PIPELINE_SETTINGS:
                target = settings.get(key)
                if target is not None and target not in bundle.objects["pipelines"]:
                    yield Finding(f"{kind}/{name}", f"{key} names pipeline {target}, which is not built")
    for name, body in sorted(bundle.objects["pipelines"].items()):
        for proc in [*body.get("processors", []), *body.get("on_failure", [])]:
            call = proc.get("pipeline") if isinstance(proc, dict) else None
            if isinstance(call, dict) and not call.get("ignore_missing_pipeline"):
                target = call.get("name")
                if target not in bundle.objects["pipelines"]:
                    yield Finding(
                        f"pipelines/{name}", f"a pipeline processor calls {target}, which is not built"
                    )


def field_budget(bundle: Bundle, defs: Definitions) -> Iterator[Finding]:
    budget = defs.elk.field_budget
    for name, body in sorted(bundle.objects["index_templates"].items()):
        count = len({path for path, _, _ in composed_fields(bundle, body)})
        if count > budget:
            yield Finding(
                f"index_templates/{name}",
                f"our components map {count} fields, over the budget of {budget} (elk.yaml field_budget)",
            )
        limit = composed_settings(bundle, body).get("index.mapping.total_fields.limit")
        if limit is not None and str(limit).isdigit() and budget > int(limit):
            yield Finding(
                f"index_templates/{name}",
                f"field_budget {budget} is above index.mapping.total_fields.limit {limit}",
            )


def _covers(proc: Body, field: str) -> bool:
    """Does this processor always take the value of `field` out of the document?"""
    ((kind, spec),) = proc.items()
    if not isinstance(spec, dict):
        return False
    condition = spec.get("if")
    if condition is not None:
        source = condition.get("source") if isinstance(condition, dict) else condition
        # A mask that runs when the field is present covers it; any other condition may skip it.
        if not (kind == "set" and source == names.presence_guard(field)):
            return False
    if kind == "remove":
        targets = spec.get("field")
        return field in (targets if isinstance(targets, list) else [targets])
    if kind == "set":
        value = spec.get("value")
        return (
            spec.get("field") == field
            and "copy_from" not in spec
            and not (isinstance(value, str) and "{{" in value)
        )
    if kind == "fingerprint":
        return field in (spec.get("fields") or []) and spec.get("target_field") == field
    return False


def _moves(proc: Body, field: str) -> bool:
    ((kind, spec),) = proc.items()
    if not isinstance(spec, dict):
        return False
    return (kind == "rename" and spec.get("field") == field) or (
        kind == "set" and spec.get("copy_from") == field
    )


def pii_coverage(bundle: Bundle, platform: Platform) -> Iterator[Finding]:
    for sid, svc in platform.services.items():
        if not svc.pii:
            continue
        template_name = names.index_template(sid)
        template = bundle.get("index_templates", template_name)
        if template is None:
            yield Finding(f"index_templates/{template_name}", f"missing, so nothing handles the PII of {sid}")
            continue
        settings = composed_settings(bundle, template)
        pipeline_name = settings.get("index.final_pipeline") or settings.get("index.default_pipeline")
        pipeline = bundle.get("pipelines", str(pipeline_name)) if pipeline_name else None
        if pipeline is None:
            yield Finding(f"index_templates/{template_name}", f"no ingest pipeline handles the PII of {sid}")
            continue
        procs = [p for p in pipeline.get("processors", []) if isinstance(p, dict) and len(p) == 1]
        for field in svc.pii:
            covered_at = next((i for i, p in enumerate(procs) if _covers(p, field)), None)
            if covered_at is None:
                yield Finding(
                    f"pipelines/{pipeline_name}",
                    f"PII field {field} of {sid} is not removed, masked or hashed unconditionally",
                )
                continue
            moved = next((i for i, p in enumerate(procs[:covered_at]) if _moves(p, field)), None)
            if moved is not None:
                yield Finding(
                    f"pipelines/{pipeline_name}",
                    f"processor {moved} copies PII field {field} of {sid} elsewhere before it is handled",
                )

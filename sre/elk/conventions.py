"""What the Elastic stack's own templates do, checked on ours: logsdb's constraints, the mappings of
the stack's ecs@mappings and logs@mappings, Fleet's priorities, and custom fields kept out of ECS.

Our components map fields explicitly, and an explicit mapping replaces the stack's dynamic
templates for that field; so where the stack adds something (a `.text` sub-field on `*.name`,
`ignore_above: 1024` on strings, `ignore_malformed: false` on `@timestamp`), ours must too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sre.elk.build import Bundle
from sre.elk.definitions import Definitions
from sre.elk.meta import Body
from sre.elk.normalize import flat_settings
from sre.platform.model import Platform

# Fleet installs every integration's index template (logs-<dataset>) at this priority.
FLEET_PRIORITY = 200
# Top-level field sets of ECS 9 (base fields such as @timestamp, message and tags are top-level
# names of their own; `labels` is ECS's place for custom keywords, so not listed).
ECS_FIELD_SETS = frozenset(
    {
        "agent", "as", "client", "cloud", "container", "data_stream", "destination", "device", "dll",
        "dns", "ecs", "email", "entity", "error", "event", "faas", "file", "gen_ai", "group", "host",
        "http", "log", "network", "observer", "orchestrator", "organization", "package", "process",
        "registry", "related", "rule", "server", "service", "source", "span", "threat", "tls", "trace",
        "transaction", "url", "user", "user_agent", "volume", "vulnerability",
    }
)  # fmt: skip
# ecs@mappings gives these a `.text` match_only_text sub-field.
TEXT_SUBFIELD_SUFFIXES = (".name", ".full_name")
# logsdb sorts every index by these (host.name, then @timestamp): they need doc values.
LOGSDB_SORT = {"host.name": ("keyword",), "@timestamp": ("date", "date_nanos")}


def _leaves(properties: Any, prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if not isinstance(properties, dict):
        return
    for name, spec in properties.items():
        if isinstance(spec, dict):
            path = f"{prefix}{name}"
            if "type" in spec:
                yield path, spec
            yield from _leaves(spec.get("properties"), f"{path}.")


def _our_fields(bundle: Bundle) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(component, dotted path, mapping) of every field our component templates map."""
    for name, body in sorted(bundle.objects["component_templates"].items()):
        mappings = (body.get("template") or {}).get("mappings") or {}
        for path, spec in _leaves(mappings.get("properties")):
            yield name, path, spec


def check(bundle: Bundle, platform: Platform, defs: Definitions) -> Iterator[tuple[str, str]]:
    yield from fleet_priority(bundle)
    yield from stack_mappings(bundle)
    if defs.elk.index_template.index_mode != "standard":
        yield from logsdb(bundle, defs)
    yield from custom_fields(platform, defs)


def fleet_priority(bundle: Bundle) -> Iterator[tuple[str, str]]:
    for name, body in sorted(bundle.objects["index_templates"].items()):
        if body.get("priority") == FLEET_PRIORITY:
            yield (
                f"index_templates/{name}",
                f"priority {FLEET_PRIORITY} is the one Fleet gives its integration templates "
                "(logs-<dataset>): a Fleet dataset of a service's name would overlap at the same "
                "priority, which Elasticsearch refuses; choose another elk.yaml index_template.priority",
            )


def stack_mappings(bundle: Bundle) -> Iterator[tuple[str, str]]:
    for component, path, spec in _our_fields(bundle):
        where = f"component_templates/{component}"
        kind = spec.get("type")
        if path == "@timestamp":
            if kind not in ("date", "date_nanos") or spec.get("ignore_malformed") is not False:
                yield (
                    where,
                    "@timestamp must be mapped as the stack's logs@mappings maps it: "
                    "{type: date, ignore_malformed: false} (logs@settings makes every other field "
                    "ignore_malformed, and a document without its timestamp is lost to a data stream)",
                )
            continue
        if kind == "keyword" and "ignore_above" not in spec and spec.get("index") is not False:
            yield (
                where,
                f"{path}: keyword without ignore_above; ecs@mappings gives strings ignore_above: 1024, so "
                "a very long value is kept in _source instead of failing the document",
            )
        if kind == "keyword" and path.endswith(TEXT_SUBFIELD_SUFFIXES):
            text = (spec.get("fields") or {}).get("text") or {}
            if text.get("type") != "match_only_text":
                yield (
                    where,
                    f"{path}: no .text sub-field (match_only_text), which ecs@mappings adds to *.name and "
                    "*.full_name; full-text search on it needs one",
                )


def logsdb(bundle: Bundle, defs: Definitions) -> Iterator[tuple[str, str]]:
    """What logsdb constrains: synthetic _source, and the sort on host.name and @timestamp."""
    mode = defs.elk.index_template.index_mode
    why = "logsdb" if mode == "logsdb" else "logsdb (the index mode a 9.x cluster gives new logs streams)"
    for component, path, spec in _our_fields(bundle):
        allowed = LOGSDB_SORT.get(path)
        if allowed is None:
            continue
        if spec.get("type") not in allowed or spec.get("doc_values") is False:
            yield (
                f"component_templates/{component}",
                f"{path}: {why} sorts every index by host.name and @timestamp, so it must be "
                f"{' or '.join(allowed)} with doc values; got {spec.get('type')}"
                + (" without doc values" if spec.get("doc_values") is False else ""),
            )
    for kind in ("component_templates", "index_templates"):
        for name, body in sorted(bundle.objects[kind].items()):
            template: Body = body.get("template") or {}
            source = (template.get("mappings") or {}).get("_source") or {}
            settings = flat_settings(template.get("settings"))
            mode_setting = settings.get("index.mapping.source.mode")
            if (
                source.get("enabled") is False
                or source.get("mode") == "disabled"
                or mode_setting == "disabled"
            ):
                yield f"{kind}/{name}", f"{why} needs _source (synthetic); this disables it"
            if mode == "logsdb" and mode_setting not in (None, "synthetic"):
                yield (
                    f"{kind}/{name}",
                    f"index.mapping.source.mode {mode_setting} under logsdb stores _source in full: "
                    "the disk logsdb saves is lost; use index_mode standard instead",
                )
            for key in ("index.sort.field", "index.sort.order"):
                if key in settings:
                    yield f"{kind}/{name}", f"{key}: {why} sets the index sort itself (host.name, @timestamp)"


def custom_fields(platform: Platform, defs: Definitions) -> Iterator[tuple[str, str]]:
    """A field ECS does not define belongs outside ECS's field sets (a namespace of its own), or a
    later ECS version may define the name with another type or meaning."""
    known = set(defs.ecs.fields)
    for sid, svc in sorted(platform.services.items()):
        own = [("elk service file", name) for name in defs.service(sid).fields]
        for origin, name in [*own, *(("PII field in platform.yaml", name) for name in svc.pii)]:
            top = name.split(".", 1)[0]
            if top in ECS_FIELD_SETS and name not in known:
                yield (
                    f"services/{sid}",
                    f"{name} ({origin}) is not an ECS field (elk/ecs.yaml) but sits in the ECS field set "
                    f"`{top}`: give custom fields a namespace of their own (e.g. acme.{name})",
                )

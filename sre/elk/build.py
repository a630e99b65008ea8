"""Generate the request bodies: pure functions of platform.yaml and elk/, byte-identical per input.

Per retention class an ILM policy; per service an ingest pipeline, a component template with its
own fields and an index template for its data streams; once the ECS and settings components.
A service added to platform.yaml gets all of these with no change here.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sre.elk import names
from sre.elk.definitions import STAMPED_FIELDS, Definitions, FieldSpec, RetentionClass
from sre.elk.meta import Body, pretty, stamp
from sre.elk.names import KINDS, Kind
from sre.gcpause import cyclic_gc_paused
from sre.outdir import OutputFolder
from sre.platform.model import Platform

MARKER = ".sre-elk"  # marks an output folder as written by `sre elk build`, with the files it wrote
MASK = "[REDACTED]"
PII_FAILED_TAG = "pii_redaction_failed"


@dataclass
class Bundle:
    """Every generated object by kind, then name. Iteration follows the publish order."""

    objects: dict[Kind, dict[str, Body]] = field(default_factory=lambda: {kind: {} for kind in KINDS})

    def __iter__(self) -> Iterator[tuple[Kind, str, Body]]:
        for kind in KINDS:
            for name in sorted(self.objects[kind]):
                yield kind, name, self.objects[kind][name]

    def __len__(self) -> int:
        return sum(len(by_name) for by_name in self.objects.values())

    def get(self, kind: Kind, name: str) -> Body | None:
        return self.objects[kind].get(name)


def build(platform: Platform, defs: Definitions, commit: str | None = None) -> Bundle:
    with cyclic_gc_paused():
        return _build(platform, defs, commit)


def _build(platform: Platform, defs: Definitions, commit: str | None) -> Bundle:
    bundle = Bundle()
    raw: list[tuple[Kind, str, Body]] = [
        *((("ilm", names.ilm_policy(c), ilm_policy(c, rc))) for c, rc in defs.retention.classes.items()),
        ("component_templates", names.ECS_COMPONENT, ecs_component(defs)),
        ("component_templates", names.SETTINGS_COMPONENT, settings_component(defs)),
    ]
    for sid in platform.services:
        raw.append(("pipelines", names.pipeline(sid), pipeline(platform, defs, sid)))
        raw.append(
            ("component_templates", names.mappings_component(sid), service_component(platform, defs, sid))
        )
        raw.append(("index_templates", names.index_template(sid), index_template(platform, defs, sid)))
    for kind, name, body in raw:
        bundle.objects[kind][name] = stamp(kind, body, platform.platform.name, commit)
    return bundle


def write(bundle: Bundle, out: Path, tick: Callable[[], None] | None = None) -> list[Path]:
    """Write one JSON file per object; remove the files of objects an earlier build wrote that are gone."""
    folder = OutputFolder(out, command="sre elk build", marker=MARKER).claim()
    for kind, name, body in bundle:
        folder.write(Path(kind) / f"{name}.json", pretty(body).encode())
        if tick is not None:
            tick()
    return folder.finish()


# --- ILM -------------------------------------------------------------------------------------------


def ilm_policy(name: str, rc: RetentionClass) -> Body:
    # Every phase states min_age and the delete action its default, as Elasticsearch returns them,
    # so the body read back equals the body written.
    phases: dict[str, Any] = {
        "hot": {
            "min_age": "0ms",
            "actions": {
                "rollover": {
                    "max_age": rc.hot.max_age,
                    "max_primary_shard_size": rc.hot.max_primary_shard_size,
                },
                "set_priority": {"priority": 100},
            },
        }
    }
    if rc.warm:
        warm: dict[str, Any] = {"set_priority": {"priority": 50}}
        if rc.warm.forcemerge:
            warm["forcemerge"] = {"max_num_segments": 1}
        if rc.warm.replicas is not None:
            warm["allocate"] = {"number_of_replicas": rc.warm.replicas}
        phases["warm"] = {"min_age": rc.warm.after, "actions": warm}
    if rc.cold:
        cold: dict[str, Any] = {"set_priority": {"priority": 0}}
        if rc.cold.replicas is not None:
            cold["allocate"] = {"number_of_replicas": rc.cold.replicas}
        phases["cold"] = {"min_age": rc.cold.after, "actions": cold}
    phases["delete"] = {
        "min_age": rc.delete.after,
        "actions": {"delete": {"delete_searchable_snapshot": True}},
    }
    meta = {"description": rc.description or f"retention class {name}", "retention_class": name}
    return {"policy": {"_meta": meta, "phases": phases}}


# --- component templates ---------------------------------------------------------------------------


def properties(fields: dict[str, FieldSpec]) -> dict[str, Any]:
    """Dotted ECS names to nested `properties` (`user.email` -> user.properties.email)."""
    root: dict[str, Any] = {}
    for name in sorted(fields):
        node = root
        *parents, leaf = name.split(".")
        for part in parents:
            node = node.setdefault(part, {}).setdefault("properties", {})
        node[leaf] = fields[name].mapping()
    return root


def _template_meta(defs: Definitions, **meta: Any) -> Body:
    # As the stack marks its own templates: `managed: true` makes Kibana warn before an edit (the
    # next publish would undo it), and `version` says which revision of the templates this is.
    return {"_meta": {**meta, "managed": True}, "version": defs.elk.index_template.version}


def ecs_component(defs: Definitions) -> Body:
    stamped = {name: FieldSpec(type="keyword", ignore_above=1024) for name in STAMPED_FIELDS}
    return {
        **_template_meta(
            defs,
            description="ECS fields the platform logs, and the labels every pipeline stamps",
            ecs_version=defs.ecs.ecs_version,
        ),
        "template": {"mappings": {"properties": properties({**stamped, **defs.ecs.fields})}},
    }


def settings_component(defs: Definitions) -> Body:
    return {
        **_template_meta(defs, description="Index settings of every service's log data streams"),
        "template": {"settings": copy.deepcopy(defs.elk.settings)},
    }


def service_component(platform: Platform, defs: Definitions, sid: str) -> Body:
    svc = platform.services[sid]
    return {
        **_template_meta(defs, description=f"{svc.name}: its own log fields", service=sid),
        "template": {"mappings": {"properties": properties(dict(defs.service(sid).fields))}},
    }


# --- index templates -------------------------------------------------------------------------------


def index_template(platform: Platform, defs: Definitions, sid: str) -> Body:
    svc = platform.services[sid]
    retention = defs.retention_class(platform, sid)
    custom = names.custom_component(sid)
    options = defs.elk.index_template
    index: Body = {"lifecycle": {"name": names.ilm_policy(retention)}, "final_pipeline": names.pipeline(sid)}
    if options.index_mode != "cluster_default":
        # Explicit, so a 9.x cluster and one upgraded from 8.x give these streams the same mode.
        index["mode"] = options.index_mode
    return {
        **_template_meta(
            defs,
            description=f"{svc.name}: data streams logs-{sid}-<namespace>",
            service=sid,
            zone=svc.zone,
            owner=svc.owner,
            retention_class=retention,
            pii_fields=list(svc.pii),
            index_mode=options.index_mode,
        ),
        "index_patterns": [names.data_stream_pattern(sid)],
        "data_stream": {},
        "allow_auto_create": True,
        "priority": options.priority,
        # The cluster-wide logs@custom before the service's own hook, as the stack's logs template
        # composes it: both are optional.
        "composed_of": [
            *options.stack_components,
            names.ECS_COMPONENT,
            names.SETTINGS_COMPONENT,
            names.mappings_component(sid),
            names.STACK_CUSTOM,
            custom,
        ],
        "ignore_missing_component_templates": [names.STACK_CUSTOM, custom],
        # Set here, merged after every component, so a team's @custom cannot drop the PII pipeline.
        # final_pipeline (not default_pipeline) runs even when a shipper names its own pipeline.
        "template": {"settings": {"index": index}},
    }


# --- ingest pipelines ------------------------------------------------------------------------------


def _painless(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def condition(source: str) -> Body:
    # The object form of a script: Elasticsearch also takes a bare string, the API schema does not.
    return {"lang": "painless", "source": source}


# The data stream's dataset and namespace from the name the document is written to,
# logs-<dataset>-<namespace>, where the shipper did not set them (Kibana filters on them).
DATA_STREAM_SCRIPT = (
    "if (ctx.data_stream == null) { ctx.data_stream = new HashMap(); } "
    "ctx.data_stream.putIfAbsent('type', 'logs'); "
    "ctx.data_stream.putIfAbsent('dataset', params.dataset); "
    "String index = ctx._index; "
    "if (ctx.data_stream.namespace == null && index != null && index.startsWith(params.prefix)) "
    "{ ctx.data_stream.namespace = index.substring(params.prefix.length()); }"
)


def data_stream_processors(defs: Definitions, sid: str) -> list[Body]:
    return [
        {
            "script": {
                "tag": "stamp_data_stream",
                "lang": "painless",
                "source": DATA_STREAM_SCRIPT,
                "params": {"dataset": sid, "prefix": f"logs-{sid}-"},
            }
        },
        {
            "set": {
                "tag": "stamp_event_dataset",
                "field": "event.dataset",
                "copy_from": "data_stream.dataset",
                "override": False,
            }
        },
        {
            "set": {
                "tag": "stamp_ecs_version",
                "field": "ecs.version",
                "value": defs.ecs.ecs_version,
                "override": False,
            }
        },
    ]


def stamp_processors(platform: Platform, sid: str) -> list[Body]:
    svc = platform.services[sid]
    procs: list[Body] = [
        {"set": {"tag": "stamp_service", "field": "labels.service", "value": sid}},
        {"set": {"tag": "stamp_zone", "field": "labels.zone", "value": svc.zone}},
        {"set": {"tag": "stamp_service_name", "field": "service.name", "value": sid, "override": False}},
    ]
    # The dc comes from the shipper (labels.dc) or from the cloud metadata Beats and Elastic Agent
    # add (cloud.provider, cloud.region); the tier follows from the dc.
    for tid, tier in platform.tiers.items():
        provider, region = _painless(tier.provider), _painless(tier.region)
        where = f"ctx.cloud?.provider == {provider} && ctx.cloud?.region == {region}"
        procs.append(
            {
                "set": {
                    "tag": f"stamp_dc_{tid}",
                    "field": "labels.dc",
                    "value": tier.dc,
                    "override": False,
                    "if": condition(where),
                }
            }
        )
    for tid, tier in platform.tiers.items():
        procs.append(
            {
                "set": {
                    "tag": f"stamp_tier_{tid}",
                    "field": "labels.tier",
                    "value": tid,
                    "if": condition(f"ctx.labels?.dc == {_painless(tier.dc)}"),
                }
            }
        )
    return procs


def pii_processor(name: str, action: str) -> Body:
    tag = "pii_" + name.replace(".", "_")
    if action == "remove":
        return {"remove": {"tag": tag, "field": name, "ignore_missing": True}}
    if action == "mask":
        return {
            "set": {"tag": tag, "field": name, "value": MASK, "if": condition(names.presence_guard(name))}
        }
    return {
        "fingerprint": {
            "tag": tag,
            "fields": [name],
            "target_field": name,
            "method": "SHA-256",
            "ignore_missing": True,
        }
    }


def text_patterns(platform: Platform, defs: Definitions, sid: str) -> list[str]:
    seen: list[str] = []
    for name in platform.services[sid].pii:
        spec = defs.pii.fields.get(name)
        for pattern in spec.text_patterns if spec else []:
            if pattern not in seen:
                seen.append(pattern)
    return seen


def pipeline(platform: Platform, defs: Definitions, sid: str) -> Body:
    svc = platform.services[sid]
    procs: list[Body] = []
    on_failure: list[Body] = []
    if svc.pii:
        # A shipper may send {"user.email": ...} with a dot in the key; expand it, or the processors
        # below (which address user -> email) would not see it.
        procs.append({"dot_expander": {"tag": "expand_dotted_fields", "field": "*"}})
    procs += copy.deepcopy(defs.service(sid).processors)
    procs += data_stream_processors(defs, sid)
    procs += stamp_processors(platform, sid)
    procs += [pii_processor(name, defs.pii_action(sid, name)) for name in svc.pii]
    for text_field in defs.pii.text.fields:
        for pattern in text_patterns(platform, defs, sid):
            procs.append(
                {
                    "gsub": {
                        "tag": f"redact_{pattern.lower()}_in_{text_field.replace('.', '_')}",
                        "field": text_field,
                        "pattern": defs.pii.text.patterns[pattern],
                        "replacement": f"<{pattern}>",
                        "ignore_missing": True,
                    }
                }
            )
    if svc.pii:
        procs.append(
            {"remove": {"tag": "pii_event_original", "field": "event.original", "ignore_missing": True}}
        )
        # If any step fails, the document is still indexed, but without anything that may hold PII.
        dropped = sorted({*svc.pii, *defs.pii.text.fields, "event.original"})
        on_failure.append({"remove": {"field": dropped, "ignore_missing": True}})
        on_failure.append({"append": {"field": "tags", "value": [PII_FAILED_TAG]}})
    on_failure.append({"set": {"field": "error.message", "value": "{{{ _ingest.on_failure_message }}}"}})
    handled = ", ".join(f"{n} ({defs.pii_action(sid, n)})" for n in svc.pii) or "none"
    return {
        "_meta": {
            "description": f"{svc.name}: stamps service, zone, tier and dc; PII: {handled}",
            "service": sid,
        },
        "description": f"{svc.name} logs: stamp service, zone, tier and dc; remove or mask PII",
        "processors": procs,
        "on_failure": on_failure,
    }

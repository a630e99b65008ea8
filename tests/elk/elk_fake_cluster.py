"""A small in-memory model of an Elasticsearch 9 cluster, served through respx on httpx.

Not Elasticsearch: a stand-in built from Elastic's API reference (elasticsearch-specification
response examples and error bodies) for the endpoints `sre elk` uses. It stores what is PUT and
returns it on GET the way Elasticsearch does: settings nested under `index` with string values,
data_stream defaults filled in, ILM phases given min_age and delete defaults, created/modified
dates and versions added. It checks what Elasticsearch checks on PUT (API key and privileges,
component templates that exist, overlapping patterns at one priority, known processor types,
create=true on an existing template) and answers with Elasticsearch's error bodies.
Every response carries X-Elastic-Product: Elasticsearch, as the client requires.

Like a real 9.x cluster it starts with the stack's built-in templates (logs, metrics, traces,
synthetics and their @mappings / @settings components, as x-pack's template-resources define
them, `_meta.managed: true`) and with what Fleet installs for an integration (the nginx access
logs: `logs-nginx.access` at Fleet's priority 200, its @package component and the .fleet_*
components, `_meta.managed_by: fleet`).
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx

PRODUCT = {"X-Elastic-Product": "Elasticsearch"}
COMPAT = "application/vnd.elasticsearch+json;compatible-with=9"
NOW = "2026-11-26T09:00:00.000Z"
NOW_MILLIS = 1795683600000

PROCESSORS = {
    "append", "set", "remove", "rename", "gsub", "fingerprint", "dot_expander", "redact", "pipeline", "json",
    "grok", "date", "lowercase", "uppercase", "convert", "script", "drop", "fail", "user_agent", "geoip",
}  # fmt: skip
WRITE_ACTIONS = {
    "ilm": ("cluster:admin/ilm/put", "manage_ilm,manage,all"),
    "pipeline": ("cluster:admin/ingest/pipeline/put", "manage_ingest_pipelines,manage_pipeline,manage,all"),
    "component": ("cluster:admin/component_template/put", "manage_index_templates,manage,all"),
    "index": ("indices:admin/index_template/put", "manage_index_templates,manage,all"),
    "rollover": ("indices:admin/rollover", "manage"),
}


def error(status: int, kind: str, reason: str, **extra: Any) -> httpx.Response:
    cause = {"type": kind, "reason": reason, **extra}
    return response(status, {"error": {"root_cause": [cause], **cause}, "status": status})


def response(status: int, body: Any) -> httpx.Response:
    return httpx.Response(
        status, content=json.dumps(body).encode(), headers={**PRODUCT, "content-type": COMPAT}
    )


def es_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """What Elasticsearch returns for template settings: nested under `index`, values as strings."""
    flat: dict[str, Any] = {}

    def walk(node: dict[str, Any], prefix: str) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            else:
                path = f"{prefix}{key}"
                path = path if path.startswith("index.") else f"index.{path}"
                flat[path] = str(value).lower() if isinstance(value, bool) else str(value)

    walk(settings, "")
    nested: dict[str, Any] = {}
    for path, value in sorted(flat.items()):
        node = nested
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


# The stack's built-in templates as a 9.x cluster has them (x-pack template-resources; GET shape:
# settings nested with string values). Versions are the stack template registry's.
STACK_VERSION = 16
FLEET_PRIORITY = 200
STACK_META = {"managed": True}
STACK_COMPONENTS: dict[str, dict[str, Any]] = {
    "logs@mappings": {
        "template": {
            "mappings": {
                "date_detection": False,
                "properties": {
                    "@timestamp": {"type": "date", "ignore_malformed": False},
                    "data_stream": {
                        "properties": {
                            "type": {"type": "constant_keyword", "value": "logs"},
                            "dataset": {"type": "constant_keyword"},
                            "namespace": {"type": "constant_keyword"},
                        }
                    },
                },
            }
        },
        "_meta": {"description": "default mappings for the logs index template installed by x-pack", **STACK_META},
        "version": STACK_VERSION,
    },
    "logs@settings": {
        "template": {
            "settings": es_settings({"index": {
                "lifecycle": {"name": "logs@lifecycle"},
                "codec": "best_compression",
                "mapping": {"ignore_malformed": True, "total_fields": {"ignore_dynamic_beyond_limit": True}},
                "default_pipeline": "logs@default-pipeline",
            }}),
            "data_stream_options": {"failure_store": {"enabled": True}},
        },
        "_meta": {"description": "default settings for the logs index template installed by x-pack", **STACK_META},
        "version": STACK_VERSION,
    },
    "ecs@mappings": {
        "template": {
            "mappings": {
                "dynamic_templates": [
                    {"ecs_timestamp": {"match": "@timestamp", "mapping": {"type": "date", "ignore_malformed": False}}},
                    {"ecs_message_match_only_text": {"path_match": ["message", "*.message"], "unmatch_mapping_type": "object",
                                                     "mapping": {"type": "match_only_text"}}},
                    {"ecs_path_match_keyword_and_match_only_text": {
                        "path_match": ["*.title", "*.executable", "*.name", "*.working_directory", "*.full_name"],
                        "unmatch_mapping_type": "object",
                        "mapping": {"type": "keyword", "fields": {"text": {"type": "match_only_text"}}}}},
                    {"ecs_ip": {"path_match": ["ip", "*.ip", "*_ip"], "match_mapping_type": "string", "mapping": {"type": "ip"}}},
                    {"all_strings_to_keywords": {"match_mapping_type": "string",
                                                 "mapping": {"ignore_above": 1024, "type": "keyword"}}},
                ]
            }
        },
        "_meta": {"description": "dynamic mappings based on ECS, installed by x-pack", **STACK_META},
        "version": STACK_VERSION,
    },
    "metrics@mappings": {"template": {"mappings": {}}, "_meta": STACK_META, "version": STACK_VERSION},
    "metrics@settings": {"template": {"settings": es_settings({"index": {"codec": "best_compression"}})},
                         "_meta": STACK_META, "version": STACK_VERSION},
    "traces@mappings": {"template": {"mappings": {}}, "_meta": STACK_META, "version": STACK_VERSION},
    "traces@settings": {"template": {"settings": es_settings({"index": {"codec": "best_compression"}})},
                        "_meta": STACK_META, "version": STACK_VERSION},
    "synthetics@mappings": {"template": {"mappings": {}}, "_meta": STACK_META, "version": STACK_VERSION},
    "synthetics@settings": {"template": {"settings": es_settings({"index": {"codec": "best_compression"}})},
                            "_meta": STACK_META, "version": STACK_VERSION},
}  # fmt: skip


def _stack_index_template(kind: str) -> dict[str, Any]:
    return {
        "index_patterns": [f"{kind}-*-*"],
        "composed_of": [f"{kind}@mappings", f"{kind}@settings", f"{kind}@custom", "ecs@mappings"],
        "ignore_missing_component_templates": [f"{kind}@custom"],
        "priority": 100,
        "data_stream": {"hidden": False, "allow_custom_routing": False},
        "allow_auto_create": True,
        "_meta": {"description": f"default {kind} template installed by x-pack", **STACK_META},
        "version": STACK_VERSION,
    }


STACK_INDEX_TEMPLATES = {
    kind: _stack_index_template(kind) for kind in ("logs", "metrics", "traces", "synthetics")
}


def _glob_overlap(a: str, b: str) -> bool:
    # Coarse on purpose, unlike the linter's exact check: try a few names each pattern produces.
    samples = [a.replace("*", fill) for fill in ("", "x", "x-x")] + [
        b.replace("*", fill) for fill in ("", "x", "x-x")
    ]
    return any(fnmatch.fnmatchcase(s, a) and fnmatch.fnmatchcase(s, b) for s in samples)


@dataclass
class FakeCluster:
    url: str = "http://es.test:9200"
    version: str = "9.1.5"
    keys: dict[str, str] = field(default_factory=lambda: {"writer-key": "all", "reader-key": "read"})
    ilm: dict[str, dict[str, Any]] = field(default_factory=dict)
    pipelines: dict[str, dict[str, Any]] = field(default_factory=dict)
    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    index_templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    data_streams: dict[str, dict[str, Any]] = field(default_factory=dict)
    log: list[tuple[str, str]] = field(default_factory=list)
    # (method, path regex) -> a response or an exception, used once, before normal handling.
    faults: list[tuple[str, str, httpx.Response | Exception]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.components.update(copy.deepcopy(STACK_COMPONENTS))
        self.index_templates.update(copy.deepcopy(STACK_INDEX_TEMPLATES))
        self.add_fleet_dataset("nginx.access", package="nginx")
        for name in ("logs-ext_api-prod", "logs-ext_api-staging", "logs-vault-prod"):
            self.add_data_stream(name, template="logs")

    # --- test helpers ----------------------------------------------------------------------------

    def add_fleet_dataset(self, dataset: str, *, package: str) -> None:
        """What Fleet installs for a logs data stream of an integration (or a Custom Logs dataset)."""
        meta = {"package": {"name": package}, "managed_by": "fleet", "managed": True}
        name = f"logs-{dataset}"
        self.components[f"{name}@package"] = {
            "template": {
                "settings": es_settings({"index": {"lifecycle": {"name": "logs"}, "default_pipeline": f"{name}-1.0.0"}}),
                "mappings": {"properties": {"event": {"properties": {"dataset": {"type": "constant_keyword", "value": dataset}}}}},
            },
            "_meta": meta,
        }  # fmt: skip
        for fleet in (".fleet_globals-1", ".fleet_agent_id_verification-1"):
            self.components.setdefault(
                fleet, {"template": {"mappings": {}}, "_meta": {"managed_by": "fleet", "managed": True}}
            )
        self.index_templates[name] = {
            "index_patterns": [f"{name}-*"],
            "composed_of": ["logs@mappings", "logs@settings", f"{name}@package", "logs@custom", f"{name}@custom",
                            "ecs@mappings", ".fleet_globals-1", ".fleet_agent_id_verification-1"],
            "ignore_missing_component_templates": ["logs@custom", f"{name}@custom"],
            "priority": FLEET_PRIORITY,
            "data_stream": {"hidden": False, "allow_custom_routing": False},
            "_meta": meta,
            "created_date_millis": NOW_MILLIS,
            "created_date": NOW,
            "modified_date_millis": NOW_MILLIS,
            "modified_date": NOW,
        }  # fmt: skip

    def add_data_stream(self, name: str, template: str) -> None:
        self.data_streams[name] = {
            "name": name,
            "timestamp_field": {"name": "@timestamp"},
            "indices": [
                {
                    "index_name": f".ds-{name}-2026.11.20-000001",
                    "index_uuid": "xCEhwsp8Tey0-FLNFYVwSg",
                    "prefer_ilm": True,
                    "managed_by": "Index Lifecycle Management",
                }
            ],
            "generation": 1,
            "status": "GREEN",
            "template": template,
            "hidden": False,
            "system": False,
            "allow_custom_routing": False,
            "replicated": False,
            "rollover_on_write": False,
        }

    def fail(self, method: str, path_regex: str, outcome: httpx.Response | Exception) -> None:
        self.faults.append((method, path_regex, outcome))

    @property
    def writes(self) -> list[tuple[str, str]]:
        return [entry for entry in self.log if entry[0] in ("PUT", "POST", "DELETE")]

    def lazily_rolled_over(self) -> list[str]:
        return sorted(n for n, ds in self.data_streams.items() if ds["rollover_on_write"])

    # --- dispatch --------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        method, path = request.method, unquote(request.url.path)
        self.log.append((method, path))
        for i, (m, pattern, outcome) in enumerate(self.faults):
            if m == method and re.fullmatch(pattern, path):
                del self.faults[i]
                if isinstance(outcome, Exception):
                    raise outcome
                return outcome
        if self.version.startswith("8.") and "compatible-with=9" in request.headers.get("accept", ""):
            return error(
                400,
                "media_type_header_exception",
                "Invalid media-type value on headers [Accept, Content-Type]",
                caused_by={"type": "status_exception", "reason": "A compatible version is required on both "
                           "Content-Type and Accept headers and the compatible versions must match."},
            )  # fmt: skip
        role = self._authenticate(request)
        if isinstance(role, httpx.Response):
            return role
        body = json.loads(request.content) if request.content else None
        query = dict(request.url.params)
        routes: list[tuple[str, Callable[..., httpx.Response]]] = [
            (r"/", self.info),
            (r"/_ilm/policy/(?P<name>[^/]+)", self.ilm_policy),
            (r"/_ingest/pipeline/(?P<name>[^/]+)", self.pipeline),
            (r"/_component_template/(?P<name>[^/]+)", self.component),
            (r"/_index_template", self.all_index_templates),
            (r"/_index_template/(?P<name>[^/]+)", self.index_template),
            (r"/_data_stream/(?P<name>[^/]+)", self.data_stream),
            (r"/(?P<name>[^/_][^/]*)/_rollover", self.rollover),
        ]
        for pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if match:
                if method in ("PUT", "POST") and role != "all":
                    return self._forbidden(handler.__name__)
                return handler(method, body, query, **match.groupdict())
        return response(400, {"error": f"no handler found for uri [{path}] and method [{method}]"})

    def _authenticate(self, request: httpx.Request) -> str | httpx.Response:
        header = request.headers.get("authorization", "")
        key = header.removeprefix("ApiKey ") if header.startswith("ApiKey ") else None
        if key in self.keys:
            return self.keys[key]
        reason = (
            "unable to authenticate with provided credentials and anonymous access is not allowed for this "
            "request"
        )
        return error(
            401,
            "security_exception",
            reason,
            additional_unsuccessful_credentials="API key: api key [k7Yp3] does not exist",
            header={
                "WWW-Authenticate": [
                    'Basic realm="security", charset="UTF-8"',
                    'Bearer realm="security"',
                    "ApiKey",
                ]
            },
        )

    def _forbidden(self, handler: str) -> httpx.Response:
        kind = {"ilm_policy": "ilm", "pipeline": "pipeline", "component": "component"}.get(handler, "index")
        action, privileges = WRITE_ACTIONS["rollover" if handler == "rollover" else kind]
        return error(
            403,
            "security_exception",
            f"action [{action}] is unauthorized for API key id [k7Yp3] of user [ci-publisher], this action "
            f"is granted by the cluster privileges [{privileges}]",
        )

    # --- endpoints -------------------------------------------------------------------------------

    def info(self, method: str, body: Any, query: dict[str, str]) -> httpx.Response:
        return response(
            200,
            {
                "name": "es-fra1-0",
                "cluster_name": "acme-logs",
                "cluster_uuid": "k3wR9xTqS2mF0bLx1aZ8Cw",
                "version": {
                    "number": self.version,
                    "build_flavor": "default",
                    "build_type": "docker",
                    "build_hash": "4f2c0e6d7e2b3a1f9c8d",
                    "build_date": "2026-10-01T10:00:00.000Z",
                    "build_snapshot": False,
                    "lucene_version": "10.2.2",
                    "minimum_wire_compatibility_version": "8.19.0",
                    "minimum_index_compatibility_version": "8.0.0",
                },
                "tagline": "You Know, for Search",
            },
        )

    def ilm_policy(self, method: str, body: Any, query: dict[str, str], name: str) -> httpx.Response:
        if method == "GET":
            entry = self.ilm.get(name)
            if entry is None:
                return error(404, "resource_not_found_exception", f"Lifecycle policy not found: {name}")
            templates = sorted(t for t, b in self.index_templates.items() if self._policy_of(b) == name)
            in_use = {"indices": [], "data_streams": [], "composable_templates": templates}
            return response(200, {name: {**copy.deepcopy(entry), "in_use_by": in_use}})
        if not isinstance(body, dict) or "policy" not in body:
            return error(
                400,
                "x_content_parse_exception",
                "[1:2] [put_lifecycle_request] failed to parse field [policy]",
            )
        policy = copy.deepcopy(body["policy"])
        for phase in policy.get("phases", {}).values():
            phase.setdefault("min_age", "0ms")
            if "delete" in phase.get("actions", {}):
                phase["actions"]["delete"].setdefault("delete_searchable_snapshot", True)
            if "allocate" in phase.get("actions", {}):
                phase["actions"]["allocate"] = {
                    "include": {},
                    "exclude": {},
                    "require": {},
                    **phase["actions"]["allocate"],
                }
        version = self.ilm.get(name, {}).get("version", 0) + 1
        self.ilm[name] = {"version": version, "modified_date": NOW, "policy": policy}
        return response(200, {"acknowledged": True})

    @staticmethod
    def _policy_of(template: dict[str, Any]) -> Any:
        return (
            template.get("template", {}).get("settings", {}).get("index", {}).get("lifecycle", {}).get("name")
        )

    def pipeline(self, method: str, body: Any, query: dict[str, str], name: str) -> httpx.Response:
        if method == "GET":
            if name not in self.pipelines:
                return response(404, {})  # Elasticsearch answers a missing pipeline with an empty object
            return response(200, {name: copy.deepcopy(self.pipelines[name])})
        for proc in [*body.get("processors", []), *body.get("on_failure", [])]:
            kind = next(iter(proc))
            if kind not in PROCESSORS:
                return error(
                    400,
                    "parse_exception",
                    f"No processor type exists with name [{kind}]",
                    processor_type=kind,
                )
        created = self.pipelines.get(name, {}).get("created_date_millis", NOW_MILLIS)
        self.pipelines[name] = {
            **copy.deepcopy(body),
            "created_date_millis": created,
            "created_date": NOW,
            "modified_date_millis": NOW_MILLIS,
            "modified_date": NOW,
        }
        return response(200, {"acknowledged": True})

    def _stored_template(self, body: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
        stored = copy.deepcopy(body)
        if "settings" in stored.get("template", {}):
            stored["template"]["settings"] = es_settings(stored["template"]["settings"])
        stored["created_date_millis"] = (previous or {}).get("created_date_millis", NOW_MILLIS)
        stored["created_date"] = (previous or {}).get("created_date", NOW)
        stored["modified_date_millis"] = NOW_MILLIS
        stored["modified_date"] = NOW
        return stored

    def component(self, method: str, body: Any, query: dict[str, str], name: str) -> httpx.Response:
        if method == "GET":
            if name not in self.components:
                return error(
                    404, "resource_not_found_exception", f"component template matching [{name}] not found"
                )
            return response(
                200,
                {
                    "component_templates": [
                        {"name": name, "component_template": copy.deepcopy(self.components[name])}
                    ]
                },
            )
        if query.get("create") == "true" and name in self.components:
            return error(400, "illegal_argument_exception", f"component template [{name}] already exists")
        self.components[name] = self._stored_template(body, self.components.get(name))
        return response(200, {"acknowledged": True})

    def all_index_templates(self, method: str, body: Any, query: dict[str, str]) -> httpx.Response:
        items = [
            {"name": name, "index_template": copy.deepcopy(tpl)}
            for name, tpl in sorted(self.index_templates.items())
        ]
        return response(200, {"index_templates": items})

    def index_template(self, method: str, body: Any, query: dict[str, str], name: str) -> httpx.Response:
        if method == "GET":
            if name not in self.index_templates:
                return error(
                    404, "resource_not_found_exception", f"index template matching [{name}] not found"
                )
            return response(
                200,
                {
                    "index_templates": [
                        {"name": name, "index_template": copy.deepcopy(self.index_templates[name])}
                    ]
                },
            )
        if query.get("create") == "true" and name in self.index_templates:
            return error(400, "illegal_argument_exception", f"index template [{name}] already exists")
        optional = set(body.get("ignore_missing_component_templates", []))
        missing = [c for c in body.get("composed_of", []) if c not in self.components and c not in optional]
        if missing:
            return error(
                400,
                "illegal_argument_exception",
                f"index template [{name}] specifies component templates {missing} that do not exist".replace(
                    "'", ""
                ),
            )
        clash = self._same_priority_overlap(name, body)
        if clash:
            return error(400, "illegal_argument_exception", clash)
        stored = self._stored_template(body, self.index_templates.get(name))
        if "data_stream" in stored:
            stored["data_stream"] = {"hidden": False, "allow_custom_routing": False, **stored["data_stream"]}
        self.index_templates[name] = stored
        return response(200, {"acknowledged": True})

    def _same_priority_overlap(self, name: str, body: dict[str, Any]) -> str | None:
        priority = body.get("priority", 0)
        for other, existing in self.index_templates.items():
            if other == name or existing.get("priority", 0) != priority:
                continue
            for p in body.get("index_patterns", []):
                for q in existing["index_patterns"]:
                    if _glob_overlap(p, q):
                        return (
                            f"index template [{name}] has index patterns [{p}] matching patterns from "
                            f"existing templates [{other}] with patterns ({other} => [{q}]) that have the "
                            f"same priority [{priority}], multiple index templates may not match during "
                            "index creation, please use a different priority"
                        )
        return None

    def data_stream(self, method: str, body: Any, query: dict[str, str], name: str) -> httpx.Response:
        found = [
            copy.deepcopy(ds) for n, ds in sorted(self.data_streams.items()) if fnmatch.fnmatchcase(n, name)
        ]
        if not found and "*" not in name:
            return error(404, "index_not_found_exception", f"no such index [{name}]", index=name)
        return response(200, {"data_streams": found})

    def rollover(self, method: str, body: Any, query: dict[str, str], name: str) -> httpx.Response:
        ds = self.data_streams.get(name)
        if ds is None:
            return error(404, "index_not_found_exception", f"no such index [{name}]", index=name)
        lazy = query.get("lazy") == "true"
        old = ds["indices"][-1]["index_name"]
        if lazy:
            ds["rollover_on_write"] = True
        return response(
            200,
            {
                "acknowledged": True,
                "shards_acknowledged": not lazy,
                "old_index": old,
                "new_index": old[:-6] + f"{int(old[-6:]) + 1:06d}",
                "rolled_over": not lazy,
                "dry_run": False,
                "lazy": lazy,
                "conditions": {},
            },
        )

"""Bring a body read back from Elasticsearch and a generated body to one form, so equal means equal.

What Elasticsearch changes on the way in and out (from its API reference and GET responses):
- adds created_date / modified_date (and *_millis) to templates and pipelines, `version` and
  `modified_date` and `in_use_by` around ILM policies (the cluster client unwraps those); a
  template's or pipeline's own `version` is the caller's, never generated, so it is content;
- returns index settings nested under `index`, with every value as a string ("1", "true");
- fills `data_stream` with its defaults (hidden, allow_custom_routing false);
- gives every ILM phase a min_age ("0ms"), the delete action delete_searchable_snapshot: true, and
  the allocate action empty include / exclude / require;
- may drop an empty `properties` or `mappings` (so empty ones count as absent on both sides).
The source commit in _meta is provenance, not content, and is left out of the comparison too.
"""

from __future__ import annotations

import copy
from typing import Any

from sre.elk.meta import Body, without_volatile_meta
from sre.elk.names import Kind

SERVER_ADDED = ("created_date", "created_date_millis", "modified_date", "modified_date_millis")
DATA_STREAM_DEFAULTS = {"hidden": False, "allow_custom_routing": False, "failure_store": False}
EMPTY_DEFAULTS: dict[str, Any] = {
    "composed_of": [],
    "ignore_missing_component_templates": [],
    "deprecated": False,
}


def flat_settings(settings: Any, prefix: str = "") -> dict[str, Any]:
    """{"index": {"lifecycle": {"name": "x"}}} or {"lifecycle.name": "x"} -> {"index.lifecycle.name": "x"}."""
    out: dict[str, Any] = {}
    if not isinstance(settings, dict):
        return out
    for key, value in settings.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat_settings(value, f"{path}."))
        else:
            out[path if path.startswith("index.") else f"index.{path}"] = value
    return out


def _as_setting(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [_as_setting(v) for v in value]
    return value if value is None else str(value)


def _template_block(template: Any) -> Any:
    if not isinstance(template, dict):
        return template
    out = dict(template)
    if "settings" in out:
        out["settings"] = {k: _as_setting(v) for k, v in flat_settings(out["settings"]).items()}
    mappings = out.get("mappings")
    if isinstance(mappings, dict) and mappings.get("properties") == {}:
        out["mappings"] = {k: v for k, v in mappings.items() if k != "properties"}
    return {k: v for k, v in out.items() if v != {}}


def _ilm(body: Body) -> Body:
    policy = body.get("policy")
    if not isinstance(policy, dict):
        return body
    for phase in (policy.get("phases") or {}).values():
        if not isinstance(phase, dict):
            continue
        phase.setdefault("min_age", "0ms")
        actions = phase.get("actions") or {}
        if isinstance(actions.get("delete"), dict):
            actions["delete"].setdefault("delete_searchable_snapshot", True)
        allocate = actions.get("allocate")
        if isinstance(allocate, dict):
            actions["allocate"] = {k: v for k, v in allocate.items() if v != {}}
    return body


def normalize(kind: Kind, body: Body) -> Body:
    out = without_volatile_meta(kind, copy.deepcopy(body))
    if kind == "ilm":
        return _ilm(out)
    for key in SERVER_ADDED:
        out.pop(key, None)
    for key, default in EMPTY_DEFAULTS.items():
        if out.get(key) == default:
            del out[key]
    if "template" in out:
        out["template"] = _template_block(out["template"])
    data_stream = out.get("data_stream")
    if isinstance(data_stream, dict):
        out["data_stream"] = {
            k: v for k, v in data_stream.items() if DATA_STREAM_DEFAULTS.get(k, object()) != v
        }
    return out

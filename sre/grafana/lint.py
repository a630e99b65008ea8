"""Check built dashboards before they reach Grafana: PromQL, conventions, title clashes and coverage.

Only checks that live in this package: the product never runs code from outside it. Whether the
output matches Grafana's published schema is checked by the project's tests, on `schema_form`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sre.grafana import promql
from sre.grafana.board import JOB_VARIABLE
from sre.grafana.build import BuiltDashboard, render, write
from sre.grafana.uids import UID_PATTERN
from sre.platform.model import Platform

CHECKED = (
    "PromQL of every query and variable parses, panels use the datasource variable and have a unit, "
    "description, legend and unique id, UIDs are valid, dashboards are not editable, probe series are "
    "selected by job, titles are unique per folder, every service has a dashboard"
)
# Grafana saves the base step of thresholds (minus infinity) as null, and so do we; its published
# schema types the value as a number and says in its description "Nulls currently appear here when
# serializing -Infinity to JSON". The schema check sees this finite stand-in instead.
SCHEMA_BASE_STEP = -1e308
_PROBE_METRIC = re.compile(r"\bprobe_[a-z_]+\{([^}]*)\}")
_JOB_MATCHER = f'{JOB_VARIABLE}=~"${JOB_VARIABLE}"'


@dataclass
class LintReport:
    problems: list[str] = field(default_factory=list)
    dashboards: int = 0
    queries: int = 0


def run(platform: Platform, built: list[BuiltDashboard]) -> LintReport:
    report = LintReport(dashboards=len(built))
    for dashboard in built:
        for problem, counted in _dashboard_problems(dashboard.model):
            report.queries += counted
            if problem:
                report.problems.append(f"{dashboard.uid}: {problem}")
    report.problems += _title_clashes(built)
    report.problems += _coverage(platform, built)
    return report


def schema_form(model: dict[str, Any]) -> dict[str, Any]:
    """The dashboard as Grafana's published schema wants it: null base steps as a number."""
    out = copy.deepcopy(model)
    for panel in panels(out):
        steps = (((panel.get("fieldConfig") or {}).get("defaults") or {}).get("thresholds") or {}).get(
            "steps"
        )
        if steps and steps[0].get("value") is None:
            steps[0]["value"] = SCHEMA_BASE_STEP
    return out


def panels(model: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those inside collapsed rows."""
    for panel in model.get("panels") or []:
        yield panel
        yield from panel.get("panels") or []


def _dashboard_problems(model: dict[str, Any]) -> Iterator[tuple[str | None, int]]:
    uid = str(model.get("uid", ""))
    if not UID_PATTERN.match(uid):
        yield f"UID {uid!r} must be 1 to 40 letters, digits, - or _", 0
    if model.get("editable") is not False:
        yield "editable must be false: the next publish overwrites any edit made in Grafana", 0
    variables = (model.get("templating") or {}).get("list") or []
    if not any(v.get("type") == "datasource" and v.get("name") == "datasource" for v in variables):
        yield "no `datasource` variable: panels cannot follow the chosen Prometheus", 0
    has_job = any(v.get("name") == JOB_VARIABLE for v in variables)
    for variable in variables:
        query = variable.get("query")
        if variable.get("type") == "query" and isinstance(query, str):
            if (why := promql.variable_query_problem(query)) is not None:
                yield f"variable {variable.get('name')!r}: query does not parse: {why}", 1
            else:
                yield None, 1
    seen_ids: set[int] = set()
    for panel in panels(model):
        title = panel.get("title", "")
        where = f"panel {title!r}"
        pid = panel.get("id")
        if not isinstance(pid, int) or pid < 1 or pid in seen_ids:
            yield f"{where}: id {pid!r} is missing or not unique", 0
        else:
            seen_ids.add(pid)
        if panel.get("type") == "row":
            continue
        if (panel.get("datasource") or {}).get("uid") != "${datasource}":
            yield f"{where}: datasource must be the ${{datasource}} variable", 0
        defaults = (panel.get("fieldConfig") or {}).get("defaults") or {}
        if not defaults.get("unit"):
            yield f"{where}: no unit", 0
        if not str(panel.get("description") or "").strip():
            yield f"{where}: no description (what it shows, and what is good or bad)", 0
        steps = (defaults.get("thresholds") or {}).get("steps") or []
        if steps and steps[0].get("value") is not None:
            yield f"{where}: the base threshold step must be null (minus infinity), as Grafana saves it", 0
        targets = panel.get("targets") or []
        if not targets:
            yield f"{where}: no query", 0
        for target in targets:
            ref = target.get("refId", "?")
            if not target.get("legendFormat"):
                yield f"{where} query {ref}: no legend", 0
            expr = str(target.get("expr", ""))
            why = promql.problem(expr)
            yield (f"{where} query {ref}: PromQL does not parse: {why}" if why else None), 1
            yield from _job_problems(where, ref, expr, has_job)


def _job_problems(where: str, ref: str, expr: str, has_job: bool) -> Iterator[tuple[str, int]]:
    """With a `job` variable every probe series is selected by it, or a target that two exporters
    probe counts twice; without one, nothing may refer to it."""
    if not has_job:
        if f"${JOB_VARIABLE}" in expr:
            yield f"{where} query {ref}: uses ${JOB_VARIABLE} but the dashboard has no `job` variable", 0
        return
    for found in _PROBE_METRIC.finditer(expr):
        if _JOB_MATCHER not in found.group(1):
            yield f"{where} query {ref}: {found.group(0)} does not select {_JOB_MATCHER}", 0


def _title_clashes(built: list[BuiltDashboard]) -> Iterator[str]:
    # Grafana refuses a second dashboard with the same title in a folder (412 name-exists).
    seen: dict[tuple[str, str], str] = {}
    for d in built:
        key = (d.folder.uid, d.title)
        if key in seen:
            yield f"{d.uid}: title {d.title!r} is already used by {seen[key]} in folder {d.folder.title!r}"
        seen.setdefault(key, d.uid)


def _coverage(platform: Platform, built: list[BuiltDashboard]) -> Iterator[str]:
    covered = {d.service for d in built if d.service}
    for sid in platform.services:
        if sid not in covered:
            yield f"coverage: service {sid!r} has no dashboard of its own (Board(..., service={sid!r}))"
    for d in built:
        if d.service and d.service not in platform.services:
            yield f"{d.uid}: is the dashboard of {d.service!r}, which is not a service of the platform"


def write_schema_form(built: list[BuiltDashboard], out: Path) -> list[Path]:
    """Write what Grafana's schema checker reads (the tests run it): every dashboard in `schema_form`."""
    return write([replace(d, rendered=render(schema_form(d.model))) for d in built], out)

"""Check the generated rules and the dashboards before they reach Prometheus.

PromQL parses; every alert carries the labels routing and inhibition depend on, with values of the
model; every runbook it names exists; every metric a rule or a dashboard reads is one that some
exporter emits (alerts/metrics.yaml), and the probe exporter's own list is what it really writes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sre.alerting.definitions import SEVERITIES, Definitions
from sre.alerting.model import Alert, Record, RuleFile
from sre.alerting.queries import selectors
from sre.platform.model import EVERY_SERVICE, Platform

REQUIRED_LABELS = ("severity", "service", "zone", "tier", "dc", "team")
REQUIRED_ANNOTATIONS = ("summary", "description", "runbook_url")
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")
_UNFILLED = re.compile(r"(?<!\{)\{(\w+)\}(?!\})")
RUNBOOKS_DIR = "runbooks"


@dataclass
class LintReport:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rules: int = 0
    alerts: int = 0
    queries: int = 0
    metrics: set[str] = field(default_factory=set)


def run(
    platform: Platform,
    defs: Definitions,
    files: list[RuleFile],
    dashboards: Iterable[tuple[str, str]] = (),
) -> LintReport:
    """`dashboards` are (where, expr) pairs of every dashboard query."""
    report = LintReport()
    known = defs.metrics.names()
    recorded = {r.record for f in files for g in f.groups for r in g.rules if isinstance(r, Record)}
    report.problems += _probe_catalog(defs)
    for rf in files:
        for group in rf.groups:
            for rule in group.rules:
                report.rules += 1
                name = rule.alert if isinstance(rule, Alert) else rule.record
                where = f"prometheus/rules/{rf.name}.yml: {group.name}: {name}"
                report.problems += _metrics(where, rule.expr, known, recorded, report)
                if isinstance(rule, Alert):
                    report.alerts += 1
                    report.problems += [f"{where}: {p}" for p in _alert_problems(platform, defs, rule)]
                    note = _runbook_file(platform, rule.labels.get("runbook"))
                    if note is not None and note not in report.notes:
                        report.notes.append(note)
    for where, expr in dashboards:
        report.queries += 1
        report.problems += _metrics(where, expr, known, recorded, report)
    return report


def _metrics(
    where: str, expr: str, known: dict[str, str], recorded: set[str], report: LintReport
) -> list[str]:
    try:
        found = selectors(expr)
    except ValueError as exc:
        return [f"{where}: PromQL does not parse: {exc}"]
    problems = []
    for s in found:
        if s.metric is None:
            continue
        report.metrics.add(s.metric)
        if not _emitted(s.metric, known, recorded):
            problems.append(f"{where}: metric {s.metric!r} is emitted by no exporter in alerts/metrics.yaml")
    return problems


def _emitted(metric: str, known: dict[str, str], recorded: set[str]) -> bool:
    if metric in known or metric in recorded:
        return True
    return any(metric.endswith(sfx) and metric[: -len(sfx)] in known for sfx in HISTOGRAM_SUFFIXES)


def _probe_catalog(defs: Definitions) -> list[str]:
    from sre.probes.output.prometheus import HELP

    listed = set(defs.metrics.exporters.get("sre_probe", []))
    problems = []
    for name in sorted(listed - set(HELP)):
        problems.append(f"alerts/metrics.yaml: sre_probe: {name!r} is not written by the probe exporter")
    for name in sorted(set(HELP) - listed):
        problems.append(
            f"alerts/metrics.yaml: sre_probe: {name!r} is written by the probe exporter but not listed"
        )
    return problems


def _alert_problems(platform: Platform, defs: Definitions, alert: Alert) -> list[str]:
    labels, problems = alert.labels, []
    for name in REQUIRED_LABELS:
        if not labels.get(name):
            problems.append(f"label {name!r} is missing")
    if labels.get("severity") not in SEVERITIES:
        problems.append(f"severity {labels.get('severity')!r}: expected one of {', '.join(SEVERITIES)}")
    service, zone, tier, dc = (labels.get(k, "") for k in ("service", "zone", "tier", "dc"))
    if service != EVERY_SERVICE and service not in platform.services:
        problems.append(f"service {service!r} is not a service of the model")
    if zone != EVERY_SERVICE and zone not in platform.zones:
        problems.append(f"zone {zone!r} is not a zone of the model")
    if tier not in platform.tiers:
        problems.append(f"tier {tier!r} is not a tier of the model")
    elif platform.tiers[tier].dc != dc:
        problems.append(f"dc {dc!r} is not the dc of tier {tier} ({platform.tiers[tier].dc})")
    for name in REQUIRED_ANNOTATIONS:
        if not alert.annotations.get(name):
            problems.append(f"annotation {name!r} is missing")
    for name, text in alert.annotations.items():
        if left := _UNFILLED.findall(text):
            problems.append(f"annotation {name!r}: unknown placeholder {{{left[0]}}} (alerts/rules.yaml)")
    runbook = labels.get("runbook")
    if runbook is not None:
        problems += _runbook(platform, defs, runbook)
    return problems


def _runbook(platform: Platform, defs: Definitions, name: str) -> list[str]:
    if name not in defs.settings.runbooks:
        listed = ", ".join(defs.settings.runbooks) or "none"
        return [f"runbook {name!r} is not listed in alerts/settings.yaml runbooks ({listed})"]
    return []


def _runbook_file(platform: Platform, name: str | None) -> str | None:
    """A runbook the alerts name (and the contract lists) that runbooks/ does not define yet: the
    receiver records such alerts as matching no runbook, so it is said, not refused."""
    folder = platform.source.parent / RUNBOOKS_DIR
    if name is None or not folder.is_dir() or (folder / f"{name}.yaml").is_file():
        return None
    return f"runbook {name!r} is named by alerts but {folder / (name + '.yaml')} does not exist yet"


def dashboard_queries(platform: Platform, directory: Path) -> list[tuple[str, str]]:
    """(where, expr) of every panel query of the generated dashboards."""
    from sre.grafana.build import build
    from sre.grafana.lint import panels

    out = []
    for d in build(platform, directory):
        for panel in panels(d.model):
            for target in panel.get("targets") or []:
                expr: Any = target.get("expr")
                if isinstance(expr, str) and expr.strip():
                    out.append((f"dashboard {d.uid}: panel {panel.get('title', '')!r}", expr))
    return out

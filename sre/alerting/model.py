"""Rules as the generators make them, with the promtool unit-test cases beside each, and their YAML shape."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# `{{ $labels.check }}` in an annotation: Prometheus fills it; the test writer fills it the same way.
_LABEL_TEMPLATE = re.compile(r"\{\{\s*\$labels\.(\w+)\s*\}\}")
# `{service}` (not `{{`): filled at build time.
_PLACEHOLDER = re.compile(r"(?<!\{)\{(\w+)\}(?!\})")


def fill(text: str, values: Mapping[str, str]) -> str:
    """Fill the build-time placeholders of a text; an unknown one is left as written (lint names it)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), " ".join(text.split()))


def render_labels(text: str, labels: Mapping[str, str]) -> str:
    return _LABEL_TEMPLATE.sub(lambda m: labels.get(m.group(1), ""), text)


@dataclass(frozen=True)
class Series:
    """One input series of a unit test: `metric{labels}` and promtool's expanding notation (`0x20`)."""

    metric: str
    labels: Mapping[str, str]
    values: str

    def text(self) -> str:
        inner = ",".join(f'{k}="{v}"' for k, v in self.labels.items())
        return f"{self.metric}{{{inner}}}"


@dataclass(frozen=True)
class Expect:
    """An alert that must be firing at the case's eval time: its name and the labels the expression adds."""

    alert: Alert
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    """One promtool test: input series, when to look, and which alerts (of which names) fire."""

    comment: str
    series: tuple[Series, ...]
    eval_after: int  # seconds
    names: tuple[str, ...]  # alert names checked; every firing alert of these names must be expected
    fires: tuple[Expect, ...] = ()


@dataclass(frozen=True)
class Record:
    record: str
    expr: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def rule(self) -> dict[str, Any]:
        out: dict[str, Any] = {"record": self.record, "expr": self.expr}
        if self.labels:
            out["labels"] = dict(self.labels)
        return out


@dataclass(frozen=True)
class Alert:
    alert: str
    expr: str
    for_: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]

    def rule(self) -> dict[str, Any]:
        return {
            "alert": self.alert,
            "expr": self.expr,
            "for": self.for_,
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
        }


@dataclass
class Group:
    name: str
    interval: str
    rules: list[Record | Alert] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)

    @property
    def alerts(self) -> list[Alert]:
        return [r for r in self.rules if isinstance(r, Alert)]


@dataclass
class RuleFile:
    """One file of prometheus/rules/ and its test file in prometheus/tests/ (same name)."""

    name: str
    groups: list[Group] = field(default_factory=list)

    def rules_doc(self) -> dict[str, Any]:
        return {
            "groups": [
                {"name": g.name, "interval": g.interval, "rules": [r.rule() for r in g.rules]}
                for g in self.groups
                if g.rules
            ]
        }

    def tests_doc(self, rules_path: str) -> dict[str, Any]:
        tests = []
        for group in self.groups:
            for case in group.cases:
                tests.append(_test(group, case))
        return {"rule_files": [rules_path], "evaluation_interval": "1m", "tests": tests}


def _minutes(seconds: int) -> str:
    return f"{-(-seconds // 60)}m"


def _test(group: Group, case: Case) -> dict[str, Any]:
    checks = []
    for name in case.names:
        expected = []
        for e in case.fires:
            if e.alert.alert != name:
                continue
            labels = {"alertname": name, **dict(e.extra), **dict(e.alert.labels)}
            expected.append(
                {
                    "exp_labels": {k: v for k, v in labels.items() if k != "alertname"},
                    "exp_annotations": {k: render_labels(v, labels) for k, v in e.alert.annotations.items()},
                }
            )
        checks.append({"eval_time": _minutes(case.eval_after), "alertname": name, "exp_alerts": expected})
    return {
        "name": f"{group.name}: {case.comment}",
        "interval": "1m",
        "input_series": [{"series": s.text(), "values": s.values} for s in case.series],
        "alert_rule_test": checks,
    }

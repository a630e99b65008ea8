"""PromQL as dashboards write it: selectors with Grafana variables, and a parse check.

Grafana expands its macros and variables before Prometheus sees a query, so the
check substitutes them with values of the same shape and parses the result
with promql-parser (the Prometheus grammar, compiled from Rust).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# Macros that stand for a duration or a number; checked before plain variables.
_DURATION_MACROS = ("__rate_interval", "__interval", "__range")
_NUMBER_MACROS = ("__range_s", "__range_ms", "__interval_ms")
_VARIABLE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::[^\]]*)?\]\]")
# label_values(metric{...}, label), query_result(...): Grafana's variable functions, not PromQL.
_VARIABLE_FUNCTION = re.compile(r"^\s*(label_values|label_names|metrics|query_result)\s*\((.*)\)\s*$", re.S)


def expand(expr: str) -> str:
    """The query as Prometheus would receive it, with placeholders for Grafana's variables."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        if name in _NUMBER_MACROS:
            return "300"
        if name in _DURATION_MACROS:
            return "5m"
        return "placeholder"

    return _VARIABLE.sub(value, expr)


def problem(expr: str) -> str | None:
    """Why the expression does not parse, or None when it does."""
    import promql_parser

    try:
        promql_parser.parse(expand(expr))
    except ValueError as exc:
        return str(exc)
    return None


def variable_query_problem(query: str) -> str | None:
    """A query variable's `label_values(selector, label)`: its selector must parse."""
    found = _VARIABLE_FUNCTION.match(query)
    if not found:
        return problem(query)
    function, args = found.groups()
    if function in ("label_values", "label_names"):
        selector = args.rsplit(",", 1)[0] if "," in args and function == "label_values" else args
        return problem(selector) if selector.strip() else None
    return problem(args) if args.strip() else None


def selector(metric: str, labels: Mapping[str, str] | None = None, **more: str) -> str:
    """`metric{a="b", tier=~"$tier"}`: a value that names a variable matches by regex (multi-value)."""
    items = {**(labels or {}), **more}
    parts = []
    for name, val in items.items():
        if val.startswith("!"):
            parts.append(f'{name}!="{_escape(val[1:])}"')
        elif val.startswith("~"):
            parts.append(f'{name}=~"{_escape(val[1:])}"')
        elif "$" in val:
            parts.append(f'{name}=~"{_escape(val)}"')
        else:
            parts.append(f'{name}="{_escape(val)}"')
    return f"{metric}{{{', '.join(parts)}}}" if parts else metric


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')

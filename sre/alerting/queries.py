"""What a PromQL expression selects: metric names and label matchers, from the parsed expression."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sre.grafana.promql import expand


@dataclass(frozen=True)
class Selected:
    metric: str | None
    labels: tuple[tuple[str, str, str], ...]  # (name, operator, value)


def parse(expr: str) -> Any:
    """The parsed expression, Grafana variables replaced by placeholders; ValueError if it does not parse."""
    import promql_parser

    return promql_parser.parse(expand(expr))


def selectors(expr: str) -> list[Selected]:
    return list(_walk(parse(expr)))


def _walk(node: Any) -> Iterator[Selected]:
    kind = type(node).__name__
    if kind == "VectorSelector":
        found = [(m.name, str(m.op).rsplit(".", 1)[-1], m.value) for m in node.matchers.matchers]
        name = node.name or next((v for n, op, v in found if n == "__name__" and op == "Equal"), None)
        yield Selected(name, tuple(found))
        return
    for attr in ("lhs", "rhs", "expr", "param", "vector_selector"):
        child = getattr(node, attr, None)
        if child is not None and not isinstance(child, str | int | float):
            yield from _walk(child)
    for child in getattr(node, "args", None) or []:
        yield from _walk(child)

"""The byte-stable JSON form of every generated artifact: sorted keys, two-space indent, a final newline.

orjson writes exactly what `json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False)` writes,
about ten times faster: the standard library falls back to its pure-Python encoder whenever
`indent` is given, which was most of the time of a large build.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

_PRETTY = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS


def pretty(value: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """Sorted keys, two-space indent, one trailing newline: the same value always gives the same bytes.
    Objects that know their JSON form are written as `default(obj)` returns it."""
    return orjson.dumps(value, default=default, option=_PRETTY) + b"\n"


def parse(data: bytes) -> Any:
    return orjson.loads(data)


def canonical(value: Any) -> bytes:
    """Sorted keys, no whitespace: the form a content hash is taken of."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def plain(value: Any, default: Callable[[Any], Any]) -> Any:
    """Objects that know their JSON form (`default(obj)`) turned into plain dicts, lists and scalars."""
    return orjson.loads(orjson.dumps(value, default=default))

"""Read YAML files into pydantic models with `file:line: field.path: message` errors.

Every definition file of the project (platform.yaml, environment files, probe
definitions, ...) goes through here, so every mistake reads the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from sre.errors import InputError
from sre.safefile import EXCERPT, YAML_LIMIT, excerpt, read_text, short_repr

PathKey = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)

MAX_PROBLEMS = 20
# Aliases let a few hundred bytes stand for billions of values ("billion laughs"): every value
# reached again through an alias counts, so the walk, the model and its JSON all stay small.
MAX_ALIASED_VALUES = 100_000
MAX_DEPTH = 64
MAX_MESSAGE = 300
# libyaml composes ten times faster and keeps the same marks.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Problem:
    path: PathKey
    message: str
    line: int | None = None  # when the path alone does not pin the line (a duplicate key)


@dataclass
class Document:
    """Plain data from a YAML file, with the line of every key and list item."""

    source: Path
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line(self, path: PathKey) -> int:
        # The deepest known ancestor: a missing field points at its parent mapping.
        for cut in range(len(path), -1, -1):
            found = self.lines.get(path[:cut])
            if found is not None:
                return found
        return 1

    def fail(self, problems: Iterable[Problem]) -> InputError:
        rows = sorted(
            {(p.line or self.line(p.path), format_path(p.path), _one_line(p.message)) for p in problems}
        )
        text = [f"{self.source}:{line}: {where + ': ' if where else ''}{msg}" for line, where, msg in rows]
        if len(text) > MAX_PROBLEMS:
            text = [*text[:MAX_PROBLEMS], f"{self.source}: ... and {len(text) - MAX_PROBLEMS} more"]
        return InputError("\n".join(text))


def _one_line(message: str) -> str:
    """A problem as one short line, whatever input a validator quoted in it (the last safeguard)."""
    if not message.isprintable():
        message = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 3] + "..."


def format_path(path: Sequence[str | int]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            # A key is input too: shown by its start only, control characters escaped (a line
            # separator in a key would otherwise split one problem into two lines).
            name = part if len(part) <= EXCERPT else part[:EXCERPT] + "..."
            if not name.isprintable():
                name = repr(name)[1:-1]
            out += f".{name}" if out else name
    return out


def read_document(source: Path, *, require_mapping: bool = True) -> Document:
    text = read_text(source, limit=YAML_LIMIT)
    return parse_document(source, text, require_mapping=require_mapping)


class _Refused(Exception):
    def __init__(self, node: yaml.Node, message: str) -> None:
        super().__init__(message)
        self.node = node


def parse_document(source: Path, text: str, *, require_mapping: bool = True) -> Document:
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.context_mark and exc.context_mark.line + 1 != line:
            # The parser notices late; the construct it was reading is where the mistake usually is.
            what += f" ({exc.context} at line {exc.context_mark.line + 1})"
        raise InputError(f"{source}:{line}: YAML syntax error: {what}") from None
    except yaml.YAMLError as exc:
        # A ReaderError (a control character, say) has no mark; its first line says what is wrong.
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{source}:1: YAML error: {first}") from None
    if node is None:
        raise InputError(f"{source}:1: the file is empty; expected a mapping")
    doc = Document(source=source, data=None)
    problems: list[Problem] = []
    try:
        _index(node, (), doc.lines, problems, _Walk())
    except _Refused as exc:
        raise InputError(f"{source}:{exc.node.start_mark.line + 1}: {exc}") from None
    if problems:
        raise doc.fail(problems)
    if require_mapping and not isinstance(node, yaml.MappingNode):
        got = "a list" if isinstance(node, yaml.SequenceNode) else f"the scalar {excerpt(str(node.value))}"
        raise InputError(
            f"{source}:{node.start_mark.line + 1}: expected a mapping at the top level; got {got}"
        )
    try:
        doc.data = yaml.constructor.SafeConstructor().construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise InputError(f"{source}:{line}: YAML error: {getattr(exc, 'problem', exc)}") from None
    return doc


@dataclass
class _Walk:
    seen: set[int] = field(default_factory=set)  # ids of every node met so far
    again: int = 0  # nodes met again, through an alias
    inside: set[int] = field(default_factory=set)  # ids of the collections being walked


def _index(
    node: yaml.Node, path: PathKey, lines: dict[PathKey, int], problems: list[Problem], walk: _Walk
) -> None:
    if id(node) in walk.seen:
        walk.again += 1
        if walk.again > MAX_ALIASED_VALUES:
            raise _Refused(node, f"aliases expand to more than {MAX_ALIASED_VALUES} values; refused")
    else:
        walk.seen.add(id(node))
    if len(path) > MAX_DEPTH:
        raise _Refused(node, f"nested deeper than {MAX_DEPTH} levels; refusing the file")
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.CollectionNode):
        if id(node) in walk.inside:
            raise _Refused(node, "an alias refers to a value that contains it (a loop); refusing the file")
        walk.inside.add(id(node))
        try:
            _index_children(node, path, lines, problems, walk)
        finally:
            walk.inside.discard(id(node))


def _index_children(
    node: yaml.CollectionNode, path: PathKey, lines: dict[PathKey, int], problems: list[Problem], walk: _Walk
) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(Problem(path, "a key must be a plain value, not a list or mapping", line))
                continue
            key = str(key_node.value)
            if key in seen and key != "<<":
                problems.append(
                    Problem((*path, key), f"duplicate key {excerpt(key)} (first at line {seen[key]})", line)
                )
                continue
            seen[key] = line
            lines[(*path, key)] = line
            _index(value_node, (*path, key), lines, problems, walk)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*path, i), lines, problems, walk)


def validate(model: type[M], doc: Document, *, context: dict[str, Any] | None = None) -> M:
    try:
        return model.model_validate(doc.data, context=context)
    except ValidationError as exc:
        raise doc.fail(pydantic_problems(exc)) from None


def pydantic_problems(exc: ValidationError, prefix: PathKey = ()) -> list[Problem]:
    out: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        if loc and loc[-1] == "[key]":
            loc = loc[:-1]
        out.append(Problem((*prefix, *loc), _humanize(err)))
    return out


def _short(value: Any) -> str:
    return short_repr(value)


_TYPE_NAMES = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a mapping",
    "list_type": "a list",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def _humanize(err: Any) -> str:
    kind = err["type"]
    got = _short(err.get("input"))
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "literal_error":
        options = re.findall(r"'((?:[^'\\]|\\.)*)'|(-?\d+(?:\.\d+)?)", str(ctx.get("expected", "")))
        names = [a or b for a, b in options]
        if len(names) == 1:
            return f"expected {names[0]}; got {got}"
        return f"expected one of {', '.join(names)}; got {got}"
    if kind in _TYPE_NAMES:
        return f"expected {_TYPE_NAMES[kind]}; got {got}"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        if pattern.startswith("^[a-z][a-z0-9_]"):
            return f"expected an id (lowercase letters, digits and _, starting with a letter); got {got}"
        return f"expected text matching {pattern}; got {got}"
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    message = str(err["msg"])
    return f"{message[0].lower()}{message[1:]}; got {got}"

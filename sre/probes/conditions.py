"""Gatus-style conditions of a probe definition: `status == 200`, `latency < 300ms`, `body.$.status == "ok"`.

A condition is `SUBJECT OP VALUE`, parsed and type-checked once when the
definitions load (a ValueError names what is wrong), then evaluated against
what a probe observed. Evaluating never raises: a missing fact is a failed
condition whose text says so, like Gatus' `[STATUS] (503) == 200`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import jmespath
from jmespath.exceptions import JMESPathError

from sre.probes.regex import compile_regex

SubjectType = Literal["number", "duration", "text", "any"]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
_BARE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:/+-]*$")
_CONDITION = re.compile(r"^\s*(\S+)\s+(==|!=|<=|>=|<|>|!contains|contains|matches)\s+(.+?)\s*$")
_SINGLE = re.compile(r'"(?:[^"\\]|\\.)*"|[^,\s]+')
_LITERAL = re.compile(r'\s*("(?:[^"\\]|\\.)*"|[^,\s]+)\s*(?:,|$)')

ORDERING = frozenset({"<", "<=", ">", ">="})


def parse_duration(text: str) -> float:
    """`300ms`, `5s`, `2m`, `26h`, `14d` in seconds."""
    found = _DURATION.match(text.strip())
    if not found:
        raise ValueError(f"expected a duration such as 300ms, 5s, 2m, 26h or 14d; got {text!r}")
    return float(found.group(1)) * _UNITS[found.group(2)]


def format_duration(seconds: float) -> str:
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        if abs(seconds) >= size:
            return f"{seconds / size:.3g}{unit}"
    return f"{seconds * 1000:.3g}ms"


@dataclass(frozen=True, slots=True)
class Evidence:
    """The read-only view a condition is evaluated against: one attempt's facts, phases, body and
    headers (copied from the check's `model.Observation`, which the check fills while it runs), plus
    the attempt's duration and the clock the judge reads."""

    facts: Mapping[str, Any]
    phases: Mapping[str, float]
    duration: float
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)  # names in lower case
    now: float = field(default_factory=time.time)


# name -> (type, reader); `header.X`, `fact.X`, `phase.X` and `body.$.EXPR` take a key.
_MISSING = object()


def _fact(name: str, scale: float = 1.0) -> Any:
    def read(o: Evidence) -> Any:
        value = o.facts.get(name, _MISSING)
        return value * scale if value is not _MISSING and isinstance(value, int | float) else value

    return read


def _cert_expiry(o: Evidence) -> Any:
    after = o.facts.get("cert_not_after")
    return after - o.now if isinstance(after, int | float) else _MISSING


def _body_text(o: Evidence) -> Any:
    return _MISSING if o.body is None else o.body.decode("utf-8", errors="replace")


SUBJECTS: dict[str, tuple[SubjectType, Any]] = {
    "status": ("number", _fact("http_status")),
    "latency": ("duration", lambda o: o.duration),
    "response_time": ("duration", lambda o: o.duration),
    "cert_expiry": ("duration", _cert_expiry),
    "lag": ("duration", _fact("lag_seconds")),
    "lag_bytes": ("number", _fact("lag_bytes")),
    "backup_age": ("duration", _fact("backup_age_hours", 3600.0)),
    "role": ("text", _fact("role")),
    "tls_version": ("text", _fact("tls_version")),
    "tls_cipher": ("text", _fact("tls_cipher")),
    "http_version": ("text", _fact("http_version")),
    "ip": ("text", _fact("ip")),
    "body": ("text", _body_text),
}
KEYED = ("header.", "fact.", "phase.", "body.$.")


@dataclass(frozen=True, slots=True)
class Operand:
    """The value side of a condition (`200`, `300ms`, `"ok"`), as written and as a number if it is one."""

    raw: str  # as written, quotes removed
    number: float | None  # a number, or a duration in seconds


@dataclass(frozen=True)
class Condition:
    text: str
    subject: str
    kind: SubjectType
    op: str
    values: tuple[Operand, ...]  # several for `any(a, b)`
    key: str | None = None
    _path: Any = None  # compiled JMESPath for body.$.EXPR
    _regex: Any = None  # RE2

    def __str__(self) -> str:
        return self.text

    @classmethod
    def parse(cls, text: str) -> Condition:
        found = _CONDITION.match(text)
        if not found:
            raise ValueError(
                f"condition {text!r}: expected SUBJECT OP VALUE, such as `status == 200` or `latency < 300ms`"
            )
        subject, op, value_text = found.groups()
        kind, key, path = _subject(subject, text)
        values = _values(value_text, text)
        regex = None
        if op == "matches":
            try:
                regex = compile_regex(values[0].raw)  # RE2: linear time, whatever the body
            except ValueError as exc:
                raise ValueError(f"condition {text!r}: bad regular expression: {exc}") from None
        if len(values) > 1 and op not in ("==", "!="):
            raise ValueError(f"condition {text!r}: any(...) only goes with == or !=")
        for value in values:
            _check_types(kind, op, value, subject, text)
        return cls(text.strip(), subject, kind, op, values, key, path, regex)

    def evaluate(self, seen: Evidence) -> tuple[bool, str]:
        """Whether it holds, and the text with what was seen: `status (503) == 200`."""
        actual = self._read(seen)
        if actual is _MISSING:
            return False, f"{self.subject} (not observed) {self.op} {self._value_text()}"
        holds = self._holds(actual)
        return holds, f"{self.subject} ({self._show(actual)}) {self.op} {self._value_text()}"

    def _read(self, seen: Evidence) -> Any:
        if self.key is None:
            return SUBJECTS[self.subject][1](seen)
        if self.subject.startswith("header."):
            return seen.headers.get(self.key, _MISSING)
        if self.subject.startswith("fact."):
            return seen.facts.get(self.key, _MISSING)
        if self.subject.startswith("phase."):
            return seen.phases.get(self.key, _MISSING)
        if seen.body is None:
            return _MISSING
        try:
            doc = json.loads(seen.body)
        except ValueError:
            return _MISSING
        found = self._path.search(doc)
        return _MISSING if found is None else found

    def _holds(self, actual: Any) -> bool:
        if self.op in ("==", "!="):
            same = any(_equal(actual, v, self.kind) for v in self.values)
            return same if self.op == "==" else not same
        value = self.values[0]
        if self.op in ORDERING:
            if not isinstance(actual, int | float) or isinstance(actual, bool) or value.number is None:
                return False
            number = float(actual)
            return {
                "<": number < value.number,
                "<=": number <= value.number,
                ">": number > value.number,
                ">=": number >= value.number,
            }[self.op]
        if self.op == "matches":
            assert self._regex is not None
            return self._regex.search(_text(actual)) is not None
        # A JSON list holds an item equal to the value (3 matches 3 and 3.0); text holds a substring.
        if isinstance(actual, list):
            inside = any(_equal(item, value, self.kind) for item in actual)
        else:
            inside = value.raw in _text(actual)
        return inside if self.op == "contains" else not inside

    def _value_text(self) -> str:
        if len(self.values) == 1:
            return _quote(self.values[0].raw) if self.op != "matches" else self.values[0].raw
        return "any(" + ", ".join(_quote(v.raw) for v in self.values) + ")"

    def _show(self, actual: Any) -> str:
        if self.kind == "duration" and isinstance(actual, int | float):
            return format_duration(float(actual))
        text = _text(actual)
        return text if len(text) <= 60 else text[:57] + "..."


def _subject(subject: str, text: str) -> tuple[SubjectType, str | None, Any]:
    if subject in SUBJECTS:
        return SUBJECTS[subject][0], None, None
    for prefix in KEYED:
        if subject.startswith(prefix) and len(subject) > len(prefix):
            key = subject[len(prefix) :]
            if prefix == "body.$.":
                try:
                    return "any", key, jmespath.compile(key)
                except JMESPathError as exc:
                    detail = str(exc).splitlines()[0]
                    raise ValueError(f"condition {text!r}: bad JSON path {key!r}: {detail}") from None
            if prefix == "header.":
                return "text", key.lower(), None
            return ("duration" if prefix == "phase." else "any"), key, None
    known = ", ".join([*SUBJECTS, "header.NAME", "fact.NAME", "phase.NAME", "body.$.PATH"])
    raise ValueError(f"condition {text!r}: unknown subject {subject!r}; expected one of {known}")


def _values(value_text: str, text: str) -> tuple[Operand, ...]:
    if not value_text.startswith("any("):
        if not _SINGLE.fullmatch(value_text):
            raise ValueError(
                f'condition {text!r}: one value expected; quote text with spaces as "...", '
                "use any(a, b) for several"
            )
        return (_literal(value_text, text),)
    if not value_text.endswith(")"):
        raise ValueError(f"condition {text!r}: any( is not closed")
    inner = value_text[4:-1]
    values: list[Operand] = []
    pos = 0
    while pos < len(inner):
        found = _LITERAL.match(inner, pos)
        if not found or found.end() == pos:
            raise ValueError(f"condition {text!r}: cannot read the value {inner[pos:]!r}")
        values.append(_literal(found.group(1), text))
        pos = found.end()
    if not values:
        raise ValueError(f"condition {text!r}: a value is missing")
    return tuple(values)


def _literal(token: str, text: str) -> Operand:
    if token.startswith('"'):
        try:
            return Operand(json.loads(token), None)
        except ValueError:
            raise ValueError(f"condition {text!r}: bad quoted string {token}") from None
    if _NUMBER.match(token):
        return Operand(token, float(token))
    if _DURATION.match(token):
        return Operand(token, parse_duration(token))
    if _BARE.match(token):
        return Operand(token, None)
    raise ValueError(f'condition {text!r}: cannot read the value {token!r}; quote text as "..."')


def _check_types(kind: SubjectType, op: str, value: Operand, subject: str, text: str) -> None:
    is_duration = bool(_DURATION.match(value.raw))
    if kind == "duration" and op != "matches" and not is_duration:
        raise ValueError(f"condition {text!r}: {subject} is a duration; give a unit, such as 300ms or 14d")
    if kind == "number" and op in ORDERING | {"==", "!="} and value.number is None:
        raise ValueError(f"condition {text!r}: {subject} is a number; got {value.raw!r}")
    if op in ORDERING and kind in ("text",):
        raise ValueError(f"condition {text!r}: {subject} is text; use ==, !=, contains or matches")
    if op in ORDERING and value.number is None:
        raise ValueError(f"condition {text!r}: {op} needs a number or a duration; got {value.raw!r}")
    if kind in ("number", "duration") and op in ("contains", "!contains"):
        raise ValueError(f"condition {text!r}: {subject} is a {kind}; contains is for text")


def _equal(actual: Any, value: Operand, kind: SubjectType) -> bool:
    if isinstance(actual, bool):
        return value.raw.lower() == str(actual).lower()
    if isinstance(actual, int | float) and value.number is not None and kind != "text":
        return float(actual) == value.number
    return _text(actual) == value.raw


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def _quote(raw: str) -> str:
    return raw if _NUMBER.match(raw) or _DURATION.match(raw) or _BARE.match(raw) else json.dumps(raw)

"""Fuzz the condition language: parsing gives a Condition or a ValueError, evaluating never raises.

Conditions are written in probes/*.yaml and judged against whatever a server sent back, so both
halves face hostile input: the text from the definitions, and the evidence (facts, headers, a
body of any bytes) from the network.

A short run is part of every test run; `make fuzz` (HYPOTHESIS_PROFILE=fuzz) runs many more.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sre.probes.conditions import KEYED, SUBJECTS, Condition, Evidence

FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
OPS = ["==", "!=", "<", "<=", ">", ">=", "contains", "!contains", "matches"]

words = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20)
bare = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.:/+-]{0,12}", fullmatch=True)
numbers = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda f: f"{f:.3f}"),
)
durations = st.builds(
    lambda n, u: f"{n}{u}", st.integers(0, 10**5), st.sampled_from(["ms", "s", "m", "h", "d"])
)
quoted = words.map(json.dumps)
single = st.one_of(numbers, durations, quoted, bare, words)
value_text = st.one_of(
    single, st.lists(single, min_size=0, max_size=4).map(lambda vs: f"any({', '.join(vs)})")
)
subjects = st.one_of(
    st.sampled_from(sorted(SUBJECTS)),
    st.builds(lambda prefix, key: prefix + key, st.sampled_from(KEYED), bare | words),
)
grammar = st.builds(lambda s, op, v: f"{s} {op} {v}", subjects, st.sampled_from(OPS), value_text)
condition_text = st.one_of(grammar, words, st.text(max_size=60))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | words,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(words, inner, max_size=3),
    max_leaves=10,
)
evidence = st.builds(
    Evidence,
    facts=st.dictionaries(
        st.sampled_from(["http_status", "lag_seconds", "lag_bytes", "backup_age_hours", "role", "tls_version",
                         "tls_cipher", "http_version", "ip", "cert_not_after"]) | words,
        json_values,
        max_size=6,
    ),
    phases=st.dictionaries(words, st.floats(allow_nan=True), max_size=3),
    duration=st.floats(allow_nan=True, allow_infinity=True),
    body=st.none() | st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()),
    headers=st.dictionaries(words.map(str.lower), words, max_size=3),
    now=st.floats(min_value=0, max_value=4e9),
)  # fmt: skip


def parse(text: str) -> Condition | None:
    try:
        return Condition.parse(text)
    except ValueError as exc:
        assert str(exc).startswith("condition "), str(exc)
        return None


def safe_for_evaluation(condition: Condition) -> bool:
    # A regex of the fuzzer's own making can backtrack for ever on a crafted body; bounding that is
    # the regex engine's job (see the probe verdict work), not this property's.
    return condition.op != "matches" or re.fullmatch(r"[\w .:/-]*", condition.values[0].raw) is not None


@FUZZ
@given(text=condition_text)
def test_parsing_gives_a_condition_or_a_value_error(text: str) -> None:
    parse(text)


@FUZZ
@given(text=grammar)
def test_a_parsed_condition_reads_back_as_itself(text: str) -> None:
    condition = parse(text)
    if condition is None:
        return
    again = Condition.parse(str(condition))
    assert (again.subject, again.op, again.values, again.key) == (
        condition.subject,
        condition.op,
        condition.values,
        condition.key,
    )


@FUZZ
@given(text=grammar, seen=evidence)
def test_evaluating_never_raises(text: str, seen: Evidence) -> None:
    condition = parse(text)
    if condition is None or not safe_for_evaluation(condition):
        return
    holds, shown = condition.evaluate(seen)
    assert isinstance(holds, bool)
    assert shown.startswith(condition.subject)
    # What was seen is cut short: a huge body or fact never makes a huge message.
    assert len(shown) <= 6 * len(condition.text) + 80


@FUZZ
@given(value=json_values, op=st.sampled_from(OPS), literal=single)
def test_json_path_conditions_on_any_body(value: Any, op: str, literal: str) -> None:
    condition = parse(f"body.$.status {op} {literal}")
    if condition is None or not safe_for_evaluation(condition):
        return
    body = json.dumps({"status": value}).encode()
    holds, _ = condition.evaluate(Evidence(facts={}, phases={}, duration=0.1, body=body))
    assert isinstance(holds, bool)

"""Conditions: parsed and type-checked at load, evaluated against what a probe saw."""

from __future__ import annotations

import json

import pytest

from sre.probes.conditions import Condition, Evidence, parse_duration


def seen(**facts: object) -> Evidence:
    body = facts.pop("body", None)
    headers = facts.pop("headers", {})
    return Evidence(
        facts=facts,
        phases={"tls": 0.004},
        duration=float(facts.pop("duration", 0.120)),  # type: ignore[arg-type]
        body=body if isinstance(body, bytes) or body is None else json.dumps(body).encode(),
        headers=headers,  # type: ignore[arg-type]
        now=1_000_000.0,
    )


@pytest.mark.parametrize(
    ("text", "observed", "holds"),
    [
        ("status == 200", seen(http_status=200), True),
        ("status == 200", seen(http_status=503), False),
        ("status == any(429, 473)", seen(http_status=473), True),
        ("status != any(500, 503)", seen(http_status=200), True),
        ("latency < 300ms", seen(duration=0.12), True),
        ("latency < 100ms", seen(duration=0.12), False),
        ("cert_expiry > 14d", seen(cert_not_after=1_000_000 + 30 * 86400), True),
        ("cert_expiry > 14d", seen(cert_not_after=1_000_000 + 3 * 86400), False),
        ('body.$.status == "ok"', seen(body={"status": "ok"}), True),
        ("body.$.status == ok", seen(body={"status": "down"}), False),
        ("body.$.items[0].n >= 2", seen(body={"items": [{"n": 3}]}), True),
        ('body contains "<div id=\\"app\\">"', seen(body=b'<div id="app"></div>'), True),
        ('header.content-type contains "json"', seen(headers={"content-type": "application/json"}), True),
        ("lag < 5s", seen(lag_seconds=1.5), True),
        ("lag < 5s", seen(lag_seconds=7), False),
        ("role == replica", seen(role="replica"), True),
        ("tls_version == 1.3", seen(tls_version="1.3"), True),
        ("tls_version == 1.3", seen(tls_version="1.2"), False),
        ("fact.writable == true", seen(writable=True), True),
        ("phase.tls < 10ms", seen(), True),
        ("backup_age < 26h", seen(backup_age_hours=30), False),
        ('body matches "^<!doctype"', seen(body=b"<!doctype html>"), True),
        ("body !contains error", seen(body=b"all fine"), True),
        # A JSON list holds numbers, booleans and text as JSON does: `contains` compares like `==`.
        ("body.$.ids contains 3", seen(body={"ids": [1, 2, 3]}), True),
        ("body.$.ids contains 3", seen(body={"ids": [1, 2, 30]}), False),
        ("body.$.ids !contains 4", seen(body={"ids": [1, 2, 3]}), True),
        ("body.$.ratios contains 0.5", seen(body={"ratios": [0.25, 0.5]}), True),
        ("body.$.flags contains true", seen(body={"flags": [False, True]}), True),
        ('body.$.names contains "b"', seen(body={"names": ["a", "b"]}), True),
        ("body.$.names contains b", seen(body={"names": ["ab", "c"]}), False),  # an item, not a substring
    ],
)
def test_evaluate(text: str, observed: Evidence, holds: bool) -> None:
    assert Condition.parse(text).evaluate(observed)[0] is holds


def test_resolved_text_shows_what_was_seen() -> None:
    ok, text = Condition.parse("status == 200").evaluate(seen(http_status=503))
    assert not ok
    assert text == "status (503) == 200"
    ok, text = Condition.parse("latency < 100ms").evaluate(seen(duration=0.25))
    assert text == "latency (250ms) < 100ms"


def test_missing_fact_fails_the_condition() -> None:
    ok, text = Condition.parse("lag < 5s").evaluate(seen())
    assert not ok
    assert "not observed" in text
    ok, _ = Condition.parse("body.$.status == ok").evaluate(seen(body=b"not json"))
    assert not ok


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("status = 200", "expected SUBJECT OP VALUE"),
        ("speed < 3", "unknown subject 'speed'"),
        ("latency < 300", "give a unit"),
        ("status == ok", "status is a number"),
        ("role < 3", "role is text"),
        ("body.$.a..b == 1", "bad JSON path"),
        ('body matches "("', "bad regular expression"),
        ("status < any(1, 2)", "any(...) only goes with == or !="),
        ("body contains two words", "one value expected"),
        ("status == any(200", "not closed"),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        Condition.parse(text)


def test_durations() -> None:
    assert parse_duration("300ms") == pytest.approx(0.3)
    assert parse_duration("14d") == 14 * 86400
    with pytest.raises(ValueError, match="duration"):
        parse_duration("5 sec")

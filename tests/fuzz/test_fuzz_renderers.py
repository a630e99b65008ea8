"""Fuzzing the result renderers: any text a server can put into a result, valid output out.

Results are built from arbitrary Unicode (lone surrogates included, as bytes that were not UTF-8
decode to) and arbitrary fact values (NaN, infinities); each format must stay itself: JUnit parses
as XML, the Prometheus exposition parses and encodes as UTF-8, JSON parses without NaN and reads
back, the table holds no terminal control characters.
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console

from sre.probes.model import Reason, Result, Status
from sre.probes.output import jsonfile, junit, prometheus, table

# Text as a server's bytes become it: any code point, and undecodable bytes as surrogates.
texts = st.one_of(
    st.text(max_size=30),
    st.binary(max_size=30).map(lambda b: b.decode("utf-8", "surrogateescape")),
    st.sampled_from(["\x1b[2J", "[/bold]", "[link=file:///etc/passwd]x", "\ud800", "\ufffe", "]]>", "\r\n"]),
)
numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2**63), 2**63))
FACT_NAMES = ("tls_cipher", "tls_version", "grpc_status", "http_version", "role", "dns_rcode", "ip", "other")
NUMBER_FACTS = ("http_status", "lag_seconds", "cert_not_after", "backup_age_hours", "http_content_length")
facts = st.fixed_dictionaries(
    {},
    optional={
        **{name: texts for name in FACT_NAMES},
        **{name: numbers for name in NUMBER_FACTS},
        "dns_answers": st.lists(texts, max_size=3),
        "nested": st.dictionaries(texts, st.one_of(texts, numbers), max_size=3),
    },
)


@st.composite
def results(draw: st.DrawFn) -> Result:
    return Result(
        service=draw(texts),
        check=draw(st.sampled_from(["https", "http", "tcp", "postgres"]) | texts),
        zone=draw(texts),
        tier=draw(texts),
        dc=draw(texts),
        endpoint=draw(texts),
        vantage=draw(texts),
        status=draw(st.sampled_from(list(Status))),
        reason=draw(st.none() | st.sampled_from(list(Reason))),
        message=draw(texts),
        duration_seconds=draw(st.floats(0, 1e6)),
        attempts=draw(st.integers(0, 10)),
        facts=draw(facts),
        phases=draw(st.dictionaries(texts, st.floats(0, 1e3), max_size=3)),
    )


batches = st.lists(results(), min_size=1, max_size=4)


def _tiers(rs: list[Result]) -> list[str]:
    return list(dict.fromkeys(r.tier for r in rs))


@given(batches)
def test_junit_is_always_well_formed(rs: list[Result]) -> None:
    ET.fromstring(junit.render(rs, _tiers(rs)).encode("utf-8"))


@given(batches)
def test_prometheus_always_parses(rs: list[Result]) -> None:
    text = prometheus.render(rs)
    text.encode("utf-8")
    list(text_string_to_metric_families(text))


@given(batches)
def test_json_always_parses_and_reads_back(rs: list[Result]) -> None:
    text = jsonfile.render(rs, vantage="v", environment="e", started_at=0.0)

    def refuse(name: str) -> Any:
        raise AssertionError(f"{name} is not JSON")

    doc = json.loads(text, parse_constant=refuse)
    assert len(doc["results"]) == len(rs)
    assert len(jsonfile.parse(text, "fuzz").results) == len(rs)


@given(batches)
def test_the_table_holds_no_control_characters(rs: list[Result]) -> None:
    buffer = io.StringIO()
    Console(file=buffer, width=200, color_system=None).print(table.render(rs, _tiers(rs), []))
    out = buffer.getvalue()
    assert not any((ord(ch) < 32 and ch != "\n") or 0x7F <= ord(ch) <= 0x9F for ch in out)

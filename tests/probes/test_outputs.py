"""Outputs: JSON round-trips, JUnit parses, the Prometheus exposition passes promtool."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET

import pytest
from prometheus_client.parser import text_string_to_metric_families
from requirements import need_binary

from sre.probes.model import Reason, Result, Status
from sre.probes.output import jsonfile, junit, prometheus
from sre.probes.verdict import tier_verdict


def result(service: str, tier: str, status: Status, reason: Reason | None = None, **facts: object) -> Result:
    return Result(
        service=service,
        check="https",
        zone="dmz",
        tier=tier,
        dc={"primary": "fra1", "secondary": "ams1", "tertiary": "dub1"}[tier],
        endpoint=f"https://{service}.{tier}",
        vantage="zone-a",
        status=status,
        reason=reason,
        message=f"{reason}: details" if reason else "",
        started_at=1_700_000_000.0,
        duration_seconds=0.0123,
        facts=dict(facts),
        phases={"resolve": 0.001, "connect": 0.002, "tls": 0.004, "processing": 0.003, "transfer": 0.0001},
    )


RESULTS = [
    result(
        "api",
        "primary",
        Status.ok,
        http_status=200,
        tls_version="1.3",
        tls_cipher="TLS_AES_256_GCM_SHA384",
        cert_not_after=1_800_000_000,
        http_version="1.1",
        ip="127.0.0.1",
        cert_sans=["api"],
    ),
    result(
        "cdn", "primary", Status.failed, Reason.tls_version_below_policy, tls_version="1.2", http_status=200
    ),
    result("api", "secondary", Status.degraded, Reason.passed_on_retry, http_status=200),
    result("api", "tertiary", Status.expected_down, Reason.connect_refused),
    result("vault", "tertiary", Status.skipped, Reason.not_in_environment),
]


def test_json_round_trips() -> None:
    text = jsonfile.render(RESULTS, vantage="zone-a", environment="sandbox", started_at=1.0)
    back = jsonfile.parse(text, "x.json")
    assert back.vantage == "zone-a" and back.environment == "sandbox"
    assert back.results == RESULTS


def test_json_rejects_other_files() -> None:
    with pytest.raises(Exception, match=r"x\.json: not a `sre probe` JSON result file"):
        jsonfile.parse('{"version": 1, "results": [{"service": 1}]}', "x.json")


def test_junit_parses_with_one_case_per_probe() -> None:
    root = ET.fromstring(junit.render(RESULTS, ["primary", "secondary", "tertiary"]))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("5", "1", "2")
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["probe.primary", "probe.secondary", "probe.tertiary"]
    [failure] = root.iter("failure")
    assert failure.get("type") == "tls_version_below_policy"
    cases = {c.get("name"): c for c in suites["probe.primary"].findall("testcase")}
    assert cases["cdn/https"].get("classname") == "primary.dmz"
    assert cases["api/https"].find("failure") is None


def test_prometheus_uses_blackbox_names_and_our_labels() -> None:
    text = prometheus.render(RESULTS)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name in (
        "probe_success",
        "probe_duration_seconds",
        "probe_http_status_code",
        "probe_http_duration_seconds",
        "probe_ssl_earliest_cert_expiry",
        "probe_tls_version_info",
        "probe_failure_reason",
    ):
        assert name in families, name
    success = {(s.labels["service"], s.labels["tier"]): s.value for s in families["probe_success"].samples}
    assert success == {
        ("api", "primary"): 1,
        ("cdn", "primary"): 0,
        ("api", "secondary"): 1,
        ("api", "tertiary"): 0,
    }
    [tls12] = [s for s in families["probe_tls_version_info"].samples if s.labels["service"] == "cdn"]
    assert tls12.labels["version"] == "TLS 1.2"
    reasons = {s.labels["reason"] for s in families["probe_failure_reason"].samples}
    assert reasons == {"tls_version_below_policy", "passed_on_retry", "connect_refused"}
    phases = {s.labels["phase"] for s in families["probe_http_duration_seconds"].samples}
    assert phases == {"resolve", "connect", "tls", "processing", "transfer"}
    first = families["probe_success"].samples[0].labels
    assert set(first) == {"service", "check", "zone", "tier", "dc", "vantage"}


def test_unlabelled_exposition_for_the_exporter() -> None:
    text = prometheus.render(RESULTS[:1], labelled=False)
    assert "probe_success 1.0" in text


def test_promtool_accepts_the_exposition() -> None:
    done = subprocess.run(
        [need_binary("promtool"), "check", "metrics"],
        input=prometheus.render(RESULTS),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_tier_verdicts() -> None:
    assert tier_verdict("primary", RESULTS[:1]).word == "healthy"
    degraded = tier_verdict("primary", RESULTS[:2])
    assert degraded.word == "degraded" and "cdn (tls_version_below_policy)" in degraded.why
    down = tier_verdict("tertiary", RESULTS[3:])
    assert (down.word, down.expected) == ("down", True)
    assert tier_verdict("x", RESULTS[4:]).word == "not probed"
    failed = result("db", "primary", Status.failed, Reason.timeout)
    assert tier_verdict("primary", [failed]).word == "down"


def test_dr_readiness_series_for_the_dashboards() -> None:
    """The DR dashboard reads replica lag and the cold copy's backup age from the probe exposition."""
    replica = result("db", "secondary", Status.ok, lag_seconds=1.5)
    cold = result("db", "tertiary", Status.ok, backup_age_hours=2.0)
    families = {f.name: f for f in text_string_to_metric_families(prometheus.render([replica, cold]))}
    [lag] = families["probe_replication_lag_seconds"].samples
    assert (lag.labels["tier"], lag.value) == ("secondary", 1.5)
    [age] = families["probe_backup_age_seconds"].samples
    assert (age.labels["tier"], age.value) == ("tertiary", 7200.0)

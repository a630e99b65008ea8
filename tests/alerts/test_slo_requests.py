"""SLOs from a service's own request counters (`slo.requests` in platform.yaml): SLI records beside
the probes', burn-rate alerts, their generated promtool cases, and bad selectors refused at load."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from alerts_support import built, copy_alerts, need

from sre.alerting.build import RULES, TESTS, write
from sre.cli.main import main

SLO_ID = "ext_api-primary-requests"
ERRORS = 'http_server_request_duration_seconds_count{service="ext_api",tier="primary",http_response_status_code=~"5.."}'


def test_requests_sli_records_and_alerts_sit_beside_the_probe_slis() -> None:
    doc = yaml.safe_load(built()[RULES / "ext_api-slo.yml"])
    (group,) = [g for g in doc["groups"] if g["name"] == "ext_api-primary-slo"]
    records = {(r["record"], r["labels"]["slo_id"]): r["expr"] for r in group["rules"] if "record" in r}
    five = records[("slo:sli_error:ratio_rate5m", SLO_ID)]
    assert five == (
        f"(sum(rate({ERRORS}[5m])) or vector(0)) / "
        'sum(rate(http_server_request_duration_seconds_count{service="ext_api",tier="primary"}[5m]))'
    )
    assert ("slo:sli_error:ratio_rate5m", "ext_api-primary-availability") in records  # the probes' SLI
    assert records[("slo:error_budget:ratio", SLO_ID)] == "vector(0.0005)"
    alerts = [r for r in group["rules"] if r.get("alert") == "RequestErrorBudgetBurn"]
    assert [a["labels"]["severity"] for a in alerts] == ["page", "ticket"]
    assert all(a["labels"]["slo"] == "requests" and a["labels"]["service"] == "ext_api" for a in alerts)


def test_requests_slo_has_fast_slow_and_healthy_cases() -> None:
    doc = yaml.safe_load(built()[TESTS / "ext_api-slo.yml"])
    cases = {t["name"].split(": ", 1)[1]: t for t in doc["tests"] if "RequestErrorBudgetBurn" in t["name"]}
    fired = {
        name: [a["exp_labels"]["severity"] for a in case["alert_rule_test"][0]["exp_alerts"]]
        for name, case in cases.items()
    }
    assert fired["RequestErrorBudgetBurn: fast burn pages"] == ["page"]
    assert fired["RequestErrorBudgetBurn: slow burn opens a ticket only"] == ["ticket"]
    assert fired["RequestErrorBudgetBurn: healthy, nothing fires"] == []
    series = [s["series"] for s in cases["RequestErrorBudgetBurn: fast burn pages"]["input_series"]]
    assert any('http_response_status_code="500"' in s for s in series)


def test_promtool_passes_the_generated_requests_cases(tmp_path: Path) -> None:
    need("promtool")
    write(built(), tmp_path)
    done = subprocess.run(
        ["promtool", "test", "rules", str(tmp_path / TESTS / "ext_api-slo.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("errors", "says"),
    [
        ("http_requests_total{code=5xx}", "cannot read the matcher"),
        ('http_requests_total{service="ext_api"}', "leave out service="),
        ("not a selector", "expected a series selector"),
    ],
)
def test_a_bad_selector_is_one_line_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], errors: str, says: str
) -> None:
    platform_file = copy_alerts(tmp_path)
    text = platform_file.read_text()
    start = text.index("        errors: ")
    end = text.index("\n", start)
    platform_file.write_text(text[:start] + f"        errors: '{errors}'" + text[end:])
    with pytest.raises(SystemExit) as done:
        main(["alerts", "build", "--platform", str(platform_file), "--out", str(tmp_path / "out")])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert str(platform_file) in err and says in err and "Traceback" not in err


def test_errors_must_be_a_part_of_total(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    platform_file = copy_alerts(tmp_path)
    text = platform_file.read_text()
    platform_file.write_text(
        text.replace(
            "total: http_server_request_duration_seconds_count\n",
            'total: http_server_request_duration_seconds_count{http_response_status_code="200"}\n',
        )
    )
    with pytest.raises(SystemExit) as done:
        main(["alerts", "build", "--platform", str(platform_file), "--out", str(tmp_path / "out")])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert "services.ext_api.slo.requests: errors must select a part of total" in err
    assert "Traceback" not in err

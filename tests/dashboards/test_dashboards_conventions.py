"""What users of the Grafana mixins expect of generated boards: a `job` selector on the chosen data
source, read-only boards that say why, a description on every panel, null base threshold steps, a
configurable timezone; and lint refusing a board that breaks one of them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from dashboards_support import ROOT
from sre_cli import run

from sre.grafana.board import GENERATED_NOTE
from sre.grafana.build import BuiltDashboard, build
from sre.grafana.lint import panels
from sre.platform.loader import load_platform

PROBE_SERIES = re.compile(r"\bprobe_[a-z_]+\{[^}]*\}")


@pytest.fixture(scope="module")
def seed() -> list[BuiltDashboard]:
    return build(load_platform(ROOT / "platform.yaml"), ROOT / "dashboards")


def _variables(model: dict) -> dict:  # type: ignore[type-arg]
    return {v["name"]: v for v in model["templating"]["list"]}


def test_every_board_has_a_job_variable_on_its_data_source_and_probe_queries_select_it(
    seed: list[BuiltDashboard],
) -> None:
    probe_queries = 0
    for dashboard in seed:
        variables = _variables(dashboard.model)
        names = list(variables)
        assert names[:2] == ["datasource", "job"], dashboard.uid  # the job right after the data source
        job = variables["job"]
        assert job["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert job["query"] == "label_values(probe_success, job)"
        assert job["regex"] == "/^(?:.+)$/"
        assert job["includeAll"] is False  # "All" would count a target probed by two exporters twice
        for panel in panels(dashboard.model):
            for target in panel.get("targets", []):
                for series in PROBE_SERIES.findall(target["expr"]):
                    assert 'job=~"$job"' in series, (dashboard.uid, panel["title"], series)
                    probe_queries += 1
    assert probe_queries > 200


def test_the_job_selector_comes_from_the_settings(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = project / "dashboards" / "settings.yaml"
    settings.write_text(
        settings.read_text().replace(
            '  probe_jobs: ".+"\n', "  probe_jobs: sre-probe|blackbox\n  probe_job: sre-probe\n"
        )
    )
    assert run(["dashboards", "build", "--out", "out"], capsys)[0] == 0
    model = json.loads((project / "out" / "sre-platform" / "sre-platform-probes.json").read_text())
    job = _variables(model)["job"]
    assert job["regex"] == "/^(?:sre-probe|blackbox)$/"
    assert job["current"] == {"selected": True, "text": ["sre-probe"], "value": ["sre-probe"]}


def test_a_bad_job_regex_in_the_settings_names_the_line(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "dashboards" / "settings.yaml").write_text("selectors:\n  probe_jobs: 'sre-(probe'\n")
    code, _, err = run(["dashboards", "build"], capsys)
    assert code == 2
    assert err.startswith("dashboards/settings.yaml:2: selectors.probe_jobs: ")
    assert "not a regular expression" in err


def test_boards_are_read_only_and_say_why(seed: list[BuiltDashboard]) -> None:
    for dashboard in seed:
        assert dashboard.model["editable"] is False
        assert dashboard.model["description"].endswith(GENERATED_NOTE)
    overview = next(d.model for d in seed if d.uid == "sre-platform-overview")
    assert overview["description"].startswith("acme-platform: every service by DC tier and zone")


def test_every_panel_has_a_description(seed: list[BuiltDashboard]) -> None:
    service = next(d.model for d in seed if d.uid == "sre-service-db_postgres")
    described = [p for p in panels(service) if p["type"] != "row"]
    assert len(described) > 17
    for dashboard in seed:
        for panel in panels(dashboard.model):
            if panel["type"] != "row":
                assert panel["description"].strip(), (dashboard.uid, panel["title"])


def test_threshold_base_steps_are_null(seed: list[BuiltDashboard]) -> None:
    steps = [
        p["fieldConfig"]["defaults"]["thresholds"]["steps"]
        for d in seed
        for p in panels(d.model)
        if "thresholds" in p.get("fieldConfig", {}).get("defaults", {})
    ]
    assert steps and all(s[0]["value"] is None for s in steps)
    assert all(isinstance(step["value"], int | float) for s in steps for step in s[1:])


def test_the_timezone_is_utc_unless_the_settings_say_otherwise(
    seed: list[BuiltDashboard], project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert {d.model["timezone"] for d in seed} == {"utc"}
    settings = project / "dashboards" / "settings.yaml"
    settings.write_text(settings.read_text().replace("timezone: utc", "timezone: Europe/Berlin"))
    assert run(["dashboards", "build", "--out", "out"], capsys)[0] == 0
    zones = {json.loads(p.read_text())["timezone"] for p in (project / "out").rglob("*.json")}
    assert zones == {"Europe/Berlin"}
    settings.write_text("timezone: mars\n")
    code, _, err = run(["dashboards", "build"], capsys)
    assert code == 2 and err.startswith("dashboards/settings.yaml:1: timezone: ")


BROKEN = """
from sre.grafana import JOB, Board, q, selector

def dashboards(ctx):
    fine = ctx.board("fine", "Fine", folder=ctx.platform_folder)
    fine.graph("With job", q(selector("probe_success", job=JOB), "x"), unit="short", description="d")
    fine.graph("Without job", q(selector("probe_success", tier="a"), "x"), unit="short", description="d")
    fine.graph("Undescribed", q("up", "x"), unit="short")
    fine.graph("Numeric base", q("up", "x"), unit="short", description="d", thresholds=[(None, "red")])
    fine._sdk._internal.panels[-1].field_config.defaults.thresholds.steps[0].value = -1e12
    yield fine
    plain = Board("plain", "Plain", folder=ctx.platform_folder)
    plain.graph("Job without variable", q(selector("probe_success", job=JOB), "x"), unit="s", description="d")
    plain._sdk._internal.editable = True
    yield plain
"""


def test_lint_refuses_boards_that_break_the_conventions(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "dashboards" / "broken.py").write_text(BROKEN)
    code, _, err = run(["dashboards", "lint"], capsys)
    assert code == 1
    lines = err.splitlines()
    assert (
        """fine: panel 'Without job' query A: probe_success{tier="a"} does not select job=~"$job\"""" in lines
    )
    assert not any("'With job'" in line for line in lines)
    assert "fine: panel 'Undescribed': no description (what it shows, and what is good or bad)" in lines
    assert (
        "fine: panel 'Numeric base': the base threshold step must be null (minus infinity), "
        "as Grafana saves it"
    ) in lines
    assert "plain: editable must be false: the next publish overwrites any edit made in Grafana" in lines
    assert (
        "plain: panel 'Job without variable' query A: uses $job but the dashboard has no `job` variable"
        in lines
    )
    assert lines[-1] == "5 problem(s) in 25 dashboards"

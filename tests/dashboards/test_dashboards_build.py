"""`sre dashboards build` and `lint` on the seed platform and on edited copies of it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dashboards_support import ROOT
from requirements import need_shared
from sre_cli import run

from sre.grafana.build import build
from sre.grafana.lint import SCHEMA_BASE_STEP, panels, schema_form, write_schema_form
from sre.platform.loader import load_platform


@pytest.fixture
def grafana_checker() -> Path:
    return need_shared("tools/validate_grafana.py")


def built_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.json"))}


def edit_platform(project: Path, change: object) -> None:
    path = project / "platform.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def test_build_writes_one_file_per_dashboard_in_a_folder_per_zone(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["dashboards", "build", "--out", "out"], capsys)
    assert (code, err) == (0, "")
    assert out == "wrote 23 dashboards in 5 folders to out\n"
    files = built_files(project / "out")
    platform = load_platform(project / "platform.yaml")
    for sid, service in platform.services.items():
        assert f"sre-zone-{service.zone}/sre-service-{sid}.json" in files
    assert {f.split("/")[0] for f in files} == {f"sre-zone-{z}" for z in platform.zones} | {"sre-platform"}
    for name in ("overview", "dr-readiness", "probes"):
        assert f"sre-platform/sre-platform-{name}.json" in files
    for name, data in files.items():
        model = json.loads(data)
        assert len(model["uid"]) <= 40 and name.endswith(f"/{model['uid']}.json")
        assert "id" not in model and "version" not in model


def test_build_is_byte_identical_across_runs_and_processes(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["dashboards", "build", "--out", "one"], capsys)[0] == 0
    # A second interpreter: no dict-order or hash-seed luck.
    subprocess.run(
        [sys.executable, "-m", "sre", "dashboards", "build", "--out", "two"],
        check=True,
        capture_output=True,
        env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"},
    )
    one, two = built_files(project / "one"), built_files(project / "two")
    assert one == two and len(one) == 23
    first = next(iter(one.values()))
    assert first.endswith(b"}\n") and b"timestamp" not in first.lower()


def test_every_built_dashboard_validates_against_grafana_schema(project: Path, grafana_checker: Path) -> None:
    # The schema types a threshold's value as a number and documents that Grafana writes the base
    # step (minus infinity) as null; the checker reads the schema form, where only that differs.
    built = build(load_platform(project / "platform.yaml"), project / "dashboards")
    write_schema_form(built, project / "out")
    done = subprocess.run(
        [sys.executable, str(grafana_checker), "out"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout
    assert "23 valid, 0 invalid" in done.stdout


def test_the_schema_form_differs_only_in_null_base_steps() -> None:
    built = build(load_platform(ROOT / "platform.yaml"), ROOT / "dashboards")
    changed = 0
    for dashboard in built:
        form = schema_form(dashboard.model)
        for mine, theirs in zip(panels(dashboard.model), panels(form), strict=True):
            steps = ((mine.get("fieldConfig") or {}).get("defaults") or {}).get("thresholds", {}).get("steps")
            if steps:
                assert steps[0]["value"] is None  # as Grafana saves minus infinity
                assert (
                    theirs["fieldConfig"]["defaults"]["thresholds"]["steps"][0]["value"] == SCHEMA_BASE_STEP
                )
                theirs["fieldConfig"]["defaults"]["thresholds"]["steps"][0]["value"] = None
                changed += 1
        assert form == dashboard.model
    assert changed > 100


def test_panels_follow_the_conventions() -> None:
    built = build(load_platform(ROOT / "platform.yaml"), ROOT / "dashboards")
    for dashboard in built:
        model = dashboard.model
        variables = {v["name"]: v for v in model["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        ids = [p["id"] for p in panels(model)]
        assert ids == list(range(1, len(ids) + 1))
        for panel in panels(model):
            for key in ("x", "y", "w", "h"):
                assert isinstance(panel["gridPos"][key], int)
            assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert panel["fieldConfig"]["defaults"]["unit"]
            assert all(t["legendFormat"] for t in panel["targets"])
            if panel["type"] == "timeseries":
                assert panel["options"]["legend"]["showLegend"] is True
            for target in panel["targets"]:
                # Rates use the window Grafana sizes to the scrape interval.
                if "rate(" in target["expr"]:
                    assert "[$__rate_interval]" in target["expr"]


def test_service_dashboards_have_a_row_per_tier_and_kind_panels() -> None:
    built = {d.uid: d for d in build(load_platform(ROOT / "platform.yaml"), ROOT / "dashboards")}
    postgres = built["sre-service-db_postgres"].model
    rows = [p["title"] for p in postgres["panels"] if p["type"] == "row"]
    assert rows[0] == "Summary"
    assert [r.split(":")[0] for r in rows[1:]] == ["primary", "secondary", "tertiary"]
    exprs = " ".join(t["expr"] for p in panels(postgres) for t in p.get("targets", []))
    for metric in ("pg_stat_activity_count", "pg_replication_lag_seconds", "probe_backup_age_seconds"):
        assert metric in exprs
    lag = next(p for p in panels(postgres) if p["title"] == "Replication lag (probe)")
    assert [s["value"] for s in lag["fieldConfig"]["defaults"]["thresholds"]["steps"]][1:] == [5]
    links = {link["title"]: link["url"] for link in postgres["links"] if link["type"] == "link"}
    assert "data_stream.dataset" in links["Logs in Kibana"] and "db_postgres" in links["Logs in Kibana"]
    assert links["Runbooks"].endswith("/runbooks/db_postgres")

    api = built["sre-service-ext_api"].model
    api_exprs = " ".join(t["expr"] for p in panels(api) for t in p.get("targets", []))
    assert "http_server_request_duration_seconds_bucket" in api_exprs
    assert 'http_response_status_code=~"5.."' in api_exprs
    assert "histogram_quantile(0.99" in api_exprs
    vault = " ".join(
        t["expr"] for p in panels(built["sre-service-vault"].model) for t in p.get("targets", [])
    )
    assert "vault_core_unsealed" in vault


def test_overview_has_a_tier_by_zone_grid() -> None:
    platform = load_platform(ROOT / "platform.yaml")
    overview = next(d for d in build(platform, ROOT / "dashboards") if d.uid == "sre-platform-overview").model
    cells = [p for p in panels(overview) if p["type"] == "stat" and "·" in p["title"]]
    assert len(cells) == len(platform.tiers) * len(platform.zones)
    assert {c["gridPos"]["w"] for c in cells} == {6}
    first = cells[0]["targets"][0]["expr"]
    assert first == (
        'min by (service) (probe_success{tier="primary", zone="dmz", service=~"$service", job=~"$job"})'
    )
    # Each cell links to the dashboards of its zone's services, and a click on a value opens one.
    dmz = [link["url"] for link in cells[0]["links"]]
    assert dmz == [f"/d/sre-service-{sid}" for sid in platform.services_in_zone("dmz")]
    (value_link,) = cells[0]["fieldConfig"]["defaults"]["links"]
    assert value_link["url"] == "/d/sre-service-${__field.labels.service}?${__url_time_range}"
    assert all(c["description"].endswith("Click a service for its dashboard.") for c in cells)


def test_lint_passes_on_the_seed(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["dashboards", "lint"], capsys)
    assert (code, err) == (0, "")
    checked, ok = out.splitlines()
    assert checked.startswith("checked: PromQL of every query and variable parses, ")
    assert ok.startswith("ok: 23 dashboards, ") and "every service covered" in ok


def test_lint_reports_broken_promql_and_missing_coverage(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "dashboards" / "service.py").unlink()
    (project / "dashboards" / "broken.py").write_text(
        "from sre.grafana import Board, q\n"
        "def dashboards(ctx):\n"
        "    b = Board('broken', 'Broken', folder=ctx.platform_folder)\n"
        "    b.graph('Bad', q('sum(rate(x[$__rate_interval])', 'x'), unit='short')\n"
        "    b.graph('Good', q('sum(rate(x[$__rate_interval]))', ''), unit='short')\n"
        "    yield b\n"
    )
    code, _, err = run(["dashboards", "lint"], capsys)
    assert code == 1
    lines = err.splitlines()
    assert "broken: panel 'Bad' query A: PromQL does not parse: unclosed left parenthesis" in lines
    assert "broken: panel 'Good' query A: no legend" in lines
    assert (
        "coverage: service 'db_postgres' has no dashboard of its own (Board(..., service='db_postgres'))"
        in lines
    )
    assert lines[-1].endswith("problem(s) in 4 dashboards")


def test_the_schema_check_catches_what_lint_does_not(
    project: Path, grafana_checker: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Our rules do not look at `refresh`; Grafana's schema says it must be a string.
    (project / "dashboards" / "wide.py").write_text(
        "from sre.grafana import Board, q\n"
        "def dashboards(ctx):\n"
        "    b = Board('wide', 'Wide', folder=ctx.platform_folder)\n"
        "    b.graph('Fine', q('up', '{{job}}'), unit='short')\n"
        "    b._sdk.refresh(5)\n"  # refresh must be a string in Grafana's schema
        "    yield b\n"
    )
    built = build(load_platform(project / "platform.yaml"), project / "dashboards")
    write_schema_form(built, project / "out")
    done = subprocess.run(
        [sys.executable, str(grafana_checker), "out"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert "wide.json: 1 errors" in done.stdout.replace("out/sre-platform/", "")
    assert "refresh" not in run(["dashboards", "lint"], capsys)[2]


def test_a_new_service_gets_its_dashboards_without_new_code(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def add(data: dict) -> None:  # type: ignore[type-arg]
        data["services"]["orders_db_with_a_rather_long_name_for_its_uid"] = {
            "name": "Orders DB",
            "zone": "data",
            "kind": "postgres",
            "owner": "data",
            "stateful": True,
            "tiers": {
                "primary": {"role": "primary"},
                "secondary": {"role": "replica", "max_lag_seconds": 3},
                "tertiary": {"role": "cold", "max_backup_age_hours": 12},
            },
        }

    edit_platform(project, add)
    assert run(["dashboards", "build", "--out", "out"], capsys)[0] == 0
    files = built_files(project / "out")
    mine = [f for f in files if "orders-db" in f or "orders_db" in f]
    assert len(mine) == 1
    uid = json.loads(files[mine[0]])["uid"]
    assert len(uid) == 40 and uid.startswith("sre-service-orders_db_with_a_ra-")
    dr = json.loads(files["sre-platform/sre-platform-dr-readiness.json"])
    assert any("Orders DB" in p["title"] for p in dr["panels"] if p["type"] == "row")
    assert run(["dashboards", "lint"], capsys)[0] == 0


def test_build_refuses_to_write_into_a_foreign_folder(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "out").mkdir()
    (project / "out" / "keep.txt").write_text("mine")
    code, _, err = run(["dashboards", "build", "--out", "out"], capsys)
    assert code == 2
    assert err == "--out out: folder is not empty and was not written by `sre dashboards build`\n"
    assert (project / "out" / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("out", "expected"),
    [
        ("/proc/nope", "--out /proc/nope: cannot create the folder: No such file or directory"),
        ("/dev/null/x", "--out /dev/null/x: cannot create the folder: Not a directory"),
        ("", "--out .: give a folder of its own, not the current folder"),
    ],
)
def test_build_into_a_folder_that_cannot_be_made_is_one_line(
    project: Path, capsys: pytest.CaptureFixture[str], out: str, expected: str
) -> None:
    assert run(["dashboards", "build", "--out", out], capsys) == (2, "", expected + "\n")


def test_a_rebuild_keeps_files_it_did_not_write(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["dashboards", "build", "--out", "out"], capsys)[0] == 0
    mine = project / "out" / "sre-platform" / "hand-made.json"
    mine.write_text("{}")
    assert run(["dashboards", "build", "--out", "out"], capsys)[0] == 0
    assert mine.read_text() == "{}"


def test_build_removes_dashboards_of_removed_services(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["dashboards", "build", "--out", "out"], capsys)[0] == 0

    def remove(data: dict) -> None:  # type: ignore[type-arg]
        del data["services"]["mlflow"]
        del data["environments"]["prod"]["endpoints"]["mlflow"]
        data["edges"] = [e for e in data["edges"] if "mlflow" not in (e["from"], e["to"])]

    edit_platform(project, remove)
    assert run(["dashboards", "build", "--out", "out"], capsys)[0] == 0
    files = built_files(project / "out")
    assert len(files) == 22 and not any("mlflow" in f for f in files)

"""sre elk lint: the checks across objects; and Elasticsearch's request schemas on the build output."""

# ruff: noqa: F811 (pytest fixtures imported from elk_support arrive as same-named arguments)

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from elk_support import ROOT, Cli, project, sre  # noqa: F401 (fixtures, used as arguments)
from requirements import need_shared

from sre.elk.build import Bundle, build
from sre.elk.definitions import Definitions, load_definitions
from sre.elk.lint import lint, patterns_overlap
from sre.platform.loader import load_platform
from sre.platform.model import Platform

# Our folder per kind, and the kind argument of ../shared/tools/validate_elasticsearch.py.
SCHEMA_KINDS = {
    "ilm": "ilm_policy",
    "pipelines": "ingest_pipeline",
    "component_templates": "component_template",
    "index_templates": "index_template",
}


@pytest.fixture
def model() -> tuple[Platform, Definitions, Bundle]:
    platform = load_platform(ROOT / "platform.yaml")
    defs = load_definitions(ROOT / "elk", platform)
    return platform, defs, build(platform, defs)


def _messages(platform: Platform, defs: Definitions, bundle: Bundle) -> list[str]:
    return [str(f) for f in lint(bundle, platform, defs)]


def _schema_check(tool: Path, out: Path) -> list[str]:
    """Run the shared checker on every built file of each kind; the lines of its failures."""
    failures = []
    for folder, kind in SCHEMA_KINDS.items():
        files = sorted(str(p) for p in (out / folder).glob("*.json"))
        assert files, folder
        done = subprocess.run(
            [sys.executable, str(tool), kind, *files], capture_output=True, text=True, check=False
        )
        assert f"{len(files) - done.stdout.count('INVALID')} valid" in done.stdout, done.stdout + done.stderr
        if done.returncode != 0:
            failures += [line for line in done.stdout.splitlines() if "valid," not in line]
    return failures


def test_every_built_body_passes_elasticsearch_request_schemas(project: Path, sre: Cli) -> None:
    tool = need_shared("tools/validate_elasticsearch.py")
    assert sre("build", "--out", str(project / "out")).code == 0
    assert _schema_check(tool, project / "out") == []
    assert len(list((project / "out").rglob("*.json"))) == 66


def test_the_schema_check_catches_a_broken_body(project: Path, sre: Cli) -> None:
    tool = need_shared("tools/validate_elasticsearch.py")
    out = project / "out"
    assert sre("build", "--out", str(out)).code == 0
    template = out / "index_templates" / "logs-cdn.json"
    body = json.loads(template.read_text())
    body["priority"] = "high"
    template.write_text(json.dumps(body))
    pipeline = out / "pipelines" / "logs-cdn-ingest.json"
    body = json.loads(pipeline.read_text())
    body["processors"].append({"sett": {"field": "a", "value": 1}})
    pipeline.write_text(json.dumps(body))
    failures = "\n".join(_schema_check(tool, out))
    assert "logs-cdn.json: INVALID" in failures and "priority" in failures
    assert "logs-cdn-ingest.json: INVALID" in failures and "processors" in failures


def test_the_repository_definitions_lint_clean(sre: Cli) -> None:
    run = sre("lint")
    assert run.code == 0, run.text
    assert run.out.startswith("checked: field type conflicts, index pattern overlaps, ")
    assert "ok: 66 objects, no findings" in run.out


def test_lint_never_runs_code_from_a_shared_folder(tmp_path: Path) -> None:
    # A checker planted in shared/tools of a folder above the project (a shared temporary folder,
    # say), and named by the variables earlier releases read: none of it may run.
    proj = tmp_path / "work" / "proj"
    proj.mkdir(parents=True)
    shutil.copy(ROOT / "platform.yaml", proj / "platform.yaml")
    shutil.copytree(ROOT / "elk", proj / "elk")
    shutil.copytree(ROOT / "dashboards", proj / "dashboards", ignore=shutil.ignore_patterns("__pycache__"))
    sentinel = tmp_path / "planted-code-ran"
    planted = f"open({str(sentinel)!r}, 'a').write(__file__ + '\\n')\n"
    for folder in (tmp_path, tmp_path / "work"):
        tools = folder / "shared" / "tools"
        tools.mkdir(parents=True)
        for name in ("validate_elasticsearch.py", "validate_grafana.py"):
            (tools / name).write_text(planted)
    env = {
        "PATH": "/usr/bin:/bin",
        **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"},
        "SRE_SHARED_DIR": str(tmp_path / "shared"),
        "SRE_GRAFANA_SCHEMA_CHECKER": str(tmp_path / "shared" / "tools" / "validate_grafana.py"),
    }
    for group in ("elk", "dashboards"):
        done = subprocess.run(
            [sys.executable, "-m", "sre", group, "lint"],
            cwd=proj,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.startswith("checked: ")
        assert "shared" not in done.stdout + done.stderr
    assert not sentinel.exists(), sentinel.read_text()


def test_a_field_typed_differently_across_services_is_a_conflict(project: Path, sre: Cli) -> None:
    (project / "elk" / "services" / "kafka.yaml").write_text(
        "fields:\n  http.response.status_code: keyword\n"
    )
    run = sre("lint")
    assert run.code == 1
    assert (
        "index_templates/logs-kafka: field http.response.status_code is long in platform-logs@ecs but "
        "keyword in logs-kafka@mappings (the later one wins)"
    ) in run.err
    assert (
        "field http.response.status_code has conflicting types across templates: keyword in logs-kafka; "
        in run.err
    )
    assert "number in logs-ai_engine" in run.err


def test_types_of_one_family_do_not_conflict(project: Path, sre: Cli) -> None:
    (project / "elk" / "services" / "kafka.yaml").write_text("fields:\n  kafka.lag: long\n")
    (project / "elk" / "services" / "redis.yaml").write_text("fields:\n  kafka.lag: integer\n")
    assert sre("lint").code == 0


def test_an_index_pattern_overlapping_at_the_same_priority(project: Path, sre: Cli) -> None:
    path = project / "elk" / "elk.yaml"
    path.write_text(
        path.read_text()
        + '  fleet_ext_api: {patterns: ["logs-ext_api-*"], priority: 250}\n'
        + '  otel: {patterns: ["logs-*.otel-*"], priority: 300}\n'
    )
    run = sre("lint")
    assert run.code == 1
    assert (
        "index_templates/logs-ext_api: pattern logs-ext_api-* overlaps logs-ext_api-* of template "
        "fleet_ext_api at the same priority 250"
    ) in run.err
    assert "overlaps logs-*.otel-* of template otel, whose priority 300 is higher than 250" in run.err


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        ("logs-ext_api-*", "logs-*-*", True),
        ("logs-a-*", "logs-a_b-*", False),
        ("logs-a-*", "metrics-*-*", False),
        ("logs-x-*", "logs-*.otel-*", True),
        ("a*c", "ab", False),
        ("*", "anything", True),
        ("ab*", "*ba", True),
    ],
)
def test_patterns_overlap(a: str, b: str, overlap: bool) -> None:
    assert patterns_overlap(a, b) is overlap
    assert patterns_overlap(b, a) is overlap


def test_references_to_objects_nothing_defines(model: tuple[Platform, Definitions, Bundle]) -> None:
    platform, defs, bundle = model
    tpl = bundle.objects["index_templates"]["logs-cdn"]
    tpl["composed_of"].append("ghost@mappings")
    tpl["template"]["settings"]["index"]["final_pipeline"] = "nope"
    tpl["template"]["settings"]["index"]["lifecycle"]["name"] = "forever"
    bundle.objects["pipelines"]["logs-cdn-ingest"]["processors"].append({"pipeline": {"name": "parse-cdn"}})
    found = _messages(platform, defs, bundle)
    assert (
        "index_templates/logs-cdn: composed_of names component template ghost@mappings, which is neither"
        in (" ".join(found))
    )
    assert "index_templates/logs-cdn: index.final_pipeline names pipeline nope, which is not built" in found
    assert (
        "index_templates/logs-cdn: index.lifecycle.name names ILM policy forever, which is not built" in found
    )
    assert "pipelines/logs-cdn-ingest: a pipeline processor calls parse-cdn, which is not built" in found


def test_a_template_over_the_field_budget(project: Path, sre: Cli) -> None:
    path = project / "elk" / "elk.yaml"
    path.write_text(path.read_text().replace("field_budget: 400", "field_budget: 66"))
    run = sre("lint")
    assert run.code == 1
    path.write_text(path.read_text().replace("field_budget: 66", "field_budget: 69"))
    run = sre("lint")
    assert run.code == 1
    assert "index_templates/logs-db_postgres: our components map 74 fields, over the budget of 69" in run.err
    assert "index_templates/logs-kafka: our components map 72 fields" in run.err
    assert "logs-cdn" not in run.err  # ECS and labels only: 68 fields, within budget


def test_a_pii_field_no_processor_handles(model: tuple[Platform, Definitions, Bundle]) -> None:
    platform, defs, bundle = model
    procs = bundle.objects["pipelines"]["logs-ext_api-ingest"]["processors"]
    procs[:] = [p for p in procs if "fingerprint" not in p]  # user.email no longer hashed
    found = _messages(platform, defs, bundle)
    assert found == [
        "pipelines/logs-ext_api-ingest: PII field user.email of ext_api is not removed, masked or hashed "
        "unconditionally"
    ]


def test_a_conditional_removal_is_not_coverage_and_a_copy_is_a_leak(
    model: tuple[Platform, Definitions, Bundle],
) -> None:
    platform, defs, bundle = model
    pristine = copy.deepcopy(bundle)
    procs = bundle.objects["pipelines"]["logs-analytics_gw-ingest"]["processors"]
    removal = next(p for p in procs if p.get("remove", {}).get("field") == "client.ip")
    removal["remove"]["if"] = "ctx.labels?.tier == 'primary'"
    assert any("PII field client.ip of analytics_gw" in m for m in _messages(platform, defs, bundle))
    procs = pristine.objects["pipelines"]["logs-analytics_gw-ingest"]["processors"]
    procs.insert(1, {"set": {"field": "source.address", "copy_from": "client.ip"}})
    assert _messages(platform, defs, pristine) == [
        "pipelines/logs-analytics_gw-ingest: processor 1 copies PII field client.ip of analytics_gw "
        "elsewhere before it is handled"
    ]


def test_a_template_without_its_pipeline_leaves_pii_unhandled(
    model: tuple[Platform, Definitions, Bundle],
) -> None:
    platform, defs, bundle = model
    del bundle.objects["index_templates"]["logs-mongo"]["template"]["settings"]["index"]["final_pipeline"]
    assert "index_templates/logs-mongo: no ingest pipeline handles the PII of mongo" in _messages(
        platform, defs, bundle
    )

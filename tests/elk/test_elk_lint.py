"""sre elk lint: Elasticsearch's request schemas on every body, and the checks across objects."""

# ruff: noqa: F811 (pytest fixtures imported from elk_support arrive as same-named arguments)

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from elk_support import ROOT, project, shared_tools, sre  # noqa: F401 (fixtures, used as arguments)

from sre.elk import schema
from sre.elk.build import Bundle, build
from sre.elk.definitions import Definitions, load_definitions
from sre.elk.lint import lint, patterns_overlap
from sre.platform.loader import load_platform
from sre.platform.model import Platform


@pytest.fixture
def model() -> tuple[Platform, Definitions, Bundle]:
    platform = load_platform(ROOT / "platform.yaml")
    defs = load_definitions(ROOT / "elk", platform)
    return platform, defs, build(platform, defs)


def _messages(platform: Platform, defs: Definitions, bundle: Bundle) -> list[str]:
    return [str(f) for f in lint(bundle, platform, defs)]


def test_every_built_body_passes_elasticsearch_request_schemas(shared_tools: Path, model) -> None:
    _, _, bundle = model
    report = schema.check(bundle, ROOT)
    assert report.tool == shared_tools
    assert report.checked == len(bundle) == 66
    assert report.errors == []


def test_the_schema_check_catches_a_broken_body(shared_tools: Path, model) -> None:
    _, _, bundle = model
    bundle.objects["index_templates"]["logs-cdn"]["priority"] = "high"
    bundle.objects["pipelines"]["logs-cdn-ingest"]["processors"].append({"sett": {"field": "a", "value": 1}})
    errors = schema.check(bundle, ROOT).errors
    assert any(e.startswith("index_templates/logs-cdn: schema: priority") for e in errors)
    assert any(e.startswith("pipelines/logs-cdn-ingest: schema: processors") for e in errors)


def test_the_repository_definitions_lint_clean(shared_tools: Path, sre) -> None:
    run = sre("lint")
    assert run.code == 0, run.text
    assert "schema: 66 bodies checked" in run.out
    assert "ok: 66 objects, no findings" in run.out


def test_lint_says_so_when_the_schema_checker_is_absent(sre, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(schema.SHARED_ENV_VAR, raising=False)
    run = sre("lint")  # the project copy lives in a temporary folder with no shared/ near it
    assert run.code == 0
    assert "schema: skipped" in run.out


def test_a_field_typed_differently_across_services_is_a_conflict(project: Path, sre) -> None:
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


def test_types_of_one_family_do_not_conflict(project: Path, sre) -> None:
    (project / "elk" / "services" / "kafka.yaml").write_text("fields:\n  kafka.lag: long\n")
    (project / "elk" / "services" / "redis.yaml").write_text("fields:\n  kafka.lag: integer\n")
    assert sre("lint").code == 0


def test_an_index_pattern_overlapping_at_the_same_priority(project: Path, sre) -> None:
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


def test_references_to_objects_nothing_defines(model) -> None:
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


def test_a_template_over_the_field_budget(project: Path, sre) -> None:
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


def test_a_pii_field_no_processor_handles(model) -> None:
    platform, defs, bundle = model
    procs = bundle.objects["pipelines"]["logs-ext_api-ingest"]["processors"]
    procs[:] = [p for p in procs if "fingerprint" not in p]  # user.email no longer hashed
    found = _messages(platform, defs, bundle)
    assert found == [
        "pipelines/logs-ext_api-ingest: PII field user.email of ext_api is not removed, masked or hashed "
        "unconditionally"
    ]


def test_a_conditional_removal_is_not_coverage_and_a_copy_is_a_leak(model) -> None:
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


def test_a_template_without_its_pipeline_leaves_pii_unhandled(model) -> None:
    platform, defs, bundle = model
    del bundle.objects["index_templates"]["logs-mongo"]["template"]["settings"]["index"]["final_pipeline"]
    assert "index_templates/logs-mongo: no ingest pipeline handles the PII of mongo" in _messages(
        platform, defs, bundle
    )

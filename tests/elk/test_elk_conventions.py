"""The templates fit the Elastic stack they join: logs@custom composed, the index mode set, the data
stream fields stamped, retention exactly as the policy says, no collision with the stack's or Fleet's
templates (read from the cluster stand-in, which carries them as a 9.x cluster does), and the
mappings the stack's ecs@mappings and logs@mappings would give."""

# ruff: noqa: F811 (pytest fixtures imported from elk_support arrive as same-named arguments)

from __future__ import annotations

from pathlib import Path

import pytest
from elk_fake_cluster import FLEET_PRIORITY, FakeCluster
from elk_support import ROOT, Cli, body, fake, project, sre  # noqa: F401 (fixtures, used as arguments)

from sre.elk.build import Bundle, build
from sre.elk.definitions import load_definitions
from sre.elk.lint import lint
from sre.platform.loader import load_platform


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    platform = load_platform(ROOT / "platform.yaml")
    return build(platform, load_definitions(ROOT / "elk", platform))


# --- logs@custom, the index mode, version and _meta ---------------------------------------------


def test_the_cluster_wide_logs_custom_comes_before_the_services_own(bundle: Bundle) -> None:
    for name, tpl in bundle.objects["index_templates"].items():
        composed = tpl["composed_of"]
        assert composed[-2:] == ["logs@custom", f"{name}@custom"]
        assert set(tpl["ignore_missing_component_templates"]) == {"logs@custom", f"{name}@custom"}


def test_publish_works_with_and_without_a_logs_custom_on_the_cluster(fake: FakeCluster, sre: Cli) -> None:
    assert "logs@custom" not in fake.components
    assert sre("publish").code == 0
    fake.components["logs@custom"] = {"template": {"settings": {"index": {"refresh_interval": "30s"}}}}
    assert "logs@custom" in fake.index_templates["logs-ext_api"]["composed_of"]
    assert sre("publish").code == 0


@pytest.mark.parametrize(("mode", "setting"), [("logsdb", "logsdb"), ("standard", "standard")])
def test_the_index_mode_is_set_explicitly(project: Path, mode: str, setting: str) -> None:
    _edit(project / "elk" / "elk.yaml", "index_mode: logsdb", f"index_mode: {mode}")
    platform = load_platform(project / "platform.yaml")
    built = build(platform, load_definitions(project / "elk", platform))
    tpl = body(built, "index_templates", "logs-cdn")
    assert tpl["template"]["settings"]["index"]["mode"] == setting
    assert tpl["_meta"]["index_mode"] == mode


def test_the_cluster_default_leaves_the_mode_unset(project: Path) -> None:
    _edit(project / "elk" / "elk.yaml", "index_mode: logsdb", "index_mode: cluster_default")
    platform = load_platform(project / "platform.yaml")
    tpl = body(build(platform, load_definitions(project / "elk", platform)), "index_templates", "logs-cdn")
    assert "mode" not in tpl["template"]["settings"]["index"]
    assert tpl["_meta"]["index_mode"] == "cluster_default"


def test_a_bad_index_mode_names_the_line(project: Path, sre: Cli) -> None:
    _edit(project / "elk" / "elk.yaml", "index_mode: logsdb", "index_mode: time_series")
    run = sre("lint")
    assert run.code == 2
    assert "elk.yaml:" in run.err and "index_template.index_mode: expected one of" in run.err


def test_templates_carry_version_and_managed_meta_as_the_stack_does(bundle: Bundle) -> None:
    for kind in ("component_templates", "index_templates"):
        for built in bundle.objects[kind].values():
            assert built["version"] == 1
            assert built["_meta"]["managed"] is True and built["_meta"]["managed_by"] == "sre"


def test_a_version_bump_updates_every_template(fake: FakeCluster, sre: Cli, project: Path) -> None:
    assert sre("publish").code == 0
    _edit(project / "elk" / "elk.yaml", "  version: 1\n", "  version: 2\n")
    run = sre("diff")
    assert run.code == 0
    assert run.out.splitlines()[-1] == "0 to create, 42 to update, 24 unchanged, 0 conflicts"
    assert sre("publish").code == 0
    assert fake.index_templates["logs-cdn"]["version"] == 2


# --- logsdb constraints ---------------------------------------------------------------------------


def test_logsdb_needs_host_name_as_a_keyword_with_doc_values(project: Path, sre: Cli) -> None:
    _edit(
        project / "elk" / "ecs.yaml",
        "  host.name: {type: keyword, ignore_above: 1024, fields: {text: match_only_text}}",
        "  host.name: match_only_text",
    )
    run = sre("lint")
    assert run.code == 1
    assert (
        "component_templates/platform-logs@ecs: host.name: logsdb sorts every index by host.name and "
        "@timestamp, so it must be keyword with doc values; got match_only_text"
    ) in run.err
    _edit(project / "elk" / "elk.yaml", "index_mode: logsdb", "index_mode: standard")
    assert sre("lint").code == 0  # a standard index does not sort by it


def test_logsdb_refuses_settings_it_overrides_and_stored_source(project: Path, sre: Cli) -> None:
    _edit(
        project / "elk" / "elk.yaml",
        "    refresh_interval: 5s\n",
        "    refresh_interval: 5s\n    sort: {field: [service.name]}\n    mapping.source.mode: stored\n",
    )
    run = sre("lint")
    assert run.code == 1
    assert (
        "component_templates/platform-logs@settings: index.sort.field: logsdb sets the index sort itself"
        in run.err
    )
    assert "index.mapping.source.mode stored under logsdb stores _source in full" in run.err


def test_the_cluster_default_is_linted_as_logsdb(project: Path, sre: Cli) -> None:
    _edit(project / "elk" / "elk.yaml", "index_mode: logsdb", "index_mode: cluster_default")
    _edit(
        project / "elk" / "ecs.yaml",
        '"@timestamp": {type: date, ignore_malformed: false}',
        '"@timestamp": long',
    )
    run = sre("lint")
    assert run.code == 1
    assert "@timestamp: logsdb (the index mode a 9.x cluster gives new logs streams) sorts" in run.err


# --- the fields the dashboards filter on ----------------------------------------------------------


def test_the_pipeline_stamps_data_stream_and_ecs_fields_when_absent(bundle: Bundle) -> None:
    procs = body(bundle, "pipelines", "logs-ext_api-ingest")["processors"]
    by_tag = {spec["tag"]: (kind, spec) for proc in procs for kind, spec in proc.items() if "tag" in spec}
    kind, script = by_tag["stamp_data_stream"]
    assert kind == "script" and script["params"] == {"dataset": "ext_api", "prefix": "logs-ext_api-"}
    for absent_only in ("putIfAbsent('type', 'logs')", "putIfAbsent('dataset', params.dataset)",
                        "ctx.data_stream.namespace == null"):  # fmt: skip
        assert absent_only in script["source"]
    assert by_tag["stamp_event_dataset"] == (
        "set",
        {"tag": "stamp_event_dataset", "field": "event.dataset", "copy_from": "data_stream.dataset",
         "override": False},
    )  # fmt: skip
    assert by_tag["stamp_ecs_version"][1]["value"] == "9.1.0"
    assert by_tag["stamp_ecs_version"][1]["override"] is False
    # Before the PII steps, so a failure there still leaves the stream's fields in place.
    tags = [spec.get("tag") for proc in procs for spec in proc.values()]
    assert tags.index("stamp_data_stream") < tags.index("pii_client_ip")


def test_the_kibana_links_of_the_dashboards_filter_on_what_the_pipeline_sets(bundle: Bundle) -> None:
    from sre.grafana.context import Context
    from sre.grafana.settings import load_settings

    ctx = Context(load_platform(ROOT / "platform.yaml"), load_settings(ROOT / "dashboards"))
    url = ctx.logs_url("ext_api") or ""
    assert "data_stream.dataset" in url and "data_stream.namespace" in url
    source = body(bundle, "pipelines", "logs-ext_api-ingest")["processors"]
    assert any("script" in p and "data_stream" in p["script"]["source"] for p in source)


# --- retention, Fleet, and the stack's templates on the cluster --------------------------------


def test_the_stand_in_carries_the_stacks_and_fleets_templates(fake: FakeCluster) -> None:
    assert {"logs", "metrics", "traces", "synthetics"} <= set(fake.index_templates)
    assert fake.index_templates["logs"]["priority"] == 100
    assert fake.index_templates["logs"]["_meta"]["managed"] is True
    fleet = fake.index_templates["logs-nginx.access"]
    assert fleet["priority"] == FLEET_PRIORITY and fleet["_meta"]["managed_by"] == "fleet"
    assert "logs-nginx.access@package" in fake.components
    settings = fake.components["logs@settings"]["template"]["settings"]["index"]
    assert settings["mapping"]["ignore_malformed"] == "true"


def test_lint_knows_fleets_priority(project: Path, sre: Cli) -> None:
    _edit(project / "elk" / "elk.yaml", "  priority: 250", "  priority: 200")
    run = sre("lint")
    assert run.code == 1
    assert (
        "index_templates/logs-cdn: priority 200 is the one Fleet gives its integration templates "
        "(logs-<dataset>)"
    ) in run.err


def test_a_template_overlapping_ours_at_the_same_priority_is_refused(fake: FakeCluster, sre: Cli) -> None:
    fake.index_templates["acme-legacy"] = {
        "index_patterns": ["logs-*"],
        "priority": 250,
        "_meta": {"managed_by": "terraform"},
    }
    diff = sre("diff")
    assert diff.code == 1
    assert (
        "collision index_templates/logs-cdn: pattern logs-cdn-* overlaps logs-* of the cluster's template "
        "acme-legacy (managed by terraform) at the same priority, which Elasticsearch refuses"
    ) in diff.out
    for forced in ((), ("--force",)):
        run = sre("publish", *forced)
        assert run.code == 1
        assert "nothing written: 20 of our index templates collide with templates already on the cluster" in (
            run.out
        )
        assert fake.writes == []


def test_a_template_above_ours_is_refused_and_one_below_is_not(fake: FakeCluster, sre: Cli) -> None:
    fake.index_templates["logs-vault-audit"] = {"index_patterns": ["logs-vault-*"], "priority": 400}
    run = sre("publish")
    assert run.code == 1
    assert (
        "collision index_templates/logs-vault: pattern logs-vault-* overlaps logs-vault-* of the cluster's "
        "template logs-vault-audit (managed by nobody (no _meta.managed_by)) at the higher priority 400, "
        "so theirs would apply and ours never"
    ) in run.out
    fake.index_templates["logs-vault-audit"]["priority"] = 150
    assert sre("publish").code == 0


def test_a_fleet_custom_logs_dataset_named_like_a_service_is_a_conflict(fake: FakeCluster, sre: Cli) -> None:
    fake.add_fleet_dataset("kafka", package="log")
    run = sre("publish")
    assert run.code == 1
    assert "conflict  index_templates/logs-kafka: managed by fleet (package log), not by sre" in run.out
    assert fake.writes == []


# --- the stack's mappings, and custom fields ----------------------------------------------------


def test_the_seed_maps_as_the_stack_does(bundle: Bundle) -> None:
    props = body(bundle, "component_templates", "platform-logs@ecs")["template"]["mappings"]["properties"]
    assert props["@timestamp"] == {"type": "date", "ignore_malformed": False}
    assert props["tags"] == {"type": "keyword", "ignore_above": 1024}
    for owner, leaf in (("service", "name"), ("host", "name"), ("user", "name"), ("user", "full_name")):
        assert props[owner]["properties"][leaf]["fields"] == {"text": {"type": "match_only_text"}}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "  tags: {type: keyword, ignore_above: 1024}",
            "  tags: keyword",
            "component_templates/platform-logs@ecs: tags: keyword without ignore_above",
        ),
        (
            "  host.name: {type: keyword, ignore_above: 1024, fields: {text: match_only_text}}",
            "  host.name: {type: keyword, ignore_above: 1024}",
            "component_templates/platform-logs@ecs: host.name: no .text sub-field (match_only_text)",
        ),
        (
            '  "@timestamp": {type: date, ignore_malformed: false}',
            '  "@timestamp": date',
            "component_templates/platform-logs@ecs: @timestamp must be mapped as the stack's logs@mappings",
        ),
    ],
    ids=["ignore_above", "text-subfield", "timestamp"],
)
def test_lint_finds_mappings_the_stack_would_give_otherwise(
    project: Path, sre: Cli, old: str, new: str, expected: str
) -> None:
    _edit(project / "elk" / "ecs.yaml", old, new)
    run = sre("lint")
    assert run.code == 1
    assert expected in run.err


def test_custom_fields_stay_outside_ecs_field_sets(project: Path, sre: Cli) -> None:
    _edit(project / "platform.yaml", "acme.user.phone]", "user.phone]")
    _edit(project / "elk" / "pii.yaml", "  acme.user.phone:", "  user.phone:")
    (project / "elk" / "services" / "kafka.yaml").write_text("fields:\n  event.lag: long\n")
    run = sre("lint")
    assert run.code == 1
    assert (
        "services/db_postgres: user.phone (PII field in platform.yaml) is not an ECS field (elk/ecs.yaml) but "
        "sits in the ECS field set `user`: give custom fields a namespace of their own (e.g. acme.user.phone)"
    ) in run.err
    assert "services/kafka: event.lag (elk service file) is not an ECS field" in run.err


def test_the_seed_lints_clean_with_every_convention() -> None:
    platform = load_platform(ROOT / "platform.yaml")
    defs = load_definitions(ROOT / "elk", platform)
    assert lint(build(platform, defs), platform, defs) == []

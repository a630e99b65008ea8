"""sre elk build: what is generated per service and class, byte-identical, provenance in _meta."""

# ruff: noqa: F811 (pytest fixtures imported from elk_support arrive as same-named arguments)

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from elk_support import ROOT, Cli, body, project, sre  # noqa: F401 (fixtures, used as arguments)

import sre as sre_package
from sre.elk import names
from sre.elk.build import Bundle, build
from sre.elk.definitions import load_definitions
from sre.elk.meta import get_meta, stamp
from sre.elk.workspace import open_workspace
from sre.platform.loader import load_platform


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    platform = load_platform(ROOT / "platform.yaml")
    return build(platform, load_definitions(ROOT / "elk", platform))


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.json"))}


def test_every_service_gets_a_data_stream_template_above_the_stack_logs_template(bundle: Bundle) -> None:
    platform = load_platform(ROOT / "platform.yaml")
    assert set(bundle.objects["index_templates"]) == {f"logs-{sid}" for sid in platform.services}
    tpl = body(bundle, "index_templates", "logs-ext_api")
    assert tpl["index_patterns"] == ["logs-ext_api-*"]
    assert tpl["data_stream"] == {}
    assert tpl["priority"] > 100
    assert tpl["composed_of"] == [
        "logs@mappings",
        "logs@settings",
        "ecs@mappings",
        "platform-logs@ecs",
        "platform-logs@settings",
        "logs-ext_api@mappings",
        "logs@custom",  # the cluster-wide hook the stack's own logs template composes, then ours
        "logs-ext_api@custom",
    ]
    assert tpl["ignore_missing_component_templates"] == ["logs@custom", "logs-ext_api@custom"]
    index = tpl["template"]["settings"]["index"]
    assert index == {
        "lifecycle": {"name": "platform-logs-pii"},
        "final_pipeline": "logs-ext_api-ingest",
        "mode": "logsdb",
    }
    assert body(bundle, "index_templates", "logs-vault")["template"]["settings"]["index"]["lifecycle"] == {
        "name": "platform-logs-audit"
    }
    assert body(bundle, "index_templates", "logs-cdn")["template"]["settings"]["index"]["lifecycle"] == {
        "name": "platform-logs-standard"
    }


def test_ilm_policies_per_retention_class_with_pii_shorter(bundle: Bundle) -> None:
    assert set(bundle.objects["ilm"]) == {f"platform-logs-{c}" for c in ("standard", "pii", "audit", "debug")}
    standard = body(bundle, "ilm", "platform-logs-standard")["policy"]["phases"]
    assert list(standard) == ["hot", "warm", "cold", "delete"]
    assert standard["hot"]["actions"]["rollover"] == {"max_age": "1d", "max_primary_shard_size": "50gb"}
    assert standard["warm"]["actions"]["forcemerge"] == {"max_num_segments": 1}
    assert standard["delete"] == {
        "min_age": "90d",
        "actions": {"delete": {"delete_searchable_snapshot": True}},
    }
    pii = body(bundle, "ilm", "platform-logs-pii")["policy"]["phases"]
    # Rollover after at most 1 d, deletion 29 d after it: 30 d at most, the platform's PII limit.
    assert pii["hot"]["actions"]["rollover"]["max_age"] == "1d"
    assert pii["delete"]["min_age"] == "29d"
    assert "cold" not in pii


def test_component_templates_hold_ecs_settings_and_service_fields(bundle: Bundle) -> None:
    ecs = body(bundle, "component_templates", "platform-logs@ecs")
    props = ecs["template"]["mappings"]["properties"]
    assert props["client"]["properties"]["ip"] == {"type": "ip"}
    assert props["http"]["properties"]["response"]["properties"]["status_code"] == {"type": "long"}
    assert props["labels"]["properties"]["tier"] == {"type": "keyword", "ignore_above": 1024}
    assert ecs["_meta"]["ecs_version"] == "9.1.0"
    settings = body(bundle, "component_templates", "platform-logs@settings")["template"]["settings"]
    assert settings["index"]["codec"] == "best_compression"
    pg = body(bundle, "component_templates", "logs-db_postgres@mappings")["template"]["mappings"][
        "properties"
    ]
    assert pg["postgresql"]["properties"]["log"]["properties"]["duration_ms"] == {"type": "double"}
    assert body(bundle, "component_templates", "logs-cdn@mappings")["template"]["mappings"] == {
        "properties": {}
    }


def _processors(bundle: Bundle, service: str) -> list[dict[str, Any]]:
    processors: list[dict[str, Any]] = body(bundle, "pipelines", names.pipeline(service))["processors"]
    return processors


def test_pipelines_stamp_service_zone_tier_and_dc(bundle: Bundle) -> None:
    procs = _processors(bundle, "cdn")
    sets = {p["set"]["tag"]: p["set"] for p in procs if "set" in p}
    assert sets["stamp_service"]["value"] == "cdn"
    assert sets["stamp_zone"]["value"] == "dmz"
    assert sets["stamp_dc_secondary"]["value"] == "ams1"
    assert sets["stamp_dc_secondary"]["if"]["source"] == (
        "ctx.cloud?.provider == 'gcp' && ctx.cloud?.region == 'europe-west4'"
    )
    assert sets["stamp_tier_tertiary"] == {
        "tag": "stamp_tier_tertiary",
        "field": "labels.tier",
        "value": "tertiary",
        "if": {"lang": "painless", "source": "ctx.labels?.dc == 'dub1'"},
    }
    assert not any("remove" in p or "fingerprint" in p for p in procs)  # cdn holds no PII


def test_pipelines_remove_hash_mask_and_redact_pii(bundle: Bundle) -> None:
    procs = _processors(bundle, "ext_api")
    assert procs[0] == {"dot_expander": {"tag": "expand_dotted_fields", "field": "*"}}
    assert {"remove": {"tag": "pii_client_ip", "field": "client.ip", "ignore_missing": True}} in procs
    hashed = next(p["fingerprint"] for p in procs if "fingerprint" in p)
    assert hashed["fields"] == ["user.email"] and hashed["target_field"] == "user.email"
    redacted = {(p["gsub"]["field"], p["gsub"]["replacement"]) for p in procs if "gsub" in p}
    assert redacted == {
        (field, f"<{name}>") for field in ("message", "error.message") for name in ("EMAIL", "IPV4", "IPV6")
    }
    failure = body(bundle, "pipelines", "logs-ext_api-ingest")["on_failure"]
    assert failure[0]["remove"]["field"] == [
        "client.ip",
        "error.message",
        "event.original",
        "message",
        "user.email",
    ]
    masked = next(
        p["set"] for p in _processors(bundle, "mongo") if p.get("set", {}).get("field") == "user.full_name"
    )
    assert masked["value"] == "[REDACTED]"


def test_build_writes_one_file_per_object_byte_identical_across_runs(project: Path, sre: Cli) -> None:
    first, second = project / "a", project / "b"
    run = sre("build", "--out", str(first))
    assert run.code == 0, run.err
    assert "66 objects (4 ilm, 20 pipelines, 22 component_templates, 20 index_templates)" in run.out
    assert sre("build", "--out", str(second)).code == 0
    assert _files(first) == _files(second)
    assert (first / "component_templates" / "logs-ext_api@mappings.json").is_file()
    body = json.loads((first / "index_templates" / "logs-ext_api.json").read_text())
    assert body["_meta"]["managed_by"] == "sre" and body["_meta"]["platform"] == "acme-platform"
    assert body["_meta"]["content_hash"].startswith("sha256:")


def test_build_removes_files_of_objects_that_no_longer_exist(project: Path, sre: Cli) -> None:
    out = project / "out"
    assert sre("build", "--out", str(out)).code == 0
    retired = out / "index_templates" / "logs-kafka.json"
    assert retired.is_file()
    text = (project / "platform.yaml").read_text()
    # kafka leaves the platform: its edges and endpoints go with it.
    data = yaml.safe_load(text)
    del data["services"]["kafka"]
    data["edges"] = [e for e in data["edges"] if "kafka" not in (e["from"], e["to"])]
    for env in data["environments"].values():
        env.get("endpoints", {}).pop("kafka", None)
        env.get("unavailable", {}).pop("kafka", None)
    (project / "platform.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    (project / "elk" / "services" / "kafka.yaml").unlink(missing_ok=True)
    assert sre("build", "--out", str(out)).code == 0
    assert not retired.exists()
    assert (out / "index_templates" / "logs-cdn.json").is_file()


def test_build_refuses_a_folder_it_did_not_write_and_keeps_foreign_files(project: Path, sre: Cli) -> None:
    foreign = project / "mine"
    foreign.mkdir()
    (foreign / "notes.json").write_text("{}")
    run = sre("build", "--out", str(foreign))
    assert run.code == 2
    assert run.err == f"--out {foreign}: folder is not empty and was not written by `sre elk build`\n"
    assert [p.name for p in foreign.iterdir()] == ["notes.json"]
    # In its own folder, a file someone added beside the build survives a rebuild.
    out = project / "out"
    assert sre("build", "--out", str(out)).code == 0
    added = out / "index_templates" / "hand-made.json"
    added.write_text("{}")
    assert sre("build", "--out", str(out)).code == 0
    assert added.read_text() == "{}"


@pytest.mark.parametrize(
    ("out", "expected"),
    [
        ("", "--out .: give a folder of its own, not the current folder"),
        (".", "--out .: give a folder of its own, not the current folder"),
        ("SRE", "--out SRE: is inside the installed sre package; give a folder outside it"),
        ("/dev/null/x", "--out /dev/null/x: cannot create the folder: Not a directory"),
        ("/proc/nope", "--out /proc/nope: cannot create the folder: No such file or directory"),
    ],
)
def test_build_refuses_an_output_folder_it_must_not_write(
    project: Path, sre: Cli, monkeypatch: pytest.MonkeyPatch, out: str, expected: str
) -> None:
    monkeypatch.chdir(project)
    if out == "SRE":
        out = str(Path(sre_package.__file__).parent / "out")
        expected = expected.replace("SRE", out)
    before = sorted(p.name for p in project.iterdir())
    run = sre("build", "--out", out)
    assert (run.code, run.err) == (2, expected + "\n")
    assert sorted(p.name for p in project.iterdir()) == before
    assert not Path(sre_package.__file__).with_name("out").exists()


def test_a_new_service_in_platform_yaml_gets_its_data_stream_without_code(project: Path, sre: Cli) -> None:
    text = (project / "platform.yaml").read_text()
    text = text.replace(
        "# Nodes of the diagram",
        "  billing:\n    name: Billing\n    zone: internal\n    kind: https\n    owner: platform\n"
        "    stateful: false\n    pii: [user.email]\n    encryption_at_rest: AES-256\n\n"
        "# Nodes of the diagram",
    )
    (project / "platform.yaml").write_text(text)
    out = project / "out"
    assert sre("build", "--out", str(out)).code == 0
    tpl = json.loads((out / "index_templates" / "logs-billing.json").read_text())
    assert tpl["index_patterns"] == ["logs-billing-*"]
    assert tpl["template"]["settings"]["index"]["lifecycle"]["name"] == "platform-logs-pii"
    pipeline = json.loads((out / "pipelines" / "logs-billing-ingest.json").read_text())
    assert any(p.get("fingerprint", {}).get("fields") == ["user.email"] for p in pipeline["processors"])
    assert (out / "component_templates" / "logs-billing@mappings.json").is_file()
    assert sre("lint").code == 0


def test_the_content_hash_does_not_depend_on_the_commit() -> None:
    template: dict[str, Any] = {"template": {"settings": {}}}
    with_commit = stamp("component_templates", template, "p", "abc123")
    without = stamp("component_templates", template, "p", None)
    assert get_meta("component_templates", with_commit)["source_commit"] == "abc123"
    assert "source_commit" not in get_meta("component_templates", without)
    assert with_commit["_meta"]["content_hash"] == without["_meta"]["content_hash"]
    changed = stamp("component_templates", {"template": {"settings": {"a": 1}}}, "p", None)
    assert changed["_meta"]["content_hash"] != without["_meta"]["content_hash"]


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}  # fmt: skip
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=True
    )
    return done.stdout.strip()


def test_the_source_commit_is_stamped_only_when_the_inputs_are_committed(project: Path) -> None:
    _git(project, "init", "-q")
    _git(project, "add", "platform.yaml", "elk")
    _git(project, "commit", "-qm", "definitions")
    head = _git(project, "rev-parse", "HEAD")
    clean = open_workspace(project / "platform.yaml", None).bundle
    assert get_meta("ilm", body(clean, "ilm", "platform-logs-pii"))["source_commit"] == head
    again = open_workspace(project / "platform.yaml", None).bundle
    assert list(clean) == list(again)  # same commit, same bytes
    with (project / "elk" / "elk.yaml").open("a") as f:
        f.write("# an uncommitted edit\n")
    dirty = open_workspace(project / "platform.yaml", None).bundle
    assert "source_commit" not in get_meta("ilm", body(dirty, "ilm", "platform-logs-pii"))

"""elk/ definitions: loaded with file:line: field.path messages, checked against platform.yaml."""

# ruff: noqa: F811 (pytest fixtures imported from elk_support arrive as same-named arguments)

from __future__ import annotations

from pathlib import Path

from elk_support import ROOT, Cli, project, sre  # noqa: F401 (fixtures, used as arguments)

from sre.elk.definitions import load_definitions
from sre.platform.loader import load_platform


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_the_repository_definitions_load() -> None:
    platform = load_platform(ROOT / "platform.yaml")
    defs = load_definitions(ROOT / "elk", platform)
    assert set(defs.retention.classes) == {"standard", "pii", "audit", "debug"}
    assert defs.retention_class(platform, "ext_api") == "pii"  # holds PII
    assert defs.retention_class(platform, "vault") == "audit"  # chosen in services/vault.yaml
    assert defs.retention_class(platform, "cdn") == "standard"
    assert defs.pii_action("ext_api", "user.email") == "hash"
    assert defs.pii_action("push_svc", "user.id") == "remove"  # services/push_svc.yaml overrides
    assert defs.pii_action("push_svc", "acme.device.push_token") == "remove"


def test_a_bad_field_type_names_file_line_and_path(project: Path, sre: Cli) -> None:
    _edit(project / "elk" / "ecs.yaml", "  source.ip: ip\n", "  source.ip: ipv4\n")
    run = sre("build", "--out", str(project / "out"))
    assert run.code == 2
    line = next(
        i for i, t in enumerate((project / "elk" / "ecs.yaml").read_text().splitlines(), 1) if "ipv4" in t
    )
    assert f"ecs.yaml:{line}: fields.source.ip.type: expected one of keyword" in run.err
    assert "Traceback" not in run.text
    assert not (project / "out").exists()


def test_a_typo_in_a_key_is_an_unknown_field(project: Path, sre: Cli) -> None:
    _edit(project / "elk" / "elk.yaml", "field_budget: 400", "field_budgit: 400")
    run = sre("lint")
    assert run.code == 2
    assert "elk.yaml:" in run.err and "field_budgit: unknown field" in run.err


def test_pii_logs_kept_longer_than_the_platform_policy_are_refused(project: Path, sre: Cli) -> None:
    _edit(project / "elk" / "retention.yaml", "    delete: {after: 29d}\n", "    delete: {after: 60d}\n")
    run = sre("lint")
    assert run.code == 2
    assert "retention.yaml:" in run.err and "pii_default:" in run.err
    assert "longer than the platform's PII limit of 30d" in run.err


def test_the_wait_for_rollover_counts_against_the_pii_limit(project: Path, sre: Cli) -> None:
    # Deleted 30 d after a rollover that may come 1 d after the write: 31 d, over the 30 d limit.
    _edit(project / "elk" / "retention.yaml", "    delete: {after: 29d}\n", "    delete: {after: 30d}\n")
    run = sre("lint")
    assert run.code == 2
    assert (
        "class 'pii' keeps a document up to 31d (rollover after at most hot.max_age 1d, then delete.after "
        "30d), longer than the platform's PII limit of 30d"
    ) in run.err
    _edit(project / "elk" / "retention.yaml", "    delete: {after: 30d}\n", "    delete: {after: 29d}\n")
    assert sre("lint").code == 0


def test_a_service_may_not_choose_a_long_class_when_it_holds_pii(project: Path, sre: Cli) -> None:
    (project / "elk" / "services" / "ext_api.yaml").write_text("retention: audit\n")
    run = sre("lint")
    assert run.code == 2
    assert "services/ext_api.yaml:1: retention: class 'audit' keeps a document up to 372d" in run.err


def test_hashing_an_ip_field_is_refused(project: Path, sre: Cli) -> None:
    (project / "elk" / "services" / "analytics_gw.yaml").write_text("pii:\n  client.ip: hash\n")
    run = sre("lint")
    assert run.code == 2
    assert (
        "analytics_gw.yaml:2: pii.client.ip: hash writes a string, but client.ip is mapped as ip" in run.err
    )


def test_a_file_for_a_service_platform_yaml_does_not_have(project: Path, sre: Cli) -> None:
    (project / "elk" / "services" / "billing.yaml").write_text("fields: {}\n")
    run = sre("lint")
    assert run.code == 2
    assert "billing.yaml:1: no service 'billing'" in run.err


def test_phases_must_come_in_order(project: Path, sre: Cli) -> None:
    _edit(project / "elk" / "retention.yaml", "    cold: {after: 30d}\n", "    cold: {after: 5d}\n")
    run = sre("lint")
    assert run.code == 2
    assert "classes.standard: cold.after (5d) must be later than warm.after (7d)" in run.err


def test_a_pii_override_for_a_field_the_service_does_not_hold(project: Path, sre: Cli) -> None:
    (project / "elk" / "services" / "cdn.yaml").write_text("pii:\n  user.email: mask\n")
    run = sre("lint")
    assert run.code == 2
    assert "cdn.yaml:2: pii.user.email: not a PII field of cdn" in run.err

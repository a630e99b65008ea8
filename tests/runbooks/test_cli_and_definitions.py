"""`sre runbook` through the real entry point, the shipped runbooks, and definition errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rb_support import World
from sre_cli import run as sre

from sre.errors import InputError
from sre.platform.loader import load_platform
from sre.runbooks.definitions import load_catalog
from sre.runbooks.params import check_params
from sre.runbooks.templating import TemplateError, render, render_args

ROOT = Path(__file__).resolve().parents[2]

BUMP = """\
version: 1
name: bump
revision: 1
params:
  tier: {type: tier}
target: "{{ tier }}"
approval: {required: true, four_eyes: true}
steps:
  - id: insert
    action: postgres_sql
    with:
      service: db
      tier: "{{ tier }}"
      check_sql: "SELECT EXISTS (SELECT 1 FROM changes WHERE k = 'x')"
      apply_sql: "INSERT INTO changes VALUES ('x', 1)"
      compensate_sql: "DELETE FROM changes WHERE k = 'x'"
"""


def test_the_shipped_runbooks_load_against_the_shipped_platform() -> None:
    catalog = load_catalog(ROOT / "runbooks", load_platform(ROOT / "platform.yaml"))
    assert {"restart-worker", "rebuild-replica", "drain-tier", "dr-switchover", "dr-failover"} <= set(
        catalog.runbooks
    )
    assert {r.runbook for r in catalog.rules} == {
        "restart-worker",
        "rebuild-replica",
        "drain-tier",
        "dr-failover",
    }
    for name in ("dr-switchover", "dr-failover"):
        dr = catalog.runbooks[name]
        assert dr.spec.approval.four_eyes, name
        assert [s.id for s in dr.spec.steps if s.point_of_no_return] == ["promote"], name
    replica = catalog.runbooks["rebuild-replica"]
    assert replica.spec.approval.four_eyes
    assert [s.id for s in replica.spec.steps if s.point_of_no_return] == ["reinitialize"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("db_postgres; rm -rf /", "is not a service of the model"),
        ("$(reboot)", "is not a service of the model"),
        ("{{ ''.__class__.__mro__ }}", "is not a service of the model"),
        ("ext_api", "is a https; expected kubernetes"),
    ],
)
def test_hostile_or_wrong_parameter_values_are_refused_with_the_parameter_named(
    value: str, message: str
) -> None:
    platform = load_platform(ROOT / "platform.yaml")
    rb = load_catalog(ROOT / "runbooks", platform).get("restart-worker")
    with pytest.raises(InputError, match=message) as caught:
        check_params(rb, {"service": value, "tier": "primary"}, platform)
    assert str(caught.value).startswith("parameter service:")
    with pytest.raises(InputError, match="parameter tier: tier tertiary is cold"):
        check_params(rb, {"service": "k8s_workers", "tier": "tertiary"}, platform)


def test_templates_render_values_inert_and_refuse_object_traversal() -> None:
    # A value that looks like a template is text: it is never rendered again.
    assert render("x {{ v }}", {"v": "{{ 7 * 7 }}"}) == "x {{ 7 * 7 }}"
    assert render_args(["a", "{{ v }}"], {"v": "$(reboot)"}) == ["a", "$(reboot)"]
    with pytest.raises(TemplateError):
        render("{{ ''.__class__.__mro__[1].__subclasses__() }}", {})
    with pytest.raises(TemplateError, match="undefined"):
        render("{{ missing }}", {})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("action: postgres_sql", "action: shell"), ":10: steps[0].action: unknown action 'shell'"),
        (
            ("tier: {type: tier}", "tier: {type: string}"),
            ":5: params.tier: a string parameter needs a pattern",
        ),
        (('target: "{{ tier }}"', 'target: "{{ tire }}"'), ":6: target: unknown name(s) tire"),
        (("      service: db\n", "      servce: db\n"), ":12: steps[0].with.servce: unknown field"),
        (("name: bump", "name: other"), ":2: name: expected 'bump'"),
    ],
)
def test_definition_mistakes_read_file_line_field(
    tmp_path: Path, change: tuple[str, str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(tmp_path, str(tmp_path / "s.db"), "postgresql://127.0.0.1:1/none")
    world.runbook("bump", BUMP.replace(*change))
    code, _, err = sre(["runbook", "list", "--platform", str(world.platform_file)], capsys)
    assert code == 2
    assert message in err, err
    assert "Traceback" not in err


def test_plan_approve_run_status_through_the_cli(
    world: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    world.runbook("bump", BUMP)
    base = ["--platform", str(world.platform_file), "--store", world.store_url]
    monkeypatch.setenv("SRE_USER", "alice")
    code, out, _ = sre(["runbook", "plan", "bump", "--param", "tier=primary", "--env", "test", *base], capsys)
    assert code == 0, out
    plan_hash = out.split()[1]
    assert "to do" in out and f"sre runbook approve {plan_hash}" in out

    code, out, _ = sre(
        ["runbook", "run", "bump", "--param", "tier=primary", "--dry-run", "--env", "test", *base], capsys
    )
    assert code == 0 and "nothing was changed" in out
    assert world.sql("SELECT count(*) FROM changes") == [(0,)]

    code, _, err = sre(["runbook", "approve", plan_hash, *base], capsys)
    assert code == 2 and "four eyes" in err
    monkeypatch.setenv("SRE_USER", "bob")
    code, out, _ = sre(["runbook", "approve", plan_hash, *base], capsys)
    assert code == 0 and "as bob" in out

    monkeypatch.setenv("SRE_USER", "alice")
    args = [
        "runbook",
        "run",
        "bump",
        "--param",
        "tier=primary",
        "--approve",
        plan_hash,
        "--env",
        "test",
        *base,
    ]
    code, out, _ = sre(args, capsys)
    assert code == 0, out
    assert ": succeeded" in out
    run_id = out.split()[1]
    assert world.sql("SELECT count(*) FROM changes") == [(1,)]

    code, out, _ = sre(["runbook", "status", run_id, "--format", "json", *base], capsys)
    record = json.loads(out)
    assert record["state"] == "succeeded" and record["approved_by"] == "bob"
    assert [e["event"] for e in record["journal"]][:2] == ["started", "checked"]

    # Done now: the approved plan no longer describes the state, so the approval does not cover a new run.
    code, _, err = sre(args, capsys)
    assert code == 2 and "no longer holds" in err

    code, _, err = sre(
        ["runbook", "run", "bump", "--param", "tier=$(reboot)", "--env", "test", *base], capsys
    )
    assert code == 2 and "parameter tier: '$(reboot)' is not a tier of the model" in err


def test_control_plane_names_a_tier_of_the_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world = World(tmp_path, str(tmp_path / "s.db"), "postgresql://127.0.0.1:1/none")
    text = world.platform_file.read_text()
    world.platform_file.write_text(
        text.replace("environments:", "control_plane: {tier: witness}\nenvironments:")
    )
    code, _, err = sre(["inventory", "validate", str(world.platform_file)], capsys)
    assert code == 2 and "control_plane.tier: unknown tier 'witness'" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "--token-file is required"),
        (["--no-token", "--listen", "localhost"], "--listen: expected HOST:PORT"),
        (["--token-file", "short"], "expected one token of 16 or more characters"),
        (["--token-file", "missing"], "--token-file: MISSING: file not found"),
        (["--no-token", "--api-token-file", "api"], "entry 1: expected NAME: TOKEN"),
    ],
)
def test_serve_refuses_bad_flags_in_one_line(
    tmp_path: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "short").write_text("abc\n")
    (tmp_path / "api").write_text("alice: short\nbob: x\n")
    args = [str(tmp_path / a) if a in ("short", "missing", "api") else a for a in args]
    code, _, err = sre(["serve", "--platform", str(ROOT / "platform.yaml"), *args], capsys)
    assert code == 2, err
    assert message.replace("MISSING", str(tmp_path / "missing")) in err and "Traceback" not in err


def test_a_run_waiting_for_approval_is_resumed_or_aborted_through_the_cli(
    world: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    world.runbook("bump", BUMP)
    base = ["--platform", str(world.platform_file), "--store", world.store_url]
    monkeypatch.setenv("SRE_USER", "alice")
    run = ["runbook", "run", "bump", "--param", "tier=primary", "--env", "test", *base]
    code, out, _ = sre(run, capsys)
    assert code == 1 and ": waiting_approval" in out
    run_id = out.split()[1]
    plan_hash = out.split("sre runbook approve ")[1].split(",")[0]
    monkeypatch.setenv("SRE_USER", "bob")
    code, out, _ = sre(["runbook", "approve", plan_hash, *base], capsys)
    assert code == 0 and f"run {run_id} queued again" in out
    code, out, _ = sre(["runbook", "resume", run_id, "--env", "test", *base], capsys)
    assert code == 0 and ": succeeded" in out, out
    assert world.sql("SELECT count(*) FROM changes") == [(1,)]
    code, _, err = sre(["runbook", "resume", run_id, "--env", "test", *base], capsys)
    assert code == 2 and "nothing to resume" in err

    world.sql("DELETE FROM changes")
    monkeypatch.setenv("SRE_USER", "alice")
    code, out, _ = sre([*run[:4], "tier=secondary", *run[5:]], capsys)  # another plan: not approved
    assert code == 1 and ": waiting_approval" in out
    second = out.split()[1]
    code, out, _ = sre(["runbook", "abort", second, "--env", "test", *base], capsys)
    assert code == 0 and "aborted" in out
    code, out, _ = sre(["runbook", "status", *base], capsys)
    assert f"{second}  bump" in out and "aborted" in out
    assert world.sql("SELECT count(*) FROM changes") == [(0,)]

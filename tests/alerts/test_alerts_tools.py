"""`sre alerts test` and `lint`: promtool and amtool on every generated file, and each check can fail."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from alerts_support import REPO, built, copy_alerts, need
from sre_cli import exit_code

from sre.alerting.build import ALERTMANAGER, ROUTES_TEST, RULES, write
from sre.alerting.tools import check

pytestmark = pytest.mark.integration


def test_every_generated_file_passes_promtool_and_amtool(capsys: pytest.CaptureFixture[str]) -> None:
    need("promtool", "amtool")
    assert exit_code("alerts", "test", "--platform", str(REPO / "platform.yaml")) == 0
    out = capsys.readouterr().out
    tests = sum(1 for p in built() if p.parts[:2] == ("prometheus", "tests"))
    assert out.count("ok: promtool test rules prometheus/tests/") == tests
    assert "ok: promtool check rules" in out and "ok: amtool check-config" in out
    assert "ok: amtool config routes test" in out


def test_a_wrong_threshold_fails_its_unit_test(tmp_path: Path) -> None:
    need("promtool", "amtool")
    write(built(), tmp_path)
    rules = tmp_path / RULES / "redis.yml"
    # The replica's lag bound is 2 s; a rule that waits for 200 s no longer fires in the firing case.
    rules.write_text(rules.read_text().replace('tier="secondary"}) > 2\n', 'tier="secondary"}) > 200\n'))
    report = check(tmp_path, frozenset({"tests"}))
    assert [f for f in report.failed if "tests/redis.yml" in f], report.failed
    assert all("redis" in f for f in report.failed)


def test_a_wrong_route_fails_the_routing_table(tmp_path: Path) -> None:
    need("promtool", "amtool")
    write(built(), tmp_path)
    config = tmp_path / ALERTMANAGER
    doc = yaml.safe_load(config.read_text())
    doc["route"]["routes"].pop(0)  # no automation route: runbook alerts no longer reach the webhook
    config.write_text(yaml.safe_dump(doc))
    failed = [f for f in check(tmp_path, frozenset({"routes"})).failed if f.startswith(str(ROUTES_TEST))]
    assert failed and all("runbook=" in f and "expected runbook-automation" in f for f in failed)


def test_a_config_amtool_rejects_fails(tmp_path: Path) -> None:
    need("promtool", "amtool")
    write(built(), tmp_path)
    config = tmp_path / ALERTMANAGER
    config.write_text(config.read_text().replace("receiver: info\n", "receiver: nowhere\n"))
    failed = [f for f in check(tmp_path, frozenset({"config"})).failed if f.startswith("amtool check-config")]
    assert failed and "nowhere" in failed[0]


def test_lint_passes_on_the_repository(capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code("alerts", "lint", "--platform", str(REPO / "platform.yaml")) == 0
    assert "each emitted by an exporter" in capsys.readouterr().out


def test_lint_names_a_metric_no_exporter_emits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    platform_file = copy_alerts(tmp_path)
    # A definition an SRE adds, with a typo in a metric name.
    (tmp_path / "dashboards" / "evictions.py").write_text(TYPO_BOARD)
    assert exit_code("alerts", "lint", "--platform", str(platform_file)) == 1
    err = capsys.readouterr().err
    assert (
        "dashboard sre-platform-evictions" in err
        and "'redis_evicted_keys_totl' is emitted by no exporter" in err
    )


TYPO_BOARD = """
from sre.grafana import Context, q, rate, selector


def dashboards(ctx: Context):
    board = ctx.board(
        ctx.uid("platform", "evictions"), "Evictions", folder=ctx.platform_folder,
        description="Keys Redis evicted", tags=["platform"],
    )
    board.row("Redis")
    board.graph(
        "Evicted keys",
        q(f"sum({rate(selector('redis_evicted_keys_totl', {'service': 'redis'}))})", "evicted/s"),
        unit="short", description="Keys evicted per second.", width=24,
    )
    yield board
"""


def test_lint_names_a_runbook_without_its_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    platform_file = copy_alerts(tmp_path)
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    for name in ("restart-worker", "rebuild-replica", "dr-failover"):
        (runbooks / f"{name}.yaml").write_text("version: 1\n")
    assert exit_code("alerts", "lint", "--platform", str(platform_file)) == 0
    err = capsys.readouterr().err
    assert err.count("note: runbook") == 1 and "'drain-tier' is named by alerts but" in err


def test_lint_refuses_a_runbook_the_settings_do_not_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    platform_file = copy_alerts(tmp_path)
    settings = tmp_path / "alerts" / "settings.yaml"
    settings.write_text(settings.read_text().replace("  drain-tier: [tier]\n", ""))
    assert exit_code("alerts", "lint", "--platform", str(platform_file)) == 1
    err = capsys.readouterr().err
    assert "TierDegraded: runbook 'drain-tier' is not listed in alerts/settings.yaml runbooks" in err


def test_lint_keeps_the_probe_exporter_list_honest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    platform_file = copy_alerts(tmp_path)
    metrics = tmp_path / "alerts" / "metrics.yaml"
    metrics.write_text(metrics.read_text().replace("    - probe_attempts\n", "    - probe_attempt_count\n"))
    assert exit_code("alerts", "lint", "--platform", str(platform_file)) == 1
    err = capsys.readouterr().err
    assert "'probe_attempt_count' is not written by the probe exporter" in err
    assert "'probe_attempts' is written by the probe exporter but not listed" in err

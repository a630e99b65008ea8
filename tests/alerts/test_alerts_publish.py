"""`sre alerts publish` and `diff` against a real Prometheus and Alertmanager: write what changed,
reload through POST /-/reload, nothing for an unchanged set, a rejected reload named and undone."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from alerts_support import REPO, alertmanager, built, need, prometheus
from sre_cli import exit_code

from sre.alerting.build import ALERTMANAGER, RULES

pytestmark = pytest.mark.integration


def _get(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.load(resp)  # type: ignore[no-any-return]


def _rule_count(url: str) -> int:
    groups = _get(url + "/api/v1/rules")["data"]["groups"]  # type: ignore[index]
    return sum(len(g["rules"]) for g in groups)


def _reloads(url: str) -> float:
    """When Prometheus last reloaded its configuration (its own metric)."""
    with urllib.request.urlopen(url + "/metrics", timeout=5) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith("prometheus_config_last_reload_success_timestamp_seconds "):
                return float(line.split()[1])
    raise AssertionError("no reload timestamp")


def test_publish_writes_reloads_and_then_does_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    need("prometheus", "prometheus-alertmanager")
    rules_dir = tmp_path / "live"
    (rules_dir / "alertmanager").mkdir(parents=True)
    config = rules_dir / ALERTMANAGER
    config.write_text("route: {receiver: nobody}\nreceivers: [{name: nobody}]\n")
    args = ["alerts", "publish", "--rules-dir", str(rules_dir), "--platform", str(REPO / "platform.yaml")]
    with prometheus(tmp_path, str(rules_dir / RULES / "*.yml")) as prom, alertmanager(tmp_path, config) as am:
        assert _rule_count(prom.url) == 0
        assert (
            exit_code(
                *[
                    "alerts",
                    "diff",
                    "--rules-dir",
                    str(rules_dir),
                    "--exit-code",
                    "--platform",
                    str(REPO / "platform.yaml"),
                ]
            )
            == 3
        )
        capsys.readouterr()
        assert exit_code(*args, "--prometheus", prom.url, "--alertmanager", am.url) == 0
        out = capsys.readouterr().out
        assert "update alertmanager/alertmanager.yml" in out and "reloaded: prometheus, alertmanager" in out
        expected = sum(
            len(g["rules"])
            for p, data in built().items()
            if p.parent == RULES
            for g in __import__("yaml").safe_load(data)["groups"]
        )
        assert _rule_count(prom.url) == expected
        status = _get(am.url + "/api/v2/status")
        assert "runbook-automation" in status["config"]["original"]  # type: ignore[index]

        before = _reloads(prom.url)
        mtimes = {p: p.stat().st_mtime_ns for p in rules_dir.rglob("*.yml")}
        assert exit_code(*args, "--prometheus", prom.url, "--alertmanager", am.url) == 0
        assert "unchanged: nothing written, nothing reloaded" in capsys.readouterr().out
        assert _reloads(prom.url) == before
        assert {p: p.stat().st_mtime_ns for p in rules_dir.rglob("*.yml")} == mtimes
        assert (
            exit_code(
                *[
                    "alerts",
                    "diff",
                    "--rules-dir",
                    str(rules_dir),
                    "--exit-code",
                    "--platform",
                    str(REPO / "platform.yaml"),
                ]
            )
            == 0
        )


def test_a_rejected_reload_names_the_files_and_puts_them_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    need("prometheus")
    rules_dir = tmp_path / "live"
    (rules_dir / RULES).mkdir(parents=True)
    # A hand-written file in the folder Prometheus reads, which it refuses: the reload fails.
    broken = rules_dir / RULES / "hand-made.yml"
    with prometheus(tmp_path, str(rules_dir / RULES / "*.yml")) as prom:
        broken.write_text("groups: [{name: x, rules: [{alert: X, expr: 'sum(rate(x[5m]) by ('}]}]\n")
        code = exit_code(
            *[
                "alerts",
                "publish",
                "--rules-dir",
                str(rules_dir),
                "--prometheus",
                prom.url,
                "--platform",
                str(REPO / "platform.yaml"),
            ]
        )
        err = capsys.readouterr().err
        assert code == 1
        assert "Prometheus rejected the reload of prometheus/rules/" in err and "hand-made.yml" in err
        assert "Traceback" not in err
        # The generated files it would have read are gone again: only the hand-made one is left.
        assert sorted(p.name for p in (rules_dir / RULES).iterdir()) == ["hand-made.yml"]

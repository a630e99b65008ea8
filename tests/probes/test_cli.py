"""`sre probe` end to end against local servers: exit codes, formats, --target, merge."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from probe_support import Servers
from sre_cli import exit_code as sre

pytestmark = pytest.mark.integration


def test_all_services_table_exits_1_when_a_probe_fails(
    platform_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = sre("probe", "--all", "--env", "test", "--platform", str(platform_file), "--vantage", "zone-a")
    out = capsys.readouterr().out
    assert code == 1  # the secondary web speaks TLS 1.2 only
    assert "secondary (ams1) " in out and "root cause: web (tls version below policy)" in out
    assert "tertiary (dub1) " in out
    assert "not in this environment" in out and "not_in_environment" not in out  # said once, in words
    assert not set(out) & set("─━│┃┏┓└┘╭╮"), "piped output draws no boxes"
    assert out.rstrip().splitlines()[-1].startswith("exit 1: a probe failed")


def test_only_healthy_probes_exit_0(platform_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = sre(
        "probe",
        "web",
        "k8s",
        "--tier",
        "primary",
        "--env",
        "test",
        "--platform",
        str(platform_file),
        "--format",
        "json",
    )
    doc = json.loads(capsys.readouterr().out)
    statuses = {(r["service"], r["check"]): (r["status"], r["reason"]) for r in doc["results"]}
    assert statuses[("web", "https")] == ("ok", None)
    assert statuses[("k8s", "grpc")] == ("ok", None)
    # the kubernetes API check (k8s.fra1) cannot resolve here: it fails, so the run fails
    assert code == (1 if statuses[("k8s", "kubernetes")][0] == "failed" else 0)
    code = sre("probe", "web", "--tier", "primary", "--env", "test", "--platform", str(platform_file))
    assert code == 0
    assert "primary (fra1) ✓ healthy" in capsys.readouterr().out


def test_cold_tier_down_is_expected(platform_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = sre("probe", "web", "--tier", "tertiary", "--env", "test", "--platform", str(platform_file))
    out = capsys.readouterr().out
    assert code == 0
    assert "down, as a cold standby may be: web" in out and "down: cold standby" in out


def test_junit_and_prometheus_to_files(platform_file: Path, tmp_path: Path) -> None:
    junit = tmp_path / "probes.xml"
    sre("probe", "web", "--env", "test", "--platform", str(platform_file), "-f", "junit", "-o", str(junit))
    root = ET.parse(junit).getroot()
    assert root.get("tests") == "3" and root.get("failures") == "1"
    prom = tmp_path / "probes.prom"
    sre(
        "probe", "web", "--env", "test", "--platform", str(platform_file), "-f", "prometheus", "-o", str(prom)
    )
    assert 'probe_success{check="https",dc="fra1",service="web",tier="primary",vantage=' in prom.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["probe"], "name the services to probe, or give --all"),
        (["probe", "web", "--all"], "either SERVICE names or --all"),
        (["probe", "nope"], "unknown service 'nope'"),
        (["probe", "--all", "--tier", "moon"], "unknown tier 'moon'"),
        (["probe", "--all", "--env", "nope"], "unknown environment 'nope'"),
        (["probe", "--target", "https://x"], "--target needs --kind"),
        (["probe", "--target", "https://x", "--kind", "smtp"], "unknown check 'smtp'"),
        (["probe", "--kind", "https"], "--kind goes with --target"),
        (["probe", "--all", "--format", "xml"], "xml"),
        (["probe", "merge", "missing.json"], "missing.json: file not found"),
        (["probe", "serve", "--listen", "nowhere"], "expected HOST:PORT"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    platform_file: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    extra = [] if "merge" in args else ["--platform", str(platform_file)]
    if "merge" not in args and "--env" not in args:
        extra += ["--env", "test"]
    code = sre(*args, *extra)
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err
    assert "Traceback" not in err


def test_target_outside_the_model(
    servers: Servers, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "probes").mkdir()
    code = sre(
        "probe",
        "--target",
        f"tcp://127.0.0.1:{servers.http}",
        "--kind",
        "tcp",
        "--platform",
        str(tmp_path / "none.yaml"),
        "-f",
        "json",
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert doc["results"][0]["status"] == "ok"
    code = sre(
        "probe",
        "--target",
        f"127.0.0.1:{servers.closed}",
        "--kind",
        "tcp",
        "--platform",
        str(tmp_path / "none.yaml"),
    )
    assert code == 1
    assert "connect_refused" in capsys.readouterr().out


def test_merge_vantages(platform_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = []
    for vantage in ("zone-a", "zone-b"):
        path = tmp_path / f"{vantage}.json"
        sre(
            "probe",
            "web",
            "--env",
            "test",
            "--platform",
            str(platform_file),
            "-f",
            "json",
            "-o",
            str(path),
            "--vantage",
            vantage,
        )
        files.append(str(path))
    code = sre("probe", "merge", *files, "-f", "json")
    doc = json.loads(capsys.readouterr().out)
    shares = {(s["service"], s["tier"]): (s["status"], s["reached"], s["vantages"]) for s in doc["services"]}
    assert shares[("web", "primary")] == ("ok", 2, 2)
    assert shares[("web", "secondary")] == ("failed", 0, 2)
    assert shares[("web", "tertiary")][0] == "expected_down"
    assert code == 1

"""`sre inventory` and the rules for finding platform.yaml, through the real entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sre_cli import run

from sre import __version__

ROOT = Path(__file__).resolve().parents[2]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--version"], capsys) == (0, f"sre {__version__}\n", "")


def test_validate_defaults_to_platform_yaml_in_the_working_directory(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("SRE_PLATFORM", raising=False)
    code, out, _ = run(["inventory", "validate"], capsys)
    assert code == 0
    assert out.startswith("platform.yaml: ok: 20 services in 4 zones, 3 tiers, 23 edges; environments: prod")


def test_sre_platform_variable_is_used_and_the_flag_wins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 2\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SRE_PLATFORM", str(broken))
    code, _, err = run(["inventory", "graph"], capsys)
    assert code == 2
    assert f"{broken}:1: version: expected 1; got 2" in err.splitlines()
    code, out, _ = run(["inventory", "graph", "--platform", str(ROOT / "platform.yaml")], capsys)
    assert code == 0
    assert out.startswith("graph LR")


def test_show_table_has_zones_and_tiers(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "240")
    code, out, _ = run(["inventory", "show", "--platform", str(ROOT / "platform.yaml")], capsys)
    assert code == 0
    for text in ("DMZ", "Internal Network", "Data Layer", "Monitoring", "primary", "secondary", "tertiary"):
        assert text in out
    assert "replica: pg.ams1.prod.acme.internal:5432" in out


def test_bad_flag_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["inventory", "graph", "--format", "svg"], capsys)
    assert code == 2
    assert "svg" in err
    assert "Traceback" not in err


def test_help_lists_the_command_groups() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sre", "--help"], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert "inventory" in done.stdout

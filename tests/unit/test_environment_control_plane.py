"""An environment may say where its control plane runs; the DR runbooks read it, unknown tiers are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from sre.errors import SreError
from sre.platform.loader import load_environment, load_platform

REPO = Path(__file__).resolve().parents[2]


def _platform_with(tmp_path: Path, body: str) -> Path:
    (tmp_path / "env.yaml").write_text(body, encoding="utf-8")
    text = (REPO / "platform.yaml").read_text(encoding="utf-8")
    text = text.replace("environments:\n", "environments:\n  drill:\n    file: env.yaml\n", 1)
    platform_file = tmp_path / "platform.yaml"
    platform_file.write_text(text, encoding="utf-8")
    return platform_file


def test_an_environment_file_names_the_tier_its_control_plane_runs_in(tmp_path: Path) -> None:
    platform = load_platform(_platform_with(tmp_path, "control_plane_tier: tertiary\n"))
    assert load_environment(platform, "drill").control_plane_tier == "tertiary"


def test_an_unknown_control_plane_tier_is_one_line_naming_the_field(tmp_path: Path) -> None:
    platform = load_platform(_platform_with(tmp_path, "control_plane_tier: moon\n"))
    with pytest.raises(SreError) as caught:
        load_environment(platform, "drill")
    assert "control_plane_tier" in str(caught.value) and "unknown tier 'moon'" in str(caught.value)

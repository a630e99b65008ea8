"""Settings of the datastore and API checks: checked when probes/ loads, and again by the check."""

from __future__ import annotations

from pathlib import Path

import pytest
from checkrun import probe

from sre.errors import InputError
from sre.probes.checks import REGISTRY, get_check
from sre.probes.definitions import load_definitions
from sre.probes.model import Reason
from sre.probes.settings import SETTINGS

MINE = (
    "postgres",
    "redis",
    "nats",
    "kafka",
    "mongodb",
    "clickhouse",
    "s3",
    "vault",
    "elasticsearch",
    "mlflow",
    "kubernetes",
    "delta_lake",
)


@pytest.mark.parametrize("check", MINE)
def test_every_check_is_registered_and_has_a_settings_model(check: str) -> None:
    assert check in REGISTRY
    assert check in SETTINGS
    assert callable(get_check(check))


def test_mistakes_in_settings_are_load_errors_with_file_line_and_path(tmp_path: Path) -> None:
    (tmp_path / "kinds.yaml").write_text(
        "version: 1\nkinds:\n  nats:\n    settings:\n      stream: S\n      create_stream: perhaps\n"
        "  vault:\n    settings: {path: /v1/sys/health}\n"
    )
    with pytest.raises(InputError) as raised:
        load_definitions(tmp_path)
    lines = str(raised.value).splitlines()
    assert any(":6: kinds.nats.settings.create_stream:" in line for line in lines), lines
    assert any("kinds.vault.settings.path:" in line for line in lines), lines


def test_good_settings_load(tmp_path: Path) -> None:
    (tmp_path / "kinds.yaml").write_text(
        "version: 1\nkinds:\n  nats: {settings: {stream: PROBE, create_stream: true}}\n"
        "  s3: {settings: {write: false, addressing_style: path}}\n"
    )
    assert load_definitions(tmp_path).for_kind("nats").settings == {"stream": "PROBE", "create_stream": True}


def test_a_bad_setting_that_reaches_a_check_fails_the_probe_with_one_line() -> None:
    seen = probe("redis", "redis://127.0.0.1:1", settings={"compare_master": "sometimes"})
    assert seen.reason is Reason.internal
    assert seen.message.startswith("settings.compare_master:")

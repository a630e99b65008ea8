"""Settings of the datastore and API checks: validated before any driver is imported."""

from __future__ import annotations

import subprocess
import sys

import pytest
from checkrun import probe

from sre.probes.checks import REGISTRY, get_check
from sre.probes.checks.settings import SETTINGS, validate_settings
from sre.probes.model import Reason

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


def test_unknown_and_mistyped_settings_are_reported_with_their_path() -> None:
    problems = validate_settings("nats", {"stream": "S", "create_stream": "perhaps", "strem": "x"})
    assert ("create_stream", "Input should be a valid boolean, unable to interpret input") in problems
    assert any(path == "strem" and "Extra inputs" in message for path, message in problems)
    assert validate_settings("nats", {"stream": "S", "create_stream": True}) == []
    assert validate_settings("http", {"anything": 1}) == []  # not a kind of these checks


def test_validation_imports_no_driver() -> None:
    code = (
        "import sys\n"
        "from sre.probes.checks.settings import validate_settings\n"
        "validate_settings('postgres', {'write_check': False})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in DRIVERS))\n"
    ).replace(
        "DRIVERS", repr({"psycopg", "pymongo", "aiokafka", "aiobotocore", "nats", "redis", "kubernetes"})
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_bad_setting_fails_the_probe_with_one_line() -> None:
    seen = probe("redis", "redis://127.0.0.1:1", settings={"compare_master": "sometimes"})
    assert seen.reason is Reason.internal
    assert seen.message.startswith("settings.compare_master:")

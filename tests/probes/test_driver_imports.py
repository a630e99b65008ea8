"""Drivers come in without the optional extras they would import for features probes never use."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sre.probes.checks._imports import without


def test_hidden_module_is_not_importable_inside_and_is_afterwards() -> None:
    name = "sre_test_never_imported_module"
    with without(name), pytest.raises(ImportError):
        __import__(name)
    assert name not in sys.modules


def test_already_imported_modules_are_left_alone() -> None:
    import json

    with without("json"):
        assert __import__("json") is json
    assert sys.modules["json"] is json


def test_nats_and_redis_checks_do_not_drag_in_aiohttp_or_the_otel_sdk() -> None:
    code = (
        "import sys, sre.probes.checks.nats, sre.probes.checks.redis\n"
        "print(sorted(m for m in ('aiohttp', 'opentelemetry.sdk.metrics') if m in sys.modules))\n"
        "import aiohttp, opentelemetry.sdk.metrics\n"  # both still importable by whoever needs them
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_missing_driver_names_its_package_and_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from probe_support import make_target

    from sre.probes import checks
    from sre.probes.context import RunContext
    from sre.probes.model import Reason, Status
    from sre.probes.runner import run_probes

    monkeypatch.setitem(sys.modules, "psycopg", None)  # what an install without psycopg looks like
    monkeypatch.delitem(sys.modules, "sre.probes.checks.postgres", raising=False)
    monkeypatch.delitem(checks._loaded, "postgres", raising=False)
    target = make_target("postgresql://127.0.0.1:1/app", "postgres")
    [result] = asyncio.run(run_probes([target], RunContext(vantage="t"), concurrency=1, budget=5))
    assert (result.status, result.reason) == (Status.failed, Reason.unsupported)
    assert result.message == (
        "check 'postgres' needs the Python package psycopg, which is not installed: "
        "pip install 'psycopg[binary]<4,>=3.2' (a dependency of sre)"
    )


def test_a_driver_from_an_extra_names_the_extra() -> None:
    from sre.probes.checks.drivers import missing_driver

    missing = ModuleNotFoundError("No module named 'mlflow'", name="mlflow")
    assert missing_driver("mlflow", missing).endswith("not installed: pip install 'sre[mlflow]'")
    unknown = ModuleNotFoundError("No module named 'leftpad'", name="leftpad")
    assert missing_driver("x", unknown).endswith(
        "needs the Python package leftpad, which is not installed: pip install leftpad"
    )

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

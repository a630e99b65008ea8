"""Name the Python package behind a check whose driver will not import, with the command that installs it."""

from __future__ import annotations

import re
from importlib import metadata

# Top-level module -> the distribution that ships it, where the names differ.
DISTRIBUTIONS = {
    "nats": "nats-py",
    "grpc": "grpcio",
    "grpc_health": "grpcio-health-checking",
    "dns": "dnspython",
    "botocore": "aiobotocore",
    "multidict": "aiohttp",
}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(distribution: str) -> tuple[str, str | None] | None:
    """How sre's own metadata asks for `distribution`: (requirement, extra or None)."""
    try:
        requirements = metadata.requires("sre") or []
    except metadata.PackageNotFoundError:
        return None
    for line in requirements:
        spec, _, marker = line.partition(";")
        name = re.match(r"[A-Za-z0-9_.-]+", spec.strip())
        if name and _canonical(name.group(0)) == _canonical(distribution):
            extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
            return spec.strip(), extra.group(1) if extra else None
    return None


def missing_driver(check: str, exc: ImportError) -> str:
    """`check 'postgres' needs the Python package psycopg, which is not installed: pip install ...`."""
    module = (exc.name or "").partition(".")[0]
    if not module or module == "sre":
        return f"no check named {check!r} is installed"
    distribution = DISTRIBUTIONS.get(module, module)
    declared = _declared(distribution)
    if declared is None:
        how = f"pip install {distribution}"
    elif declared[1] is not None:
        how = f"pip install 'sre[{declared[1]}]'"
    else:
        how = f"pip install '{declared[0]}' (a dependency of sre)"
    return f"check {check!r} needs the Python package {distribution}, which is not installed: {how}"

"""Find, read and check platform.yaml and the environment it is used in."""

from __future__ import annotations

import os
from pathlib import Path

from sre.errors import InputError
from sre.platform.checks import cross_check, environment_problems
from sre.platform.model import Endpoint, EnvironmentBody, Platform
from sre.yamlfile import read_document, validate

DEFAULT_FILE = Path("platform.yaml")
PLATFORM_ENV_VAR = "SRE_PLATFORM"


def resolve_platform_path(option: Path | None) -> Path:
    """--platform FILE, else $SRE_PLATFORM, else ./platform.yaml."""
    if option is not None:
        return option
    from_env = os.environ.get(PLATFORM_ENV_VAR)
    return Path(from_env) if from_env else DEFAULT_FILE


def load_platform(path: Path) -> Platform:
    doc = read_document(path)
    platform = validate(Platform, doc)
    problems = cross_check(platform)
    if problems:
        raise doc.fail(problems)
    platform._source = path
    return platform


def load_environment(platform: Platform, name: str) -> EnvironmentBody:
    """The endpoints of one environment, with file paths made absolute."""
    env = platform.environments.get(name)
    if env is None:
        known = ", ".join(platform.environments)
        raise InputError(f"{platform.source}: unknown environment {name!r}; defined: {known}")
    base = platform.source.parent
    body: EnvironmentBody = env
    if env.file:
        path = base / env.file
        if not path.exists():
            hint = "; `sre sandbox up` writes it" if name == "sandbox" else ""
            raise InputError(
                f"{platform.source}: environment {name!r} reads its endpoints from {path}, "
                f"which does not exist{hint}"
            )
        doc = read_document(path)
        body = validate(EnvironmentBody, doc)
        problems = list(environment_problems(platform, body, ()))
        if problems:
            raise doc.fail(problems)
        base = path.parent
    return _absolute(body, base)


def _absolute(body: EnvironmentBody, base: Path) -> EnvironmentBody:
    def fix(path: str | None) -> str | None:
        return str((base / path).resolve()) if path else None

    ca_file = fix(body.ca_file)
    endpoints: dict[str, dict[str, Endpoint]] = {
        sid: {
            tid: ep.model_copy(
                update={
                    "ca_file": fix(ep.ca_file) or ca_file,
                    "secrets": {
                        name: ref.model_copy(update={"file": fix(ref.file)})
                        for name, ref in ep.secrets.items()
                    },
                }
            )
            for tid, ep in per_tier.items()
        }
        for sid, per_tier in body.endpoints.items()
    }
    return body.model_copy(update={"ca_file": ca_file, "endpoints": endpoints})

"""Load platform.yaml and elk/, and build: what every `sre elk` command starts from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sre.elk.build import Bundle, build
from sre.elk.definitions import Definitions, default_root, load_definitions
from sre.elk.meta import source_commit
from sre.platform.loader import load_platform
from sre.platform.model import Platform


@dataclass(frozen=True)
class Workspace:
    platform: Platform
    defs: Definitions
    bundle: Bundle

    @property
    def project_root(self) -> Path:
        return self.platform.source.parent


def open_workspace(platform_file: Path, defs_dir: Path | None) -> Workspace:
    platform = load_platform(platform_file)
    root = defs_dir or default_root(platform)
    defs = load_definitions(root, platform)
    commit = source_commit(platform.source.parent, [platform.source, root])
    return Workspace(platform=platform, defs=defs, bundle=build(platform, defs, commit))

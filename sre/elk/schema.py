"""Check every body against Elasticsearch's own request schemas, with the shared offline checker.

The checker (shared/tools/validate_elasticsearch.py, with the schemas cut from Elastic's API
specification) lives beside the project, not in it: `../shared` from the project root, or any
ancestor's `shared/`, or $SRE_SHARED_DIR. Where none is found the check is skipped, and lint says so.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from sre.elk.build import Bundle
from sre.elk.names import Kind
from sre.sharedtools import find_beside_project

SHARED_ENV_VAR = "SRE_SHARED_DIR"
TOOL = Path("tools") / "validate_elasticsearch.py"
OPERATIONS: dict[Kind, str] = {
    "ilm": "ilm.put_lifecycle",
    "pipelines": "ingest.put_pipeline",
    "component_templates": "cluster.put_component_template",
    "index_templates": "indices.put_index_template",
}


@dataclass
class SchemaReport:
    tool: Path | None
    checked: int = 0
    errors: list[str] = field(default_factory=list)


def find_tool(project_root: Path) -> Path | None:
    if from_env := os.environ.get(SHARED_ENV_VAR):
        tool = Path(from_env) / TOOL
        return tool if tool.is_file() else None
    return find_beside_project(project_root, Path("shared") / TOOL, SHARED_ENV_VAR)


def _load(tool: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("sre_shared_validate_elasticsearch", tool)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {tool}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check(bundle: Bundle, project_root: Path) -> SchemaReport:
    tool = find_tool(project_root)
    report = SchemaReport(tool=tool)
    if tool is None:
        return report
    module = _load(tool)
    validator: Any = module.SpecValidator(module.SPEC)
    for kind, name, body in bundle:
        report.checked += 1
        for error in validator.errors(OPERATIONS[kind], body):
            report.errors.append(f"{kind}/{name}: schema: {error}")
    return report

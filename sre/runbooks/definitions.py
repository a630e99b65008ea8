"""Runbook definitions as code: runbooks/<name>.yaml, and the alert rules in runbooks/rules.yaml.

    version: 1
    name: restart-worker
    revision: 3                       # bump on every change; the plan hash covers it and the file
    params:
      service: {type: service, kinds: [kubernetes]}
      tier: {type: tier, standby: [active]}
    target: "{{ service }}/{{ tier }}"  # what the lock and the circuit breaker are keyed by
    approval: {required: true, four_eyes: true, ttl: 30m}
    limits: {runs: 3, per: 1h}
    steps:
      - id: restart
        action: kubernetes_rollout_restart
        with: {service: "{{ service }}", tier: "{{ tier }}", deployment: worker}
        timeout: 2m
        retry: {attempts: 2, delay: 5s}
        point_of_no_return: false

Mistakes read `file:line: field.path: message` and exit 2, like every definition file.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from sre.errors import InputError
from sre.platform.model import Id, Platform
from sre.probes.conditions import parse_duration
from sre.runbooks.actions import REGISTRY
from sre.runbooks.templating import TemplateError, check_template
from sre.strict import Strict
from sre.yamlfile import Document, PathKey, Problem, pydantic_problems, read_document, validate

DEFAULT_DIR = "runbooks"
RULES_FILE = "rules.yaml"
NAME = r"^[a-z][a-z0-9-]{0,62}$"


def _duration(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


Duration = Annotated[float, BeforeValidator(_duration), Field(gt=0)]


class Param(Strict):
    """A typed parameter. Model types are checked against platform.yaml; text needs a full-match pattern."""

    type: Literal["service", "tier", "dc", "zone", "string", "integer"]
    description: str = ""
    kinds: list[str] = []  # service: only services of these kinds
    stateful: bool | None = None  # service: only stateful (or stateless) services
    standby: list[Literal["active", "hot", "cold"]] = []  # tier: only tiers of these standby modes
    pattern: str | None = None  # string: the value must match all of it
    choices: list[str] = []  # string: or be one of these
    minimum: int | None = None
    maximum: int | None = None
    default: str | int | None = None

    @model_validator(mode="after")
    def _text_is_bounded(self) -> Param:
        if self.type == "string" and not (self.pattern or self.choices):
            raise ValueError("a string parameter needs a pattern or choices (alert labels are hostile)")
        if self.pattern:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern: not a regular expression: {exc}") from None
        return self


class Retry(Strict):
    attempts: Annotated[int, Field(ge=1, le=20)] = 1
    delay: Annotated[float, BeforeValidator(_duration), Field(ge=0)] = 1.0


class Step(Strict):
    id: Annotated[str, Field(pattern=NAME)]
    action: str
    description: str = ""
    with_: Annotated[dict[str, Any], Field(alias="with")] = {}
    timeout: Duration = 60.0
    retry: Retry = Retry()
    point_of_no_return: bool = False
    approval: bool = False  # this step needs the plan approved before the run starts

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Approval(Strict):
    required: bool = False
    four_eyes: bool = False  # the approver must not be who asked for the run
    ttl: Duration = 1800.0


class Limits(Strict):
    """The circuit breaker: at most `runs` started runs of this runbook per target in `per`."""

    runs: Annotated[int, Field(ge=1)] = 3
    per: Duration = 3600.0


class RunbookFile(Strict):
    version: Literal[1]
    name: Annotated[str, Field(pattern=NAME)]
    revision: Annotated[int, Field(ge=1)]
    description: str = ""
    params: dict[Id, Param] = {}
    target: str
    approval: Approval = Approval()
    limits: Limits = Limits()
    steps: Annotated[list[Step], Field(min_length=1)]


class Rule(Strict):
    name: Annotated[str, Field(pattern=NAME)]
    match: dict[str, str] = {}  # label: exact value
    match_re: dict[str, str] = {}  # label: regular expression, matched in full
    runbook: Annotated[str, Field(pattern=NAME)]
    params: dict[Id, str] = {}  # parameter: the label that gives its value
    status: Literal["firing"] = "firing"


class RulesFile(Strict):
    version: Literal[1]
    rules: list[Rule] = []


@dataclass(frozen=True)
class Runbook:
    spec: RunbookFile
    source: Path
    digest: str  # of the file: the plan hash covers the exact definition

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def needs_approval(self) -> bool:
        return self.spec.approval.required or any(s.approval for s in self.spec.steps)


@dataclass
class Catalog:
    runbooks: dict[str, Runbook] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)
    folder: Path = Path(DEFAULT_DIR)

    def get(self, name: str) -> Runbook:
        found = self.runbooks.get(name)
        if found is None:
            known = ", ".join(sorted(self.runbooks)) or "none"
            raise InputError(f"unknown runbook {name!r}; defined in {self.folder}: {known}")
        return found


def runbooks_dir(platform_source: Path, option: Path | None) -> Path:
    return option if option is not None else platform_source.parent / DEFAULT_DIR


def load_catalog(folder: Path, platform: Platform) -> Catalog:
    if not folder.is_dir():
        raise InputError(f"{folder}: runbook folder not found")
    catalog = Catalog(folder=folder)
    rules_doc: Document | None = None
    for path in sorted(folder.glob("*.yaml")):
        doc = read_document(path)
        if path.name == RULES_FILE:
            rules_doc = doc
            catalog.rules = list(validate(RulesFile, doc).rules)
            continue
        spec = validate(RunbookFile, doc)
        problems = list(_runbook_problems(spec, platform))
        if spec.name != path.stem:
            problems.append(Problem(("name",), f"expected {path.stem!r}, the file's name; got {spec.name!r}"))
        if problems:
            raise doc.fail(problems)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        catalog.runbooks[spec.name] = Runbook(spec=spec, source=path, digest=digest)
    if rules_doc is not None:
        problems = list(_rule_problems(catalog))
        if problems:
            raise rules_doc.fail(problems)
    return catalog


def _runbook_problems(spec: RunbookFile, platform: Platform) -> list[Problem]:
    out: list[Problem] = []
    names = set(spec.params) | {"run_id"}
    for pname, param in spec.params.items():
        for kind in param.kinds:
            if kind not in {s.kind for s in platform.services.values()}:
                out.append(Problem(("params", pname, "kinds"), f"no service of kind {kind!r} in the model"))
    for where, text in [(("target",), spec.target)]:
        out.extend(_template_problems(where, text, names))
    seen: set[str] = set()
    for i, step in enumerate(spec.steps):
        if step.id in seen:
            out.append(Problem(("steps", i, "id"), f"duplicate step id {step.id!r}"))
        seen.add(step.id)
        action = REGISTRY.get(step.action)
        if action is None:
            known = ", ".join(sorted(REGISTRY))
            out.append(
                Problem(("steps", i, "action"), f"unknown action {step.action!r}; expected one of {known}")
            )
            continue
        try:
            action.Args.model_validate(_placeholders(step.with_))
        except ValidationError as exc:
            out.extend(pydantic_problems(exc, ("steps", i, "with")))
        for key, value in _strings(step.with_, ()):
            out.extend(_template_problems(("steps", i, "with", *key), value, names))
    return out


def _strings(value: Any, path: PathKey) -> list[tuple[PathKey, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in _strings(v, (*path, str(k)))]
    if isinstance(value, list):
        return [x for i, v in enumerate(value) for x in _strings(v, (*path, i))]
    return []


def _placeholders(value: Any) -> Any:
    """Arguments with templates replaced by a plain value, so their shape can be checked at load."""
    if isinstance(value, str):
        return "x" if "{{" in value or "{%" in value else value
    if isinstance(value, dict):
        return {k: _placeholders(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_placeholders(v) for v in value]
    return value


def _template_problems(where: PathKey, text: str, names: set[str]) -> list[Problem]:
    try:
        unknown = check_template(text) - names
    except TemplateError as exc:
        return [Problem(where, str(exc))]
    if unknown:
        return [
            Problem(
                where, f"unknown name(s) {', '.join(sorted(unknown))}; parameters: {', '.join(sorted(names))}"
            )
        ]
    return []


def _rule_problems(catalog: Catalog) -> list[Problem]:
    out: list[Problem] = []
    for i, rule in enumerate(catalog.rules):
        runbook = catalog.runbooks.get(rule.runbook)
        if runbook is None:
            out.append(Problem(("rules", i, "runbook"), f"unknown runbook {rule.runbook!r}"))
            continue
        for pname in rule.params:
            if pname not in runbook.spec.params:
                out.append(
                    Problem(("rules", i, "params", pname), f"runbook {rule.runbook} has no such parameter")
                )
        for pname, param in runbook.spec.params.items():
            if pname not in rule.params and param.default is None:
                out.append(
                    Problem(("rules", i, "params"), f"parameter {pname!r} of {rule.runbook} has no label")
                )
        for label, pattern in rule.match_re.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                out.append(Problem(("rules", i, "match_re", label), f"not a regular expression: {exc}"))
    return out

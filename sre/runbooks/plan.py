"""A plan: every step's check run read-only, the facts it saw, and a hash an approval is bound to.

The hash covers the runbook (name, revision and the file's digest), the
parameters and every fact, so an approval means "this exact change, given this
exact state"; at run time the facts are read again and any drift shows as a new
hash, which the old approval does not cover.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from sre.runbooks.actions import REGISTRY, ActionFailed, Context
from sre.runbooks.definitions import Runbook, Step
from sre.runbooks.templating import render, render_args

PLAN_RUN_ID = "(run id)"


@dataclass
class StepPlan:
    id: str
    action: str
    done: bool
    facts: dict[str, Any]
    point_of_no_return: bool
    approval: bool
    reversible: bool
    timeout: float
    attempts: int
    error: str | None = None


@dataclass
class Plan:
    runbook: str
    revision: int
    digest: str
    params: dict[str, Any]
    target: str
    needs_approval: bool
    four_eyes: bool
    steps: list[StepPlan] = field(default_factory=list)
    hash: str = ""

    def body(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "hash"}

    def digest_text(self) -> str:
        facts = [{"id": s.id, "done": s.done, "facts": s.facts, "error": s.error} for s in self.steps]
        material = {
            "runbook": self.runbook,
            "revision": self.revision,
            "digest": self.digest,
            "params": self.params,
            "facts": facts,
        }
        return json.dumps(material, sort_keys=True, default=str)


def values(params: dict[str, Any], run_id: str) -> dict[str, Any]:
    return {**params, "run_id": run_id}


def step_args(step: Step, params: dict[str, Any], run_id: str) -> Any:
    action = REGISTRY[step.action]
    return action.Args.model_validate(render_args(step.with_, values(params, run_id)))


def target_of(runbook: Runbook, params: dict[str, Any]) -> str:
    return f"{runbook.name}:{render(runbook.spec.target, values(params, PLAN_RUN_ID))}"


async def make_plan(runbook: Runbook, params: dict[str, Any], ctx: Context) -> Plan:
    spec = runbook.spec
    plan = Plan(
        runbook=runbook.name,
        revision=spec.revision,
        digest=runbook.digest,
        params=params,
        target=target_of(runbook, params),
        needs_approval=runbook.needs_approval,
        four_eyes=spec.approval.four_eyes,
    )
    for step in spec.steps:
        action = REGISTRY[step.action]
        sp = StepPlan(
            id=step.id,
            action=step.action,
            done=False,
            facts={},
            point_of_no_return=step.point_of_no_return,
            approval=step.approval,
            reversible=action.reversible,
            timeout=step.timeout,
            attempts=step.retry.attempts,
        )
        try:
            args = step_args(step, params, ctx.run_id)
            async with asyncio.timeout(step.timeout):
                found = await action.check(args, ctx)
            sp.done, sp.facts = found.done, found.facts
        except ActionFailed as exc:
            sp.error = ctx.scrub(str(exc))
        except ValueError as exc:  # arguments that, rendered, are not what the action takes
            sp.error = ctx.scrub(f"arguments: {' '.join(str(exc).split())[:300]}")
        except TimeoutError:
            sp.error = f"check did not answer within {step.timeout:g} s"
        plan.steps.append(sp)
    plan.hash = hashlib.sha256(plan.digest_text().encode()).hexdigest()[:20]
    return plan


def drift(old: dict[str, Any], new: Plan) -> list[str]:
    """What changed between an approved plan and the state now, one line per difference."""
    out: list[str] = []
    if old.get("digest") != new.digest or old.get("revision") != new.revision:
        out.append(f"runbook {new.runbook} changed (revision {old.get('revision')} -> {new.revision})")
    if old.get("params") != new.params:
        out.append(f"parameters changed: {old.get('params')} -> {new.params}")
    before = {s["id"]: s for s in old.get("steps", [])}
    for step in new.steps:
        was = before.get(step.id, {})
        for key in ("done", "facts", "error"):
            if was.get(key) != getattr(step, key):
                out.append(f"step {step.id}: {key} was {was.get(key)!r}, now {getattr(step, key)!r}")
    return out

"""One runbook run from Python, the way `sre runbook plan/approve/run` do it from a shell.

For callers that drive the engine themselves (`sre drill dr`, tests): plan,
approve as someone else when the runbook needs it, request the run bound to
that plan hash, claim it and execute it to its end. The run is journaled like
any other; a plan with a failing check is refused before anything changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sre.runbooks import store as st

if TYPE_CHECKING:
    from sre.runbooks.engine import Engine
    from sre.runbooks.plan import Plan
    from sre.runbooks.store import Run


PLAN_ATTEMPTS = 3
DRIFTED = "facts drifted since plan"  # the engine's refusal when a run's facts are not its plan's


@dataclass
class Outcome:
    """How a run ended: its id (None when the plan refused), state, message, plan and journal."""

    run_id: str | None
    state: str
    message: str
    plan: Plan
    journal: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.state == st.SUCCEEDED

    def refusals(self) -> list[str]:
        """The plan's failed checks, `step: reason` (the machine-readable refusal)."""
        return [f"{s.id}: {s.error}" for s in self.plan.steps if s.error]


async def run_runbook(
    engine: Engine,
    name: str,
    params: dict[str, str],
    *,
    requested_by: str,
    approved_by: str | None = None,
    trigger: str = "api",
) -> Outcome:
    """Plan, approve (as `approved_by`, when the runbook needs it), run; the outcome.

    `params` are raw strings, checked against the model like `--param` flags
    (InputError on a bad one). A plan with a failing check is not run: the
    outcome is `refused` with the reasons, and nothing was changed. A plan
    whose facts change before its run starts is planned and approved again.
    """
    from sre.errors import InputError
    from sre.runbooks.params import check_params

    runbook = engine.catalog.get(name)
    checked = check_params(runbook, params, engine.platform)
    for attempt in range(1, PLAN_ATTEMPTS + 1):
        last = attempt == PLAN_ATTEMPTS
        plan = await engine.plan(runbook, checked, requested_by)
        refused = [f"{s.id}: {s.error}" for s in plan.steps if s.error]
        if refused:
            return Outcome(None, st.REFUSED, "; ".join(refused), plan)
        if runbook.needs_approval:
            if approved_by is None:
                raise InputError(f"runbook {name} needs approval: give approved_by")
            engine.approve(plan.hash, approved_by)
        try:
            run_id, plan = await engine.request(
                runbook, checked, requested_by=requested_by, trigger=trigger, approved_hash=plan.hash
            )
        except InputError:
            # The facts moved between the plan and the request (a probe that recovered): the
            # approval does not cover the new plan, so plan and approve again, a few times.
            if last:
                raise
            continue
        outcome = await _execute(engine, run_id, plan)
        # Refused at its start for the same reason (nothing was done): again, a few times.
        if last or not (outcome.state == st.REFUSED and outcome.message.startswith(DRIFTED)):
            return outcome
    raise AssertionError("unreachable")  # the last attempt returns or raises


async def _execute(engine: Engine, run_id: str, plan: Plan) -> Outcome:
    from sre.errors import InputError

    claimed = engine.store.claim_run(engine.owner, engine.lease, run_id)
    if claimed is None:
        raise InputError(f"run {run_id}: another worker holds it")
    state = await engine.execute(claimed)
    final: Run | None = engine.store.run(run_id)
    return Outcome(
        run_id,
        state,
        (final.message if final else None) or state,
        plan,
        final.journal if final else [],
    )

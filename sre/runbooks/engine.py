"""The engine: request a run, then execute it step by step, journaled before every action.

Guarantees (docs/runbooks.md says them to the user):
- every transition is in the journal before it is acted on: `apply` is written
  before the action runs, `done` after it was verified;
- a run resumed after a crash skips the steps whose `done` is journaled and
  re-runs `check` first for the one in flight, so a finished step is not applied twice;
- one run per target at a time, with a fencing token checked on every journal
  write: a worker that lost its lock cannot journal, so it stops before acting;
- a circuit breaker: at most `limits.runs` started runs per runbook and target in `limits.per`;
- an approval counts only for the plan hash it names, until it expires, and (four
  eyes) only from someone other than the requester; facts are read again at the
  start, and drift makes a new hash the approval does not cover;
- a failure before the point of no return compensates what was applied, in
  reverse; after it, the run stops and asks for a human.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sre.errors import InputError
from sre.platform.model import EnvironmentBody, Platform
from sre.runbooks import store as st
from sre.runbooks.actions import REGISTRY, ActionFailed, Context, Settings
from sre.runbooks.definitions import Catalog, Runbook, Step
from sre.runbooks.plan import PLAN_RUN_ID, Plan, drift, make_plan, step_args
from sre.runbooks.store import LostLock, Run, Store
from sre.runbooks.tracing import span

DEFAULT_LEASE = 30.0
Observer = Callable[[str, str, str, dict[str, Any]], None]  # run id, step, event, detail


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Engine:
    store: Store
    catalog: Catalog
    platform: Platform
    environment: EnvironmentBody | None
    settings: Settings = field(default_factory=Settings)
    owner: str = field(default_factory=default_owner)
    lease: float = DEFAULT_LEASE
    observers: list[Observer] = field(default_factory=list)
    # `sre drill` turns it off for its own runs (and says so): a drill switches back and forth on purpose.
    breaker: bool = True

    def context(self, run_id: str) -> Context:
        return Context(
            run_id=run_id, platform=self.platform, environment=self.environment, settings=self.settings
        )

    # --- before a run ----------------------------------------------------------------------------

    async def plan(self, runbook: Runbook, params: dict[str, Any], requested_by: str) -> Plan:
        plan = await make_plan(runbook, params, self.context(PLAN_RUN_ID))
        self.store.save_plan(plan.hash, runbook.name, plan.body(), requested_by)
        return plan

    def approve(self, plan_hash: str, approver: str) -> tuple[dict[str, Any], list[str]]:
        found = self.store.plan(plan_hash)
        if found is None:
            raise InputError(f"no plan {plan_hash!r}; `sre runbook plan NAME` makes one")
        runbook = self.catalog.get(found["runbook"])
        if runbook.spec.approval.four_eyes and approver == found["requested_by"]:
            raise InputError(
                f"plan {plan_hash}: runbook {runbook.name} needs four eyes; "
                f"{approver} asked for it and cannot approve it"
            )
        self.store.approve(plan_hash, approver, time.time() + runbook.spec.approval.ttl)
        return found, self.store.requeue_approved(plan_hash)

    async def request(
        self,
        runbook: Runbook,
        params: dict[str, Any],
        *,
        requested_by: str,
        trigger: str,
        approved_hash: str | None = None,
        run_id: str | None = None,
    ) -> tuple[str, Plan]:
        """A queued run with a fresh plan; with `approved_hash`, the plan must still be that one."""
        plan = await self.plan(runbook, params, requested_by)
        if approved_hash is not None and approved_hash != plan.hash:
            old = self.store.plan(approved_hash)
            lines = drift(old, plan) if old else [f"no plan {approved_hash!r}"]
            raise InputError(
                f"plan {approved_hash} no longer holds (now {plan.hash}); the approval does not cover it:\n  "
                + "\n  ".join(lines or ["the plan differs"])
            )
        run_id = self.store.create_run(
            run_id=run_id,
            runbook=runbook.name,
            target=plan.target,
            params=params,
            plan_hash=plan.hash,
            state=st.QUEUED,
            requested_by=requested_by,
            trigger=trigger,
        )
        return run_id, plan

    # --- a run -----------------------------------------------------------------------------------

    def _event(self, run: Run, fence: int, step: str, event: str, **detail: Any) -> None:
        self.store.journal(run.id, run.target, fence, step, event, lease=self.lease, **detail)
        for observer in self.observers:
            observer(run.id, step, event, detail)

    async def execute(self, run: Run) -> str:
        """Run (or resume) a claimed run to its end, or to where it waits; the state it is left in."""
        runbook = self.catalog.runbooks.get(run.runbook)
        if runbook is None:
            return self._refuse(
                run, st.REFUSED, f"runbook {run.runbook} is no longer defined in {self.catalog.folder}"
            )
        fence = self.store.acquire_lock(run.target, run.id, self.owner, self.lease)
        if fence is None:
            holder, _ = self.store.lock_holder(run.target)
            self.store.set_run(
                run.id, state=st.QUEUED, message=f"waiting for {run.target}, held by run {holder}"
            )
            return st.QUEUED
        heartbeat = asyncio.create_task(self._heartbeat(run, fence))
        try:
            with span("runbook.run", **{"sre.run.id": run.id, "sre.runbook": run.runbook}) as sp:
                state = await self._execute(run, runbook, fence)
                if sp is not None:
                    sp.set_attribute("sre.run.state", state)
        except LostLock as exc:
            # Someone else holds the target now: touch nothing more, journal nothing more.
            return f"lost lock: {exc}"
        finally:
            heartbeat.cancel()
            with contextlib.suppress(BaseException):
                await heartbeat
        # Only a run that got to a stop lets go of the target; one interrupted keeps it until its lease ends.
        self.store.release_lock(run.target, run.id, fence)
        return state

    async def _heartbeat(self, run: Run, fence: int) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                self.store.renew(run.target, run.id, fence, self.lease)
            except LostLock:
                return

    async def _execute(self, run: Run, runbook: Runbook, fence: int) -> str:
        history = self.store.run(run.id)
        journal = history.journal if history else []
        started = any(e["event"] == "started" for e in journal)
        if not started:
            refused = await self._admit(run, runbook)
            if refused is not None:
                return refused
            self.store.set_run(run.id, started_at=time.time())
            self._event(run, fence, "run", "started", plan=run.plan_hash, approved_by=run.approved_by)
        else:
            self._event(run, fence, "run", "resumed", owner=self.owner)
        ctx = self.context(run.id)
        steps = runbook.spec.steps
        for step in steps:
            if _finished(journal, step.id):
                continue
            current = self.store.run(run.id, journal=False)
            if current is not None and current.abort_requested:
                return await self._unwind(run, runbook, fence, ctx, "abort requested", aborted=True)
            ok, message = await self._step(run, fence, step, ctx, journal)
            journal = self._journal(run)
            if not ok:
                return await self._unwind(run, runbook, fence, ctx, f"step {step.id}: {message}")
        await self._finish(run, runbook, fence, ctx)
        self._event(run, fence, "run", st.SUCCEEDED)
        self.store.set_run(run.id, state=st.SUCCEEDED, ended_at=time.time(), message="all steps done")
        return st.SUCCEEDED

    def _journal(self, run: Run) -> list[dict[str, Any]]:
        found = self.store.run(run.id)
        return found.journal if found else []

    async def _admit(self, run: Run, runbook: Runbook) -> str | None:
        """The breaker, fresh facts and the approval; a refusal's state, or None to go on."""
        limits = runbook.spec.limits
        recent = self.store.recent_runs(run.runbook, run.target, time.time() - limits.per, run.id)
        if self.breaker and recent >= limits.runs:
            return self._refuse(
                run,
                st.REFUSED,
                f"circuit breaker: {recent} runs of {run.runbook} on {run.target} in {limits.per:g} s",
            )
        plan = await make_plan(runbook, run.params, self.context(PLAN_RUN_ID))
        if plan.hash != run.plan_hash:
            old = self.store.plan(run.plan_hash)
            self.store.save_plan(plan.hash, runbook.name, plan.body(), run.requested_by)
            if runbook.needs_approval:
                lines = drift(old, plan) if old else []
                return self._refuse(
                    run,
                    st.REFUSED,
                    f"facts drifted since plan {run.plan_hash} (now {plan.hash}): " + "; ".join(lines),
                )
        if not runbook.needs_approval:
            return None
        approvers = self.store.valid_approvers(run.plan_hash)
        if runbook.spec.approval.four_eyes:
            approvers = [a for a in approvers if a != run.requested_by]
        if not approvers:
            self.store.set_run(
                run.id, state=st.WAITING_APPROVAL, message=f"waiting for approval of plan {run.plan_hash}"
            )
            self.store.note(run.id, "run", "waiting_approval", plan=run.plan_hash)
            return st.WAITING_APPROVAL
        run.approved_by = ", ".join(approvers)
        self.store.set_run(run.id, approved_by=run.approved_by)
        return None

    def _refuse(self, run: Run, state: str, message: str) -> str:
        self.store.note(run.id, "run", state, reason=message)
        self.store.set_run(run.id, state=state, ended_at=time.time(), message=message)
        return state

    async def _step(
        self, run: Run, fence: int, step: Step, ctx: Context, journal: list[dict[str, Any]]
    ) -> tuple[bool, str]:
        action = REGISTRY[step.action]
        try:
            args = step_args(step, run.params, run.id)
        except ValueError as exc:
            message = f"arguments: {' '.join(str(exc).split())[:300]}"
            self._event(run, fence, step.id, "failed", attempt=1, error=message, permanent=True)
            return False, message
        ctx.facts = _first_facts(journal, step.id)
        message = ""
        with span(
            "runbook.step", **{"sre.run.id": run.id, "sre.step": step.id, "sre.action": step.action}
        ) as sp:
            started = time.perf_counter()
            for attempt in range(1, step.retry.attempts + 1):
                try:
                    async with asyncio.timeout(step.timeout):
                        found = await action.check(args, ctx)
                    if not ctx.facts:
                        ctx.facts = found.facts
                    self._event(
                        run, fence, step.id, "checked", done=found.done, facts=found.facts, attempt=attempt
                    )
                    if found.done:
                        self._event(
                            run, fence, step.id, "done", skipped=True, seconds=time.perf_counter() - started
                        )
                        return True, ""
                    self._event(run, fence, step.id, "apply", attempt=attempt)  # intent, before acting
                    async with asyncio.timeout(step.timeout):
                        result = await action.apply(args, ctx)
                    self._event(run, fence, step.id, "applied", result=result)
                    async with asyncio.timeout(step.timeout):
                        await action.verify(args, ctx)
                    self._event(run, fence, step.id, "done", seconds=time.perf_counter() - started)
                    if sp is not None:
                        sp.set_attribute("sre.step.outcome", "done")
                    return True, ""
                except (ActionFailed, TimeoutError) as exc:
                    message = ctx.scrub(str(exc)) or f"no answer within {step.timeout:g} s"
                    permanent = isinstance(exc, ActionFailed) and exc.permanent
                    self._event(
                        run, fence, step.id, "failed", attempt=attempt, error=message, permanent=permanent
                    )
                    if permanent:
                        break
                    if attempt < step.retry.attempts:
                        await asyncio.sleep(step.retry.delay)
            if sp is not None:
                sp.set_attribute("sre.step.outcome", "failed")
        return False, message

    async def _unwind(
        self, run: Run, runbook: Runbook, fence: int, ctx: Context, why: str, *, aborted: bool = False
    ) -> str:
        journal = self._journal(run)
        attempted = [
            s for s in runbook.spec.steps if any(e["step"] == s.id and e["event"] == "apply" for e in journal)
        ]
        past = [s.id for s in attempted if s.point_of_no_return]
        if past:
            state = st.ABORTED if aborted else st.NEEDS_HUMAN
            message = f"{why}; past the point of no return ({', '.join(past)}): stopped, not compensated"
            self._event(run, fence, "run", state, reason=message)
            self.store.set_run(
                run.id, state=state, ended_at=time.time() if aborted else None, message=message
            )
            await self._tell(ctx, f"run {run.id} ({run.runbook}) needs a human: {message}")
            return state
        failed: list[str] = []
        for step in reversed(attempted):
            action = REGISTRY[step.action]
            args = step_args(step, run.params, run.id)
            if not action.reverses(args):
                continue
            ctx.facts = _first_facts(journal, step.id)
            self._event(run, fence, step.id, "compensate")
            try:
                async with asyncio.timeout(step.timeout):
                    await action.compensate(args, ctx)
                self._event(run, fence, step.id, "compensated")
            except (ActionFailed, TimeoutError) as exc:
                failed.append(step.id)
                self._event(
                    run, fence, step.id, "compensation_failed", error=ctx.scrub(str(exc)) or "timeout"
                )
        await self._finish(run, runbook, fence, ctx)
        if failed:
            message = f"{why}; compensation failed for {', '.join(failed)}"
            self._event(run, fence, "run", st.NEEDS_HUMAN, reason=message)
            self.store.set_run(run.id, state=st.NEEDS_HUMAN, message=message)
            await self._tell(ctx, f"run {run.id} ({run.runbook}) needs a human: {message}")
            return st.NEEDS_HUMAN
        state = st.ABORTED if aborted else st.ROLLED_BACK
        undone = [e["step"] for e in self._journal(run) if e["event"] == "compensated"]
        message = f"{why}; compensated {', '.join(undone) or 'nothing (nothing to undo)'}"
        self._event(run, fence, "run", state, reason=message)
        self.store.set_run(run.id, state=state, ended_at=time.time(), message=message)
        return state

    async def _finish(self, run: Run, runbook: Runbook, fence: int, ctx: Context) -> None:
        """Each applied step's end-of-run hook (silences are expired), once per run."""
        journal = self._journal(run)
        for step in runbook.spec.steps:
            applied = any(e["step"] == step.id and e["event"] == "applied" for e in journal)
            finished = any(e["step"] == step.id and e["event"] == "finished" for e in journal)
            if (
                not applied
                or finished
                or type(REGISTRY[step.action]).finish is type(REGISTRY["probe"]).finish
            ):
                continue
            try:
                await REGISTRY[step.action].finish(step_args(step, run.params, run.id), ctx)
                self._event(run, fence, step.id, "finished")
            except ActionFailed as exc:
                self._event(run, fence, step.id, "finish_failed", error=ctx.scrub(str(exc)))

    async def _tell(self, ctx: Context, message: str) -> None:
        if not self.settings.notify_url:
            return
        from sre.runbooks.actions.web import Notify, NotifyArgs

        with contextlib.suppress(ActionFailed):
            await Notify().apply(NotifyArgs(message=message), ctx)

    # --- humans ----------------------------------------------------------------------------------

    def abort(self, run_id: str, by: str) -> str:
        run = self.store.run(run_id, journal=False)
        if run is None:
            raise InputError(f"no run {run_id!r}")
        if run.state in st.FINAL:
            raise InputError(f"run {run_id} is {run.state} already")
        self.store.set_run(run_id, abort_requested=1)
        self.store.note(run_id, "run", "abort_requested", by=by)
        if run.state in (st.QUEUED, st.WAITING_APPROVAL) and not any(
            e["event"] == "started" for e in (self.store.run(run_id) or run).journal
        ):
            self.store.set_run(
                run_id, state=st.ABORTED, ended_at=time.time(), message=f"aborted by {by} before it started"
            )
            return st.ABORTED
        if run.state == st.NEEDS_HUMAN:
            # Stopped after its point of no return: nothing to compensate, a human takes it from here.
            self.store.set_run(run_id, state=st.ABORTED, ended_at=time.time(), message=f"aborted by {by}")
            return st.ABORTED
        return "abort_requested"


def _finished(journal: list[dict[str, Any]], step: str) -> bool:
    return any(e["step"] == step and e["event"] == "done" for e in journal)


def _first_facts(journal: list[dict[str, Any]], step: str) -> dict[str, Any]:
    """What the step's first check saw: the state before this run changed it (for compensation)."""
    for e in journal:
        if e["step"] == step and e["event"] == "checked":
            facts = e.get("facts")
            return dict(facts) if isinstance(facts, dict) else {}
    return {}

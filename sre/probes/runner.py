"""Run probes: deadlines, a concurrency cap, explicit retries by threshold, and error capture.

Every probe is capped by `min(its timeout, what is left of the run's budget)`;
whatever a check raises becomes a typed result (never a traceback), and the
facts it recorded before a timeout are kept. A probe is retried only when its
definition asks for it (failure_threshold > 1), and a pass after a failure is
reported as degraded, never as ok.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sre.errors import one_line
from sre.probes import net
from sre.probes.checks import get_check
from sre.probes.checks.drivers import missing_driver
from sre.probes.context import ProbeContext, RunContext
from sre.probes.judge import Verdict, judge
from sre.probes.model import Observation, ProbeError, Reason, Result, Status, Target, result_for
from sre.probes.threads import daemon_executor

OnResult = Callable[[Result], None]
MESSAGE_LIMIT = 300


@dataclass(slots=True)
class _Attempt:
    observation: Observation
    verdict: Verdict
    duration: float


async def run_probes(
    targets: Sequence[Target],
    run: RunContext,
    *,
    concurrency: int = 32,
    budget: float = 60.0,
    on_result: OnResult | None = None,
) -> list[Result]:
    """Probe every target; results come back in the order of `targets`."""
    loop = asyncio.get_running_loop()
    # The clock starts before the drivers load: their import is part of what the run's caller waits for.
    deadline = loop.time() + budget
    preload({t.check for t in targets})
    # Name lookups: a thread per probe in flight, twice, for lookups timed-out probes left behind.
    daemon_executor(loop, max(16, min(2 * concurrency, 256)))
    results: list[Result | None] = [None] * len(targets)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(targets)):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            try:
                result = await probe(targets[i], run, deadline)
            except Exception as exc:  # a bug in the engine itself: one result, not a lost run
                result = crashed(targets[i], run, exc)
            results[i] = result
            if on_result is not None:
                on_result(result)

    workers = [asyncio.create_task(worker()) for _ in range(max(1, min(concurrency, len(targets))))]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
    return [r for r in results if r is not None]


def preload(checks: set[str]) -> None:
    """Import every check module (and let it load what it needs, `warm()`) before the first probe starts.

    A protocol driver's first import blocks the event loop for tens of milliseconds (botocore's S3
    models for hundreds); done inside the sweep, it would be charged to whichever probes are in flight.
    """
    for name in sorted(checks):
        with contextlib.suppress(ImportError, AttributeError, KeyError):  # reported per probe
            check = get_check(name)
            warm = getattr(sys.modules.get(check.__module__), "warm", None)
            if callable(warm):
                with contextlib.suppress(Exception):  # a cache, not a requirement
                    warm()


async def probe(target: Target, run: RunContext, deadline: float) -> Result:
    """One target, with as many attempts as its thresholds allow and the deadline leaves time for."""
    loop = asyncio.get_running_loop()
    started = time.time()
    begin = loop.time()
    fails = passes = attempts = 0
    first_failure: _Attempt | None = None
    last: _Attempt | None = None
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            if last is None:
                # Never started: no news about the service, so neither a failure nor a cold tier that is down.
                why = "not probed: the run's time budget ran out before this probe could start"
                last = _Attempt(Observation(), Verdict(Status.skipped, Reason.budget, why), 0.0)
                attempts = 0
            break
        attempts += 1
        last = await attempt(target, run, min(target.timeout, remaining))
        if last.verdict.status is Status.failed:
            fails += 1
            passes = 0
            first_failure = first_failure or last
            if fails >= target.failure_threshold:
                break
            if target.retry_delay > 0:
                await asyncio.sleep(min(target.retry_delay, max(0.0, deadline - loop.time())))
            continue
        if first_failure is None:
            break
        passes += 1
        if passes >= target.success_threshold:
            note = f"passed on attempt {attempts} after: {first_failure.verdict.message}"
            last.verdict = Verdict(Status.degraded, Reason.passed_on_retry, note)
            break
    return scrubbed(
        run,
        target,
        last.verdict.status,
        reason=last.verdict.reason,
        message=last.verdict.message,
        started_at=started,
        duration_seconds=loop.time() - begin,
        attempts=attempts if last.verdict.reason is Reason.budget else max(attempts, 1),
        facts=last.observation.facts,
        phases=last.observation.phases,
    )


def scrubbed(run: RunContext, target: Target, status: Status, **rest: Any) -> Result:
    """The one place results are made from what a probe saw: every string in them goes through
    the run's scrubber (secrets it handed out, credentials of any form)."""
    result = result_for(target, run.vantage, status, **rest)
    clean = run.scrubber
    result.service = clean.text(result.service)
    result.endpoint = clean.text(result.endpoint)
    result.message = clean.text(result.message)
    result.facts = clean.facts(result.facts)
    return result


def crashed(target: Target, run: RunContext, exc: Exception) -> Result:
    return scrubbed(
        run,
        target,
        Status.failed,
        reason=Reason.internal,
        message=one_line(exc, MESSAGE_LIMIT, with_type=True),
        started_at=time.time(),
    )


async def attempt(target: Target, run: RunContext, limit: float) -> _Attempt:
    """Run the check once under `limit` seconds; everything it raises becomes a reason."""
    ctx = ProbeContext(run, target, deadline=asyncio.get_running_loop().time() + limit)
    begin = time.perf_counter()
    error: ProbeError | None = None
    try:
        check = get_check(target.check)
    except ImportError as exc:
        error = ProbeError(Reason.unsupported, missing_driver(target.check, exc))
    except (AttributeError, KeyError):
        error = ProbeError(Reason.unsupported, f"no check named {target.check!r} is installed")
    else:
        timer = asyncio.timeout(limit)
        try:
            async with timer:
                await check(target, ctx)
        except TimeoutError:
            phase = ctx.observation.current_phase
            where = f" (during {phase})" if phase else ""
            error = ProbeError(Reason.timeout, f"no answer within {limit:.3g} s{where}")
        except ProbeError as exc:
            error = exc
        except Exception as exc:
            error = net.classify(exc) or ProbeError(
                Reason.internal, one_line(exc, MESSAGE_LIMIT, with_type=True)
            )
    duration = time.perf_counter() - begin
    verdict = judge(target, ctx.observation, error, run, duration=duration)
    return _Attempt(ctx.observation, verdict, duration)

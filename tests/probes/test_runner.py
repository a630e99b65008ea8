"""The runner with a fake check: deadlines, the concurrency cap, thresholds, error capture."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from probe_support import make_target

from sre.probes.checks import register
from sre.probes.context import ProbeContext, RunContext
from sre.probes.model import ProbeError, Reason, Result, Status, Target
from sre.probes.runner import run_probes

RUN = RunContext(vantage="t")


class Fake:
    """A check whose behaviour per attempt is scripted: 'ok', 'fail', 'hang', 'crash'."""

    def __init__(self, script: list[str], hold: float = 0.0) -> None:
        self.script = script
        self.calls = 0
        self.hold = hold
        self.in_flight = 0
        self.peak = 0

    async def __call__(self, target: Target, ctx: ProbeContext) -> None:
        step = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            ctx.fact("role", "primary")
            with ctx.phase("connect"):
                await asyncio.sleep(self.hold)
            if step == "fail":
                raise ProbeError(Reason.connect_refused, "refused")
            if step == "hang":
                with ctx.phase("wait"):
                    await asyncio.sleep(60)
            if step == "crash":
                raise ValueError("boom\nsecond line")
        finally:
            self.in_flight -= 1


def _run(
    fake: Fake, n: int = 1, *, concurrency: int = 8, budget: float = 10.0, **fields: object
) -> list[Result]:
    register("fake", fake)
    targets = [make_target(f"fake://h{i}", "fake", service=f"s{i}", **fields) for i in range(n)]  # type: ignore[arg-type]
    return asyncio.run(run_probes(targets, RUN, concurrency=concurrency, budget=budget))


def test_pass() -> None:
    [r] = _run(Fake(["ok"]))
    assert (r.status, r.reason, r.attempts) == (Status.ok, None, 1)
    assert r.facts["role"] == "primary" and "connect" in r.phases
    assert r.endpoint == "fake://h0" and r.vantage == "t"


def test_no_hidden_retry() -> None:
    fake = Fake(["fail", "ok"])
    [r] = _run(fake)
    assert (r.status, r.attempts, fake.calls) == (Status.failed, 1, 1)


def test_pass_on_retry_is_degraded() -> None:
    fake = Fake(["fail", "ok"])
    [r] = _run(fake, failure_threshold=3)
    assert (r.status, r.reason, r.attempts) == (Status.degraded, Reason.passed_on_retry, 2)
    assert "after: refused" in r.message


def test_failure_threshold_reached() -> None:
    fake = Fake(["fail"])
    [r] = _run(fake, failure_threshold=3)
    assert (r.status, r.reason, r.attempts, fake.calls) == (Status.failed, Reason.connect_refused, 3, 3)


def test_success_threshold_needs_passes_in_a_row() -> None:
    fake = Fake(["fail", "ok", "fail", "ok", "ok"])
    [r] = _run(fake, failure_threshold=3, success_threshold=2)
    assert (r.status, r.attempts) == (Status.degraded, 5)
    fake = Fake(["fail", "ok", "fail", "ok", "fail"])
    [r] = _run(fake, failure_threshold=3, success_threshold=2)
    assert (r.status, r.attempts) == (Status.failed, 5)


def test_timeout_keeps_partial_observation_and_names_the_phase() -> None:
    begin = time.monotonic()
    [r] = _run(Fake(["hang"]), timeout=0.2)
    assert time.monotonic() - begin < 2
    assert (r.status, r.reason) == (Status.failed, Reason.timeout)
    assert r.message == "no answer within 0.2 s (during wait)"
    assert r.facts == {"role": "primary"} and "connect" in r.phases


def test_run_budget_caps_every_probe_and_later_ones_do_not_start() -> None:
    begin = time.monotonic()
    results = _run(Fake(["hang"]), n=4, concurrency=2, budget=0.3, timeout=30)
    assert time.monotonic() - begin < 2
    started, never = results[:2], results[2:]
    assert [(r.status, r.reason) for r in started] == [(Status.failed, Reason.timeout)] * 2
    # The two that never started are no news about their services: skipped for the budget, no attempt.
    assert [(r.status, r.reason, r.attempts) for r in never] == [(Status.skipped, Reason.budget, 0)] * 2
    assert all("budget ran out before this probe could start" in r.message for r in never)


def test_a_cold_tier_probe_the_budget_never_started_is_skipped_not_expected_down() -> None:
    results = _run(Fake(["hang"]), n=3, concurrency=1, budget=0.2, timeout=30, standby="cold")
    assert [(r.status, r.reason) for r in results[1:]] == [(Status.skipped, Reason.budget)] * 2


def test_concurrency_cap() -> None:
    fake = Fake(["ok"], hold=0.02)
    results = _run(fake, n=20, concurrency=3)
    assert fake.peak == 3
    assert [r.service for r in results] == [f"s{i}" for i in range(20)]  # input order kept


def test_unexpected_exception_is_internal_and_one_line() -> None:
    [r] = _run(Fake(["crash"]))
    assert (r.status, r.reason) == (Status.failed, Reason.internal)
    assert r.message == "ValueError: boom"


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (ConnectionRefusedError(111, "refused"), Reason.connect_refused),
        (OSError(113, "No route"), Reason.connect_error),
    ],
)
def test_network_errors_a_check_let_through_get_a_reason(exc: Exception, reason: Reason) -> None:
    async def leaky(target: Target, ctx: ProbeContext) -> None:
        raise exc

    register("leaky", leaky)
    r = asyncio.run(run_probes([make_target("x://h", "leaky")], RUN))[0]
    assert r.reason is reason


def test_a_check_that_is_not_installed_is_unsupported() -> None:
    from sre.probes import checks

    checks.REGISTRY["ghost"] = "ghost_module:check_ghost"
    r = asyncio.run(run_probes([make_target("x://h", "ghost")], RUN))[0]
    assert (r.status, r.reason) == (Status.failed, Reason.unsupported)


def test_results_stream_to_the_callback() -> None:
    seen: list[str] = []
    register("fake", Fake(["ok"]))
    on: Callable[[Result], None] = lambda r: seen.append(r.service)  # noqa: E731
    targets = [make_target(f"fake://h{i}", "fake", service=f"s{i}") for i in range(3)]
    asyncio.run(run_probes(targets, RUN, on_result=on))
    assert sorted(seen) == ["s0", "s1", "s2"]


def test_blocking_work_of_every_probe_in_flight_runs_at_once() -> None:
    """Lookups and blocking drivers use the executor: as many threads as probes in flight, not CPU + 4."""
    import threading

    width = 16
    barrier = threading.Barrier(width, timeout=5)

    async def blocking(target: Target, ctx: ProbeContext) -> None:
        # Every probe's thread waits for all the others: with a narrower pool this breaks.
        await asyncio.to_thread(barrier.wait)

    register("blocking", blocking)
    targets = [make_target(f"blocking://h{i}", "blocking", service=f"s{i}") for i in range(width)]
    results = asyncio.run(run_probes(targets, RUN, concurrency=width, budget=10))
    assert [r.status for r in results] == [Status.ok] * width

"""The drill's writers: K clients writing through the gateway without pause, one sequence per writer.

Each writer sends `POST /write {"writer": K, "seq": N}` and waits for the answer before the
next; a 200 is an acknowledged write (the gateway answers it only after the row committed). Every
acknowledgement is kept with its time, so the drill can find the longest silence (RTO) and check
each acknowledged row afterwards (RPO).
"""

from __future__ import annotations

import asyncio
import itertools
import ssl
import time
from dataclasses import dataclass, field

REQUEST_TIMEOUT = 2.0
BACKOFF = 0.02  # after a failed write, so a refusing gateway is not spun against


@dataclass
class Writes:
    """What the writers saw: every acknowledged (writer, seq) with its time, and the failed attempts."""

    acked: dict[tuple[int, int], float] = field(default_factory=dict)
    failed: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # what the failures were, counted

    def ack_times(self) -> list[float]:
        return sorted(self.acked.values())

    def acked_between(self, start: float, end: float) -> set[tuple[int, int]]:
        return {key for key, at in self.acked.items() if start <= at < end}

    def acked_before(self, end: float) -> set[tuple[int, int]]:
        return {key for key, at in self.acked.items() if at < end}


def longest_gap(times: list[float], start: float, end: float) -> float:
    """The longest time in [start, end] with no acknowledgement (the edges count as the window's ends)."""
    inside = [t for t in times if start <= t <= end]
    before = [t for t in times if t < start]
    after = [t for t in times if t > end]
    points = ([before[-1]] if before else [start]) + inside + ([after[0]] if after else [end])
    return max((b - a for a, b in itertools.pairwise(points)), default=end - start)


class Writers:
    def __init__(self, url: str, ids: range, tls: ssl.SSLContext | bool) -> None:
        self.url = url
        self.ids = ids
        self.tls = tls
        self.writes = Writes()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        import httpx

        self._client = httpx.AsyncClient(verify=self.tls, timeout=REQUEST_TIMEOUT)
        self._tasks = [asyncio.create_task(self._write(k)) for k in self.ids]

    async def _write(self, writer: int) -> None:
        import httpx

        seq = 0
        while not self._stop.is_set():
            seq += 1
            try:
                answer = await self._client.post(self.url, json={"writer": writer, "seq": seq})
                ok = answer.status_code == 200
                why = f"HTTP {answer.status_code}"
            except httpx.HTTPError as exc:
                ok, why = False, type(exc).__name__
            if ok:
                self.writes.acked[(writer, seq)] = time.time()
                continue
            self.writes.failed += 1
            self.writes.errors[why] = self.writes.errors.get(why, 0) + 1
            await asyncio.sleep(BACKOFF)

    async def wait_for_first(self, timeout: float) -> bool:
        """Whether a write was acknowledged within `timeout` (the drill starts only on a working gateway)."""
        deadline = time.monotonic() + timeout
        while not self.writes.acked:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def stop(self) -> None:
        """Stop after each writer's request in flight: an acknowledgement is never cut off half-way."""
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._client.aclose()

"""`sre serve`: the Alertmanager webhook receiver, its workers, /healthz, /metrics and the JSON API.

POST /alerts answers only after the raw notification is in the store (200), or
says why it is not a notification (400), too large (413) or not authorised
(401); a 5xx means the store failed, so Alertmanager retries. Everything else
happens afterwards: the inbox task turns stored notifications into runs, the
worker task executes runs (and resumes those whose worker died).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from sre.errors import InputError
from sre.runbooks.db import SqliteDatabase, StoreError
from sre.runbooks.engine import Engine
from sre.server.inbox import Inbox
from sre.server.probing import ProbeHistory, ProbeSchedule, probe_loop
from sre.server.webhook import BadNotification, delivery_key, parse

log = logging.getLogger("sre.serve")
MAX_BODY = 1 << 20  # 1 MiB: Alertmanager's max_alerts keeps real groups far below it
POLL = 0.5
MAX_BATCH = 256
PG_WRITERS = 4


@dataclass
class Config:
    engine: Engine
    token: bytes | None  # None only with --no-token (a loopback test)
    api_tokens: dict[str, bytes] = field(default_factory=dict)  # approver name: token
    max_body: int = MAX_BODY
    workers: int = 4
    probes: ProbeSchedule | None = None  # run `sre probe --all` on this schedule (the status page)


class Metrics:
    def __init__(self, engine: Engine) -> None:
        self.registry = CollectorRegistry()
        self.notifications = Counter(
            "sre_runbook_notifications", "Notifications stored", registry=self.registry
        )
        self.duplicates = Counter(
            "sre_runbook_duplicates", "Duplicates dropped, by level", ["level"], registry=self.registry
        )
        self.rejected = Counter(
            "sre_runbook_rejected",
            "Requests and alerts rejected, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.stale = Counter(
            "sre_runbook_stale_alerts", "Late firing alerts of resolved episodes", registry=self.registry
        )
        self.runs_started = Counter(
            "sre_runbook_runs_started", "Runs requested by alerts", ["runbook"], registry=self.registry
        )
        self.steps = Histogram(
            "sre_runbook_step_duration_seconds", "Step durations", ["step"], registry=self.registry
        )
        self.registry.register(_RunStates(engine))

    def count(self, name: str, label: str) -> None:
        if name == "duplicates":
            self.duplicates.labels(label).inc()
        elif name == "rejected":
            self.rejected.labels(label).inc()
        elif name == "stale":
            self.stale.inc()
        elif name == "runs":
            self.runs_started.labels(label).inc()

    def observe(self, run_id: str, step: str, event: str, detail: dict[str, Any]) -> None:
        if event == "done" and isinstance(detail.get("seconds"), float):
            self.steps.labels(step).observe(detail["seconds"])


class _RunStates:
    """Runs by state, read from the store at scrape time (it is shared by every receiver)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Any:
        family = GaugeMetricFamily("sre_runbook_runs", "Runs in the store by state", labels=["state"])
        with contextlib.suppress(StoreError):
            for state, n in sorted(self.engine.store.run_counts().items()):
                family.add_metric([state], n)
        yield family


def _bearer(request: Request) -> bytes | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip().encode() if scheme.lower() == "bearer" and value.strip() else None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _body(request: Request, limit: int) -> bytes | None:
    """The request body, or None past `limit` bytes (read no further than that)."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class Receiver:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.engine = config.engine
        self.metrics = Metrics(self.engine)
        self.engine.observers.append(self.metrics.observe)
        self.inbox = Inbox(self.engine, self.metrics.count)
        self.probes = ProbeHistory(self.engine.store)
        # Set from the server's loop, waited on by the background thread's loop.
        self.wake = threading.Event()
        self.pending: asyncio.Queue[tuple[str, str, asyncio.Future[bool]]] = asyncio.Queue()
        self.writers: list[asyncio.Task[None]] = []
        self.thread: threading.Thread | None = None
        self.background: asyncio.AbstractEventLoop | None = None
        self.halt: asyncio.Event | None = None
        self.running: set[asyncio.Task[Any]] = set()

    # --- the webhook -----------------------------------------------------------------------------

    async def alerts(self, request: Request) -> Response:
        if self.config.token is not None:
            given = _bearer(request)
            if given is None or not hmac.compare_digest(given, self.config.token):
                self.metrics.count("rejected", "unauthorized")
                return _error(401, "missing or wrong bearer token")
        body = await _body(request, self.config.max_body)
        if body is None:
            self.metrics.count("rejected", "too_large")
            return _error(413, f"body larger than {self.config.max_body} bytes")
        try:
            message = parse(body)
        except BadNotification as exc:
            self.metrics.count("rejected", "bad_request")
            return _error(400, str(exc))
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.pending.put_nowait((delivery_key(message), body.decode(), done))
        try:
            new = await done
        except StoreError as exc:
            log.error("cannot store a notification: %s", exc)
            return _error(503, "the store failed; retry")
        if new:
            self.metrics.notifications.inc()
            return JSONResponse({"status": "stored"})
        self.metrics.count("duplicates", "delivery")
        return JSONResponse({"status": "duplicate"})

    # --- background: inbox and workers -----------------------------------------------------------

    async def start(self) -> None:
        await run_in_threadpool(self.engine.store.release_stale_notifications)
        # SQLite has one writer at a time anyway; PostgreSQL commits several batches at once.
        count = 1 if isinstance(self.engine.store.db, SqliteDatabase) else PG_WRITERS
        self.writers = [asyncio.create_task(self._writer_loop()) for _ in range(count)]
        # The inbox and the runs work in a thread of their own, on a loop of their own: their store
        # writes and checks never hold up an acknowledgement.
        self.thread = threading.Thread(target=self._background_thread, name="sre-serve-work", daemon=True)
        self.thread.start()

    async def stop(self) -> None:
        for writer in self.writers:
            writer.cancel()
            with contextlib.suppress(BaseException):
                await writer
        if self.background is not None and self.halt is not None:
            self.background.call_soon_threadsafe(self.halt.set)
        if self.thread is not None:
            await asyncio.to_thread(self.thread.join, 30)

    def _background_thread(self) -> None:
        loop = asyncio.new_event_loop()
        self.background = loop
        try:
            loop.run_until_complete(self._work())
        finally:
            loop.close()

    async def _work(self) -> None:
        self.halt = asyncio.Event()
        tasks = [asyncio.create_task(self._inbox_loop()), asyncio.create_task(self._worker_loop())]
        if self.config.probes is not None:
            tasks.append(asyncio.create_task(probe_loop(self.config.probes, self.probes, self.halt)))
        await self.halt.wait()
        for task in [*tasks, *self.running]:
            task.cancel()
        for task in [*tasks, *self.running]:
            with contextlib.suppress(BaseException):
                await task

    async def _writer_loop(self) -> None:
        """Group commit: the notifications that arrived while the last write was on disk go in one
        transaction, so one flush acknowledges many (each is answered only after its commit)."""
        while True:
            batch = [await self.pending.get()]
            while not self.pending.empty() and len(batch) < MAX_BATCH:
                batch.append(self.pending.get_nowait())
            try:
                results = await run_in_threadpool(
                    self.engine.store.add_notifications, [(k, b) for k, b, _ in batch]
                )
            except Exception as exc:  # whatever it was, the store did not take them: 503, and go on
                log.error("cannot store %d notification(s): %s", len(batch), exc)
                for _, _, done in batch:
                    done.set_exception(exc if isinstance(exc, StoreError) else StoreError(str(exc)))
                continue
            for (_, _, done), new in zip(batch, results, strict=True):
                done.set_result(new)
            self.wake.set()

    async def _inbox_loop(self) -> None:
        while True:
            await asyncio.to_thread(self.wake.wait, POLL * 2)
            self.wake.clear()
            try:
                batch = await run_in_threadpool(self.engine.store.claim_notifications, self.engine.owner)
            except StoreError as exc:
                log.error("inbox: %s", exc)
                await asyncio.sleep(POLL)
                continue
            for nid, body in batch:
                error = None
                try:
                    outcome = await self.inbox.process(body)
                    for reason in outcome.rejected:
                        log.warning("alert rejected: %s", reason)
                except (InputError, BadNotification, StoreError) as exc:
                    error = str(exc)[:500]
                    log.error("notification %s: %s", nid, error)
                except Exception as exc:  # one bad notification must not stop the inbox
                    error = f"{type(exc).__name__}: {str(exc)[:400]}"
                    log.exception("notification %s", nid)
                with contextlib.suppress(StoreError):
                    self.engine.store.finish_notification(nid, error)

    async def _worker_loop(self) -> None:
        while True:
            if len(self.running) >= self.config.workers:
                await asyncio.sleep(POLL)
                continue
            try:
                run = self.engine.store.claim_run(self.engine.owner, self.engine.lease)
            except StoreError as exc:
                log.error("worker: %s", exc)
                run = None
            if run is None:
                await asyncio.sleep(POLL)
                continue
            task = asyncio.create_task(self._execute(run))
            self.running.add(task)
            task.add_done_callback(self.running.discard)

    async def _execute(self, run: Any) -> None:
        try:
            state = await self.engine.execute(run)
            log.info("run %s (%s): %s", run.id, run.runbook, state)
        except Exception:
            log.exception("run %s", run.id)

    # --- health, metrics, API --------------------------------------------------------------------

    async def healthz(self, request: Request) -> Response:
        try:
            await run_in_threadpool(self.engine.store.run_counts)
        except StoreError as exc:
            return _error(503, str(exc))
        return JSONResponse({"status": "ok"})

    async def metrics_page(self, request: Request) -> Response:
        data = await run_in_threadpool(generate_latest, self.metrics.registry)
        return Response(data, media_type=CONTENT_TYPE_LATEST)

    def _api_user(self, request: Request) -> str | None:
        given = _bearer(request)
        if given is None:
            return None
        found = None
        for name, token in self.config.api_tokens.items():
            if hmac.compare_digest(given, token):
                found = name
        return found

    async def api(self, request: Request) -> Response:
        user = self._api_user(request)
        if user is None:
            return _error(401, "the API needs its own bearer token (--api-token-file)")
        store = self.engine.store
        route = request.scope["route"].name
        try:
            if route == "runs":
                limit = min(int(request.query_params.get("limit", "50")), 1000)
                state = request.query_params.get("state")
                runs = await run_in_threadpool(store.runs, limit, state)
                return JSONResponse([r.as_json() | {"journal": None} for r in runs])
            if route == "run":
                found = await run_in_threadpool(store.run, request.path_params["run_id"])
                return JSONResponse(found.as_json()) if found else _error(404, "no such run")
            if route == "episodes":
                limit = min(int(request.query_params.get("limit", "100")), 1000)
                return JSONResponse(await run_in_threadpool(store.episodes, limit))
            if route == "plan":
                plan = await run_in_threadpool(store.plan, request.path_params["plan_hash"])
                return JSONResponse(plan) if plan else _error(404, "no such plan")
            if route == "approve":
                plan_hash = request.path_params["plan_hash"]
                if await run_in_threadpool(store.plan, plan_hash) is None:
                    return _error(404, "no such plan")
                try:
                    _, requeued = await run_in_threadpool(self.engine.approve, plan_hash, user)
                except InputError as exc:
                    return _error(403, str(exc))
                return JSONResponse({"approved": plan_hash, "by": user, "requeued": requeued})
        except ValueError:
            return _error(400, "limit: expected an integer")
        except StoreError as exc:
            return _error(503, str(exc))
        return _error(404, "not found")


def build_app(config: Config) -> Starlette:
    from sre.server.page import Page
    from sre.server.page import routes as page_routes

    receiver = Receiver(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await receiver.start()
        try:
            yield
        finally:
            await receiver.stop()

    routes = [
        Route("/alerts", receiver.alerts, methods=["POST"]),
        Route("/healthz", receiver.healthz, methods=["GET"]),
        Route("/metrics", receiver.metrics_page, methods=["GET"]),
        Route("/api/v1/runs", receiver.api, methods=["GET"], name="runs"),
        Route("/api/v1/runs/{run_id}", receiver.api, methods=["GET"], name="run"),
        Route("/api/v1/episodes", receiver.api, methods=["GET"], name="episodes"),
        Route("/api/v1/plans/{plan_hash}", receiver.api, methods=["GET"], name="plan"),
        Route("/api/v1/plans/{plan_hash}/approve", receiver.api, methods=["POST"], name="approve"),
        *page_routes(Page(receiver)),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.receiver = receiver
    return app


def build_bare_app(engine: Engine) -> Starlette:
    """The benchmark's baseline: write the body to the same store, nothing else."""
    import hashlib

    async def alerts(request: Request) -> Response:
        body = await request.body()
        key = hashlib.sha256(body).hexdigest()
        await run_in_threadpool(engine.store.add_notification, key, body.decode())
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/alerts", alerts, methods=["POST"])])

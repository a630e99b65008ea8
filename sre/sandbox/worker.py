"""The worker stand-in (for the platform's kubernetes service): a small app behind the gateways
that really uses PostgreSQL, Redis and NATS.

Every request (but `/livez`) makes one round over its dependencies: a query
(and an insert when the database is writable), a Redis INCR (GET on a replica)
and a JetStream publish that waits for its ack. `POST /write` is the DR
drill's acknowledged write (sre/sandbox/writes.py). `/healthz` answers 200 with
`"status": "ok"` when the round passed, else 503 naming the failing
dependencies by platform service id. A gRPC server answers the standard health
service (SERVING / NOT_SERVING) from the same round, refreshed every second.

Run: `python -m sre.sandbox.worker CONFIG.json` (the sandbox writes the file).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis.asyncio as aioredis
from aiohttp import web
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from sre.errors import one_line
from sre.sandbox import writes
from sre.sandbox.writes import Writer

TIMEOUT = 1.5
STREAM = "SANDBOX"  # made by the sandbox's NATS launcher: writable on the active tier, a mirror on the hot
SUBJECTS = ["sandbox.>"]


@dataclass(frozen=True)
class Config:
    tier: str
    http_port: int
    grpc_port: int
    pg_port: int
    pg_user: str
    pg_db: str
    pg_password_file: str
    redis_port: int
    redis_password_file: str
    nats_url: str
    service: str = "workers"  # the platform service this worker stands for
    # Dependency -> the platform service id it is reported under (the platform's names, not fixed ones).
    names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Config:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def _secret(path: str) -> str:
    return Path(path).read_text(encoding="utf-8").strip()


class Dependencies:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self._pg: psycopg.AsyncConnection[Any] | None = None
        self._pg_lock = asyncio.Lock()
        self._redis = aioredis.Redis(
            host="127.0.0.1",
            port=cfg.redis_port,
            password=_secret(cfg.redis_password_file),
            socket_timeout=TIMEOUT,
            socket_connect_timeout=TIMEOUT,
            retry=Retry(NoBackoff(), 0),  # one honest try per request: a dead Redis shows at once
        )
        self._nats: Any = None
        self._js: Any = None
        self._events: Any = None  # this tier's durable consumer of the stream
        self.writes = Writer(self._connect_pg_writer, cfg.tier)

    async def _connect_pg(self, *, autocommit: bool) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(
            host="127.0.0.1",
            port=self.cfg.pg_port,
            user=self.cfg.pg_user,
            dbname=self.cfg.pg_db,
            password=_secret(self.cfg.pg_password_file),
            connect_timeout=2,
            autocommit=autocommit,
        )

    async def _connect_pg_writer(self) -> psycopg.AsyncConnection[Any]:
        return await self._connect_pg(autocommit=False)

    async def _postgres(self, service: str) -> dict[str, Any]:
        async with self._pg_lock:
            if self._pg is None or self._pg.closed:
                self._pg = await self._connect_pg(autocommit=True)
            try:
                cur = await self._pg.execute("SELECT pg_is_in_recovery()")
                row = await cur.fetchone()
                replica = bool(row and row[0])
                if not replica:
                    await self._pg.execute(
                        "INSERT INTO events (service, tier) VALUES (%s, %s)", (service, self.cfg.tier)
                    )
                cur = await self._pg.execute("SELECT count(*) FROM events")
                count = await cur.fetchone()
            except BaseException:
                await self._pg.close()
                self._pg = None
                raise
        return {"role": "replica" if replica else "primary", "events": count[0] if count else 0}

    async def _redis_round(self) -> dict[str, Any]:
        role = str((await self._redis.info("replication"))["role"])
        if role == "master":
            hits = await self._redis.incr("sandbox:requests")
        else:
            hits = int(await self._redis.get("sandbox:requests") or 0)
        return {"role": role, "requests": hits}

    async def _connect_nats(self) -> None:
        import nats

        async def quiet(*_: object) -> None:
            return None

        self._nats = await nats.connect(
            servers=[self.cfg.nats_url],
            connect_timeout=TIMEOUT,
            reconnect_time_wait=0.5,
            max_reconnect_attempts=-1,
            allow_reconnect=True,
            error_cb=quiet,
            disconnected_cb=quiet,
            reconnected_cb=quiet,
        )
        self._js = self._nats.jetstream(timeout=TIMEOUT)

    async def _subscribe(self) -> Any:
        """This tier's durable consumer: the worker reads back what it published through it, so the
        stream has a consumer whose pending and acknowledgements mean something. A switchover
        re-creates it on the new stream at its ack floor + 1; made here only when missing, it starts
        at new messages (subscribed before the round publishes)."""
        from nats.js.api import ConsumerConfig, DeliverPolicy

        tier = self.cfg.tier
        return await self._js.pull_subscribe(
            f"sandbox.{tier}.>",
            durable=f"worker-{tier}",
            stream=STREAM,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.NEW),
        )

    async def _keep_consumer(self) -> None:
        """The tier's durable consumer on its mirror too (nothing to deliver: its subjects are this
        tier's), so the consumer metrics of a standby tier show a real consumer. Best effort: a
        switchover may be replacing the stream under it."""
        from nats.js.api import ConsumerConfig, DeliverPolicy
        from nats.js.errors import NotFoundError

        tier = self.cfg.tier
        with contextlib.suppress(Exception):
            try:
                await self._js.consumer_info(STREAM, f"worker-{tier}")
            except NotFoundError:
                config = ConsumerConfig(
                    durable_name=f"worker-{tier}",
                    filter_subject=f"sandbox.{tier}.>",
                    deliver_policy=DeliverPolicy.NEW,
                )
                await self._js.add_consumer(STREAM, config)

    async def _drop_events(self) -> None:
        events, self._events = self._events, None
        if events is not None:
            with contextlib.suppress(Exception):
                await events.unsubscribe()

    async def _nats_round(self, service: str) -> dict[str, Any]:
        if self._nats is None:
            await self._connect_nats()
        if not self._nats.is_connected:
            raise ConnectionError("not connected to NATS (reconnecting)")
        info = await self._js.stream_info(STREAM)
        if SUBJECTS[0] not in (info.config.subjects or ()):
            # A mirror (or a stream a switchover is filling) takes no publishes: read it, like a replica.
            await self._drop_events()
            if info.config.mirror is not None:
                await self._keep_consumer()
            role = "mirror" if info.config.mirror is not None else "read-only"
            return {"stream": STREAM, "role": role, "last_seq": info.state.last_seq}
        try:
            if self._events is None:
                self._events = await self._subscribe()
            ack = await self._js.publish(f"sandbox.{self.cfg.tier}.{service}", b"request", timeout=TIMEOUT)
            for msg in await self._events.fetch(1, timeout=TIMEOUT):
                await msg.ack()
        except BaseException:
            await self._drop_events()  # the stream may have been re-created under it: subscribe again
            raise
        return {"stream": ack.stream, "role": "primary", "seq": ack.seq}

    async def round(self, service: str) -> dict[str, dict[str, Any]]:
        """One use of every dependency, by platform service id; each entry has a status."""
        names = self.cfg.names
        calls = {
            names.get("postgres", "postgres"): self._postgres(service),
            names.get("redis", "redis"): self._redis_round(),
            names.get("nats", "nats"): self._nats_round(service),
        }
        results = await asyncio.gather(
            *(asyncio.wait_for(call, TIMEOUT * 2) for call in calls.values()), return_exceptions=True
        )
        out: dict[str, dict[str, Any]] = {}
        for name, result in zip(calls, results, strict=True):
            if isinstance(result, BaseException):
                out[name] = {"status": "failing", "error": one_line(result, with_type=True)}
            else:
                out[name] = {"status": "ok", **result}
        return out

    async def close(self) -> None:
        if self._pg is not None:
            await self._pg.close()
        await self.writes.close()
        await self._redis.aclose()
        if self._nats is not None:
            await self._nats.close()


def _verdict(cfg: Config, service: str, deps: dict[str, dict[str, Any]], started: float) -> web.Response:
    failing = sorted(name for name, dep in deps.items() if dep["status"] != "ok")
    body: dict[str, Any] = {
        "status": "failing" if failing else "ok",
        "service": service,
        "tier": cfg.tier,
        "dependencies": deps,
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    if failing:
        body["failing"] = failing
    return web.json_response(body, status=503 if failing else 200)


def make_app(cfg: Config, deps: Dependencies) -> web.Application:
    async def livez(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "tier": cfg.tier})

    async def handle(request: web.Request) -> web.Response:
        # The gateway names the service a request came through; direct calls are the workers themselves.
        service = request.headers.get("X-Sre-Service", cfg.service)
        started = time.perf_counter()
        return _verdict(cfg, service, await deps.round(service), started)

    async def write(request: web.Request) -> web.Response:
        # Read one byte past the bound, so an oversized body is refused without reading all of it.
        body = await request.content.read(writes.MAX_BODY + 1)
        try:
            writer, seq = writes.parse(body)
        except writes.BadWrite as exc:
            status = 413 if len(body) > writes.MAX_BODY else 400
            return web.json_response({"ok": False, "error": str(exc)}, status=status)
        try:
            await asyncio.wait_for(deps.writes.write(writer, seq), TIMEOUT * 2)
        except (psycopg.Error, OSError, TimeoutError) as exc:
            error = one_line(exc, with_type=True)
            return web.json_response({"ok": False, "tier": cfg.tier, "error": error}, status=503)
        return web.json_response({"ok": True, "tier": cfg.tier})

    app = web.Application(client_max_size=writes.MAX_BODY * 4)
    app.router.add_get("/livez", livez)
    app.router.add_post("/write", write)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


async def _grpc_health(cfg: Config, deps: Dependencies, stop: asyncio.Event) -> None:
    import grpc
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc

    servicer = health.aio.HealthServicer()
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    server.add_insecure_port(f"127.0.0.1:{cfg.grpc_port}")
    await server.start()
    serving = health_pb2.HealthCheckResponse.SERVING
    not_serving = health_pb2.HealthCheckResponse.NOT_SERVING
    try:
        while not stop.is_set():
            result = await deps.round(cfg.service)
            status = serving if all(d["status"] == "ok" for d in result.values()) else not_serving
            for name in ("", cfg.service):  # the server as a whole, and the service
                await servicer.set(name, status)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    finally:
        await server.stop(0.5)


async def serve(cfg: Config) -> None:
    deps = Dependencies(cfg)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(make_app(cfg, deps), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", cfg.http_port).start()
    grpc_task = asyncio.create_task(_grpc_health(cfg, deps, stop))
    print(f"worker {cfg.tier}: http 127.0.0.1:{cfg.http_port}, grpc 127.0.0.1:{cfg.grpc_port}", flush=True)
    await stop.wait()
    await grpc_task
    await runner.cleanup()
    await deps.close()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m sre.sandbox.worker CONFIG.json", file=sys.stderr)
        return 2
    asyncio.run(serve(Config.load(Path(argv[0]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

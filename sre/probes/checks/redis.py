"""Redis: PING, ROLE, and on a replica its link to the master and the offset lag.

ROLE says master or replica (and the link state); `INFO replication` says
whether the link is up and for how long it has been down. The byte lag is
the master's replication offset minus the replica's, read from the master
the replica names (or `master_url`); when that master cannot be reached the
lag is left out rather than guessed. The master is a secondary question: it
gets at most half the time left, and a master that is down or hangs is
recorded (`redis_master_error`), not held against the replica, which is
judged on its own answer (role, link state). Lag in seconds is only known for sure
in two cases: 0 when the link is up and nothing is missing, and the time
since the link went down.

Secrets: `password`, `username` (ACL user). TLS: `rediss://` with the
endpoint's ca_file.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from typing import Any

from sre.probes.checks._imports import without

# The OpenTelemetry SDK is only for redis-py's own client metrics, which probes do not export.
with without("opentelemetry.sdk.metrics"):
    import redis.asyncio as aioredis
    from redis import exceptions as rexc
    from redis.asyncio.connection import Connection, parse_url
    from redis.backoff import NoBackoff
    from redis.retry import Retry

from sre.errors import one_line
from sre.probes.checks._support import Secrets, fail, load_settings, login, split_url
from sre.probes.context import ProbeContext
from sre.probes.model import ProbeError, Reason, Target
from sre.probes.settings import RedisSettings

ROLES = {"master": "primary", "slave": "replica", "replica": "replica"}


async def check_redis(target: Target, ctx: ProbeContext) -> None:
    opts = load_settings(RedisSettings, target.settings)
    secrets = Secrets(ctx)
    parts = split_url(target.endpoint.url)
    if parts.scheme not in ("redis", "rediss"):
        raise ProbeError(
            Reason.unsupported, f"redis: expected a redis:// or rediss:// URL, got {parts.scheme}://"
        )
    client = connect(target.endpoint.url, ctx, secrets)
    try:
        with ctx.phase("connect"):
            await call(client.ping(), "PING", secrets)
        with ctx.phase("role"):
            role = await call(client.execute_command("ROLE"), "ROLE", secrets)  # type: ignore[no-untyped-call]
        kind = role[0] if isinstance(role, list) and role and isinstance(role[0], str) else None
        if kind not in ROLES:
            raise ProbeError(Reason.protocol, f"ROLE: not a master or replica answer: {str(role)[:80]!r}")
        ctx.fact("redis_role", kind)
        ctx.fact("role", ROLES[kind])
        if kind == "master":
            ctx.fact("redis_replicas", len(role[2]) if len(role) > 2 and isinstance(role[2], list) else 0)
            return
        info = await call(client.info("replication"), "INFO replication", secrets)
    finally:
        await client.aclose()
    await observe_replica(role, info, target=target, opts=opts, ctx=ctx, secrets=secrets)


async def observe_replica(
    role: list[Any],
    info: dict[str, Any],
    *,
    target: Target,
    opts: RedisSettings,
    ctx: ProbeContext,
    secrets: Secrets,
) -> None:
    # ROLE of a replica: ["slave", master_host, master_port, state, offset]
    if len(role) < 5:
        raise ProbeError(Reason.protocol, f"ROLE: short replica answer: {str(role)[:80]!r}")
    _, host, port, state, offset = role[:5]
    link_up = info.get("master_link_status") == "up"
    ctx.fact("redis_link_state", state)  # connect, connecting, sync, connected
    ctx.fact("redis_master_link_up", link_up)
    down_since = info.get("master_link_down_since_seconds")
    if not link_up and isinstance(down_since, int) and down_since >= 0:
        ctx.fact("lag_seconds", float(down_since))
    if not link_up or not opts.compare_master:
        return
    master_url = opts.master_url or f"{split_url(target.endpoint.url).scheme}://{host}:{port}"
    master = connect(master_url, ctx, secrets)
    budget = ctx.side_budget()
    try:
        # At most half of what is left: a master that hangs must not turn the replica's answer into a timeout.
        async with asyncio.timeout(budget):
            with ctx.phase("master"):
                master_info = await call(
                    master.info("replication"), f"INFO replication on master {host}:{port}", secrets
                )
    except TimeoutError:
        ctx.fact("redis_master_error", f"master {host}:{port} gave no answer within {budget:.2g} s")
        return
    except ProbeError as exc:
        # The replica's own state is known; only the comparison is not. Say so, do not fail.
        ctx.fact("redis_master_error", exc.message)
        return
    finally:
        await master.aclose()
    master_offset = master_info.get("master_repl_offset")
    if not isinstance(master_offset, int) or not isinstance(offset, int):
        return
    lag = max(0, master_offset - offset)
    ctx.fact("lag_bytes", lag)
    if lag == 0:
        ctx.fact("lag_seconds", 0.0)


class SharedContextSSLConnection(aioredis.SSLConnection):
    """rediss:// on the run's shared SSLContext. redis-py builds a new one (and loads its CAs) for every
    connection, on the event loop: tens of milliseconds of CPU each. The handshake itself stays new."""

    def __init__(self, *, shared_ssl_context: ssl.SSLContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shared_ssl_context = shared_ssl_context

    def _connection_arguments(self) -> Mapping[str, Any]:
        # Connection's host and port, not SSLConnection's, which would build its own context.
        return {**Connection._connection_arguments(self), "ssl": self.shared_ssl_context}


def connect(url: str, ctx: ProbeContext, secrets: Secrets) -> aioredis.Redis:
    options: dict[str, Any] = {
        "socket_connect_timeout": ctx.target.timeout,
        "socket_timeout": ctx.target.timeout,
        "retry": Retry(NoBackoff(), 0),  # the runner decides about retries, never the driver
        "decode_responses": True,
        "client_name": "sre-probe",
    }
    options.update(login(secrets))
    # What from_url would do, except that it insists on its own connection class for rediss://.
    options.update(parse_url(url))
    if url.startswith("rediss://"):
        options["connection_class"] = SharedContextSSLConnection
        options["shared_ssl_context"] = ctx.ssl_context()  # verified, TLS 1.2 and up, the endpoint's CA
    return aioredis.Redis.from_pool(aioredis.ConnectionPool(**options))


async def call(awaitable: Any, what: str, secrets: Secrets) -> Any:
    try:
        return await awaitable
    except rexc.AuthenticationError as exc:
        raise ProbeError(Reason.auth, f"{what}: {secrets.scrub(one_line(exc))}") from None
    except rexc.BusyLoadingError as exc:
        raise ProbeError(Reason.not_ready, f"{what}: {one_line(exc)}") from None
    except rexc.ResponseError as exc:
        text = one_line(exc)
        if text.startswith(("NOAUTH", "WRONGPASS", "NOPERM")):
            raise ProbeError(Reason.auth, f"{what}: {secrets.scrub(text)}") from None
        if text.startswith(("LOADING", "MASTERDOWN")):
            raise ProbeError(Reason.not_ready, f"{what}: {text}") from None
        raise ProbeError(Reason.protocol, f"{what}: {secrets.scrub(text)}") from None
    except (rexc.InvalidResponse, rexc.DataError) as exc:
        raise ProbeError(Reason.protocol, f"{what}: {secrets.scrub(one_line(exc))}") from None
    except (ValueError, IndexError, TypeError) as exc:
        # redis-py's parser fails this way on bytes that only look like RESP (`:notanumber`, bad UTF-8).
        raise ProbeError(Reason.protocol, f"{what}: not a Redis answer ({one_line(exc)[:120]})") from None
    except rexc.ConnectionError as exc:
        if "closed by server" in str(exc):
            # Connected, then hung up instead of answering: whatever listens there does not speak Redis.
            raise ProbeError(
                Reason.protocol, f"{what}: the server closed the connection without a Redis answer"
            ) from None
        fail(exc, what, secrets)
    except (rexc.RedisError, OSError) as exc:
        fail(exc, what, secrets)

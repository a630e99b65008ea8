"""NATS JetStream: connect, account info, and a publish to a probe stream with its ack.

With a `stream` setting (or the endpoint's `params.stream`, which wins, with
`params.subject`, and is never created): a stream that mirrors another is the replica side (role
replica; nothing is published, as a mirror takes no publishes). Its lag in
seconds is how long ago it last heard from its source (nats-server's
`mirror.active`): a cut link keeps reporting the message lag of its last
contact, often 0, so only the silence shows it. A mirror that never reached
its source is a replication_lag failure. Any other stream is the primary side
and gets one small message whose ack proves the write path. A missing stream is
created only when `create_stream` is true.

Secrets: `username` and `password`, or `token`. TLS: `tls://` URLs with the
endpoint's ca_file and server_name.
"""

from __future__ import annotations

from typing import Any

from sre.errors import one_line
from sre.probes.checks._imports import without
from sre.probes.checks._support import Secrets, fail, load_settings, login, split_url
from sre.probes.context import ProbeContext
from sre.probes.model import ProbeError, Reason, Target
from sre.probes.settings import NatsSettings

# aiohttp is only for nats-py's WebSocket transport, which probes never use (nats://, tls://).
with without("aiohttp"):
    from nats.aio.client import Client
    from nats.errors import AuthorizationError, NoRespondersError, NoServersError
    from nats.errors import Error as NatsError
    from nats.js.api import StorageType
    from nats.js.errors import NotFoundError, ServiceUnavailableError

SCHEMES = ("nats", "tls")


class _FirstAttemptFailed(Exception):
    """Raised from the error callback: nats-py would otherwise keep trying the server."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


async def check_nats(target: Target, ctx: ProbeContext) -> None:
    opts = load_settings(NatsSettings, target.settings)
    secrets = Secrets(ctx)
    nc = Client()
    try:
        with ctx.phase("connect"):
            await connect(nc, target, ctx, secrets)
        version = nc.connected_server_version
        ctx.fact("nats_server_version", f"{version.major}.{version.minor}.{version.patch}")
        js = nc.jetstream(timeout=target.timeout)
        with ctx.phase("account"):
            info = await jetstream(js.account_info(), "JetStream account info", secrets)
        ctx.fact("nats_js_streams", info.streams)
        ctx.fact("nats_js_consumers", info.consumers)
        ctx.fact("nats_js_memory_bytes", info.memory)
        ctx.fact("nats_js_storage_bytes", info.storage)
        params = target.endpoint.params
        if "stream" in params:
            # The platform's own stream: never created here (a DR move may be re-creating it).
            named = opts.model_copy(update={"subject": params.get("subject"), "create_stream": False})
            await probe_stream(js, named, params["stream"], ctx, secrets)
        elif opts.stream is not None:
            await probe_stream(js, opts, opts.stream, ctx, secrets)
    finally:
        await nc.close()


async def connect(nc: Client, target: Target, ctx: ProbeContext, secrets: Secrets) -> None:
    parts = split_url(target.endpoint.url)
    if parts.scheme not in SCHEMES:
        raise ProbeError(Reason.unsupported, f"nats: expected a nats:// or tls:// URL, got {parts.scheme}://")
    connecting = True

    async def on_error(exc: Exception) -> None:
        if connecting:
            raise _FirstAttemptFailed(exc)

    options: dict[str, Any] = {
        "servers": [target.endpoint.url],
        "name": "sre-probe",
        "connect_timeout": target.timeout,
        "allow_reconnect": False,
        "max_reconnect_attempts": 1,
        "error_cb": on_error,
    }
    if parts.scheme == "tls":
        options["tls"] = ctx.ssl_context()
        if target.endpoint.server_name:
            options["tls_hostname"] = target.endpoint.server_name
    token = secrets.get("token")
    if token is not None:
        options["token"] = token
    found = login(secrets)
    if found:
        options["user"] = found.get("username", "")
        options["password"] = found["password"]
    try:
        await nc.connect(**options)
    except _FirstAttemptFailed as exc:
        raise_connect(exc.cause, secrets)
    except (NatsError, OSError, TimeoutError) as exc:
        raise_connect(exc, secrets)
    finally:
        connecting = False


def raise_connect(exc: BaseException, secrets: Secrets) -> None:
    if isinstance(exc, AuthorizationError) or "authorization violation" in str(exc).lower():
        raise ProbeError(Reason.auth, f"connect: {secrets.scrub(one_line(exc))}") from None
    if isinstance(exc, NoServersError | NatsError) and not isinstance(exc, OSError | TimeoutError):
        # nats-py's own errors on the first exchange: the peer did not speak NATS.
        raise ProbeError(Reason.protocol, f"connect: {secrets.scrub(one_line(exc))}") from None
    fail(exc, "connect", secrets)


async def probe_stream(js: Any, opts: NatsSettings, stream: str, ctx: ProbeContext, secrets: Secrets) -> None:
    subject = opts.subject or f"{stream}.sre-probe"
    ctx.fact("nats_js_stream", stream)
    with ctx.phase("stream"):
        try:
            info = await jetstream(js.stream_info(stream), f"stream {stream}", secrets)
        except ProbeError as exc:
            if not isinstance(exc.__cause__, NotFoundError):
                raise
            if not opts.create_stream:
                raise ProbeError(
                    Reason.not_ready, f"stream {stream}: not found (create_stream is off)"
                ) from None
            info = await jetstream(
                js.add_stream(name=stream, subjects=[subject], storage=StorageType.MEMORY, max_msgs=100),
                f"create stream {stream}",
                secrets,
            )
            ctx.fact("nats_js_stream_created", True)
    if info.mirror is not None:
        mirror_facts(info.mirror, stream, ctx)
        return
    ctx.fact("role", "primary")
    with ctx.phase("publish"):
        # No Nats-Expected-Stream header: a stream's messages are copied by DR moves, and nats-server
        # 2.9 will not source a message expecting another stream's name. The ack names the stream.
        ack = await jetstream(js.publish(subject, b"sre-probe"), f"publish to {subject}", secrets)
    if ack.stream != stream:
        raise ProbeError(
            Reason.not_ready, f"publish to {subject}: stored by stream {ack.stream}, not {stream}"
        )
    ctx.fact("nats_js_publish_seq", ack.seq)
    ctx.fact("writable", True)


def mirror_facts(mirror: Any, stream: str, ctx: ProbeContext) -> None:
    ctx.fact("role", "replica")
    ctx.fact("nats_js_mirror_of", mirror.name)
    if mirror.lag is not None:
        ctx.fact("nats_js_mirror_lag_messages", mirror.lag)
    if mirror.error is not None:
        raise ProbeError(Reason.replication_lag, f"mirror {stream} of {mirror.name}: {mirror.error}")
    if mirror.active is None or mirror.active < 0:
        raise ProbeError(
            Reason.replication_lag, f"mirror {stream} of {mirror.name}: no contact with its source"
        )
    seconds = round(mirror.active / 1e9, 3)
    ctx.fact("nats_js_mirror_active_seconds", seconds)
    ctx.fact("lag_seconds", seconds)


async def jetstream(awaitable: Any, what: str, secrets: Secrets) -> Any:
    """Await one JetStream API call; JetStream being off or absent is not_ready."""
    try:
        return await awaitable
    except (ServiceUnavailableError, NoRespondersError) as exc:
        raise ProbeError(Reason.not_ready, f"{what}: JetStream is not available ({one_line(exc)})") from exc
    except NotFoundError as exc:
        raise ProbeError(Reason.not_ready, f"{what}: {one_line(exc)}") from exc
    except (NatsError, OSError, TimeoutError) as exc:
        fail(exc, what, secrets)

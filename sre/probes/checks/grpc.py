"""gRPC health: `grpc.health.v1.Health/Check` on a new channel; SERVING passes, anything else is not ready.

The endpoint is `grpc://host:port`, `grpcs://host:port` or a bare `host:port`
(from an endpoint's params, e.g. the int_api -> workers link). TLS is on for
grpcs://, for port 443, or when the settings say so.
"""

from __future__ import annotations

from pathlib import Path

from sre.probes import net
from sre.probes.context import ProbeContext
from sre.probes.model import ProbeError, Reason, Target
from sre.probes.settings import GrpcSettings


async def check_grpc(target: Target, ctx: ProbeContext) -> None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    settings = GrpcSettings.model_validate(target.settings)
    where, url = net.address(target.endpoint.url)
    use_tls = settings.tls if settings.tls is not None else url.scheme == "grpcs" or where.port == 443
    ctx.fact("grpc_tls", use_tls)
    options: list[tuple[str, str | int]] = [
        ("grpc.enable_retries", 0),
        ("grpc.primary_user_agent", ctx.run.user_agent),
        # Subchannels of a channel's own, so closing it stops them: from the shared pool, a subchannel
        # kept reconnecting (with backoff, for 15 s) after its probe had returned.
        ("grpc.use_local_subchannel_pool", 1),
    ]
    if use_tls:
        ca_file = target.endpoint.ca_file
        roots = Path(ca_file).read_bytes() if ca_file else None
        if target.endpoint.server_name:
            options.append(("grpc.ssl_target_name_override", target.endpoint.server_name))
        channel = grpc.aio.secure_channel(str(where), grpc.ssl_channel_credentials(roots), options=options)
    else:
        channel = grpc.aio.insecure_channel(str(where), options=options)
    stub = health_pb2_grpc.HealthStub(channel)
    failure: ProbeError | None = None
    try:
        with ctx.phase("rpc"):
            reply = await stub.Check(
                health_pb2.HealthCheckRequest(service=settings.service),
                metadata=(("x-sre-probe-id", ctx.probe_id),),
            )
    except grpc.aio.AioRpcError as exc:
        failure = _rpc_error(exc, str(where))
    finally:
        await channel.close()
        # A closed channel that is still referenced (by the traceback of whatever this raises, kept in
        # the result) goes on reconnecting for its backoff, 15 s after the probe: drop every reference.
        del stub, channel
    if failure is not None:
        raise failure
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    ctx.fact("grpc_status", status)
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        what = f"service {settings.service!r}" if settings.service else "the server"
        raise ProbeError(Reason.not_ready, f"{where}: {what} is {status}")


def _rpc_error(exc: object, where: str) -> ProbeError:
    import grpc

    assert isinstance(exc, grpc.aio.AioRpcError)
    code = exc.code()
    details = (exc.details() or "").splitlines()[0] if exc.details() else code.name
    if code is grpc.StatusCode.UNAVAILABLE:
        lowered = details.lower()
        if "refused" in lowered:
            return ProbeError(Reason.connect_refused, f"{where}: connection refused")
        if "dns" in lowered or "resolve" in lowered:
            return ProbeError(Reason.dns, f"{where}: {details}")
        if "ssl" in lowered or "tls" in lowered or "handshake" in lowered:
            return ProbeError(Reason.tls_handshake, f"{where}: {details}")
        return ProbeError(Reason.connect_error, f"{where}: {details}")
    if code is grpc.StatusCode.NOT_FOUND:
        return ProbeError(Reason.not_ready, f"{where}: health service does not know this service ({details})")
    if code is grpc.StatusCode.UNIMPLEMENTED:
        return ProbeError(Reason.protocol, f"{where}: the server has no gRPC health service")
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return ProbeError(Reason.timeout, f"{where}: {details}")
    return ProbeError(Reason.protocol, f"{where}: gRPC {code.name}: {details}")

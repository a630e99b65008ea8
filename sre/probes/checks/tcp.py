"""TCP: the port accepts a connection; optionally a line is sent and the answer matched."""

from __future__ import annotations

from sre.probes import net
from sre.probes.context import ProbeContext
from sre.probes.model import ProbeError, Reason, Target
from sre.probes.regex import compile_regex
from sre.probes.settings import TcpSettings


async def check_tcp(target: Target, ctx: ProbeContext) -> None:
    settings = TcpSettings.model_validate(target.settings)
    where, _ = net.address(target.endpoint.url)
    reader, writer, _ = await net.connect(ctx, where)
    try:
        if settings.send is not None:
            writer.write(settings.send.encode())
            await writer.drain()
        if settings.expect is None:
            return
        pattern = compile_regex(settings.expect)  # RE2, on the bytes read as latin-1
        seen = b""
        with ctx.phase("expect"):
            while len(seen) < settings.max_read_bytes and not pattern.search(seen.decode("latin-1")):
                data = await reader.read(settings.max_read_bytes - len(seen))
                if not data:
                    break
                seen += data
        if not pattern.search(seen.decode("latin-1")):
            shown = seen[:60].decode("utf-8", errors="replace")
            raise ProbeError(Reason.protocol, f"{where} answered {shown!r}; expected /{settings.expect}/")
    finally:
        net.close(writer)

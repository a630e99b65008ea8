"""The gateways (the https services platform.yaml's `sandbox.components.gateway` lists, and the otel
component's service in the full profile): HAProxy, HTTPS with TLS 1.3 only.

One HAProxy process. Each gateway service gets a frontend per running tier
(active and hot); the cold tier's address is written but nothing listens there.
Frontends route to the backend of the worker tier named in a map file, so the
runtime API socket (admin level) moves a tier's traffic with one `set map`.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from sre.sandbox import binaries, health
from sre.sandbox.context import Launcher, Run
from sre.sandbox.render import render
from sre.sandbox.supervisor import ProcessSpec

SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes


@dataclass(frozen=True)
class Frontend:
    service: str
    tier: str
    port: int
    kind: str = "workers"


@dataclass(frozen=True)
class Backend:
    tier: str
    port: int


def client_context(ca_file: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca_file))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx


def config(run: Run, frontends: list[Frontend], socket: Path, map_file: Path, otel_port: int | None) -> str:
    tiers = [t for t in (run.tier("active"), run.tier("hot"), run.tier("cold")) if t]
    backends = [Backend(t, run.port(f"worker.{t}.http")) for t in tiers]
    return render(
        "haproxy.cfg.j2",
        frontends=frontends,
        backends=backends,
        tiers=tiers,
        socket=socket,
        map_file=map_file,
        bundle=run.tls.bundle,
        otel_port=otel_port,
        workers=next(iter(run.bound.get("workers", ())), "workers"),
    )


def start(run: Run) -> None:
    folder = run.folder("haproxy", mode=0o700)
    socket = run.folder("run", mode=0o700) / "haproxy.sock"
    if len(str(socket)) > SOCKET_PATH_MAX:
        from sre.errors import SreError

        raise SreError(f"{socket}: path too long for a Unix socket; choose a shorter --dir")
    tiers = [t for t in (run.tier("active"), run.tier("hot"), run.tier("cold")) if t]
    map_file = folder / "tiers.map"
    map_file.write_text("".join(f"{t} {t}\n" for t in tiers), encoding="utf-8")

    services = run.services()
    otel_port = run.port("otel.http") if "otel" in run.started else None
    # The collector's service (if the platform has one) is fronted here too, on the active tier.
    otel = next(iter(run.bound.get("otel", ())), None) if otel_port is not None else None
    if otel is not None:
        services.append(otel)
    running = {run.tier("active"), run.tier("hot")} - {None}
    frontends = [
        Frontend(s, t, run.port(f"gateway.{s}.{t}"), "otel" if s == otel else "workers")
        for s in services
        for t in tiers
        if t in running and (s != otel or t == run.tier("active"))
    ]
    if not frontends:
        return
    cfg = folder / "haproxy.cfg"
    cfg.write_text(config(run, frontends, socket, map_file, otel_port), encoding="utf-8")
    tls = client_context(run.tls.ca_cert)
    first = frontends[0]
    run.supervisor.start(
        ProcessSpec(
            name="haproxy",
            component="gateway",
            argv=[str(run.binary("haproxy")), "-db", "-f", str(cfg)],
            health=health.all_of(
                *(health.tcp(fe.port) for fe in frontends), health.http_get(first.port, "/healthz", tls=tls)
            ),
            ports={f"{fe.service}.{fe.tier}": fe.port for fe in frontends},
        )
    )
    control = {"runtime_api": f"unix://{socket}", "tier_map": str(map_file)}
    run.urls["gateway"] = control
    for fe in frontends:
        # Runbooks find the runtime API and the map through the gateway's endpoint (haproxy_runtime).
        endpoint = {"url": run.url("https", fe.port), "params": control}
        run.serve(fe.service, fe.tier, endpoint, process="haproxy")
    for s in services:
        if s != otel:
            run.serve_cold(s, f"gateway.{s}", "https", "the gateway")


LAUNCHER = Launcher(
    name="gateway",
    title="HAProxy (Debian haproxy): HTTPS gateways, TLS 1.3 only, a backend per tier, runtime API",
    kinds=(),  # https services are many things: platform.yaml says which are gateways
    binaries=(binaries.apt("haproxy"),),
    start=start,
    needs=("workers",),
    stage=2,
)

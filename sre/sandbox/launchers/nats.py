"""The nats service (nats_js here): a NATS server with JetStream per running tier, each its own JetStream
domain (named after its tier), linked by a leafnode connection.

The active tier's server holds the platform's stream (`SANDBOX`, subjects `sandbox.>`) and listens for
leafnodes; the hot tier's server connects to it and holds a mirror of that stream
(`external.api: $JS.<active>.API`), which keeps the source's sequence numbers. Two independent
servers, not a JetStream cluster: a 2-node cluster loses its quorum with either DC, which is what DR
must survive. `dr-switchover` moves the writable stream between them (sre.runbooks.actions.nats_move).
"""

from __future__ import annotations

import asyncio
import json
import time

from sre.errors import one_line
from sre.sandbox import binaries, health
from sre.sandbox.context import Launcher, Run, write_private
from sre.sandbox.render import render
from sre.sandbox.supervisor import ProcessSpec, StartFailed

STREAM = "SANDBOX"
SUBJECTS = ["sandbox.>"]
MAX_MSGS = 10000
MIRROR_WAIT = 15.0  # seconds for the mirror's first contact with its source over the leafnode


def ports_of(run: Run, tier: str, active: str) -> tuple[int, int]:
    """Client and monitoring ports; the active tier keeps the keys of the one-server sandbox."""
    prefix = "nats" if tier == active else f"nats.{tier}"
    return run.port(f"{prefix}.client"), run.port(f"{prefix}.monitor")


def start(run: Run) -> None:
    active, hot = run.tier("active"), run.tier("hot")
    if active is None:
        return
    leaf = run.port("nats.leafnode")
    specs, tiers = [], [t for t in (active, hot) if t is not None]
    for tier in tiers:
        port, monitor = ports_of(run, tier, active)
        store = run.folder("nats", tier, mode=0o700)
        conf = write_private(
            run.root / "nats" / f"{tier}.conf",
            render(
                "nats.conf.j2",
                tier=tier,
                port=port,
                monitor=monitor,
                store=store,
                leaf_port=leaf,
                leaf_url=f"nats-leaf://127.0.0.1:{leaf}" if tier != active else None,
            ),
        )
        specs.append(
            ProcessSpec(
                name="nats" if tier == active else f"nats-{tier}",
                component="nats",
                argv=[str(run.binary("nats-server")), "--config", str(conf)],
                health=health.http_get(
                    monitor,
                    "/healthz?js-enabled-only=true",
                    accept=lambda b: json.loads(b).get("status") == "ok",
                ),
                ports={"client": port, "monitor": monitor, **({"leafnode": leaf} if tier == active else {})},
            )
        )
    run.supervisor.start_many(specs)
    urls = {tier: f"nats://127.0.0.1:{ports_of(run, tier, active)[0]}" for tier in tiers}
    try:
        problem = asyncio.run(_streams(urls, active, hot))
    except Exception as exc:  # nats-py's errors have no common base with OSError and TimeoutError
        problem = f"setting up the streams: {one_line(exc, with_type=True)}"
    if problem is not None:
        name = specs[-1].name
        raise StartFailed(name, problem, run.supervisor.logs / f"{name}.log")
    for tier, spec in zip(tiers, specs, strict=True):
        endpoint = {
            "url": urls[tier],
            "params": {
                "monitor": run.url("http", ports_of(run, tier, active)[1]),
                "js_domain": tier,
                "stream": STREAM,
                "stream_subjects": ",".join(SUBJECTS),
                "subject": "sandbox.sre-probe",
            },
        }
        run.serve(run.service(), tier, endpoint, process=spec.name)


async def _streams(urls: dict[str, str], active: str, hot: str | None) -> str | None:
    """The writable stream on the active tier, its mirror on the hot one; None when both are there."""
    import nats
    from nats.js.api import ExternalStream, StreamConfig, StreamSource

    primary = await nats.connect(urls[active], connect_timeout=5, allow_reconnect=False)
    try:
        await primary.jetstream().add_stream(StreamConfig(name=STREAM, subjects=SUBJECTS, max_msgs=MAX_MSGS))
    finally:
        await primary.close()
    if hot is None:
        return None
    mirror = StreamSource(name=STREAM, external=ExternalStream(api=f"$JS.{active}.API"))
    replica = await nats.connect(urls[hot], connect_timeout=5, allow_reconnect=False)
    try:
        js = replica.jetstream()
        await js.add_stream(StreamConfig(name=STREAM, mirror=mirror, max_msgs=MAX_MSGS))
        deadline = time.monotonic() + MIRROR_WAIT
        while time.monotonic() < deadline:
            info = await js.stream_info(STREAM)
            if info.mirror is not None and info.mirror.active is not None and info.mirror.active >= 0:
                return None
            await asyncio.sleep(0.1)
    finally:
        await replica.close()
    return f"the {hot} tier's mirror of {STREAM} did not reach the {active} tier within {MIRROR_WAIT:g} s"


LAUNCHER = Launcher(
    name="nats",
    title="NATS with JetStream (Debian nats-server): a server per tier, a mirror over a leafnode",
    kinds=("nats",),
    binaries=(binaries.apt("nats-server"),),
    start=start,
)

"""The nats service (nats_js here): one NATS server with JetStream and its HTTP monitoring port
(for /healthz and /jsz)."""

from __future__ import annotations

import json

from sre.sandbox import binaries, health
from sre.sandbox.context import Launcher, Run
from sre.sandbox.supervisor import ProcessSpec


def start(run: Run) -> None:
    tier = run.tier("active")
    port, monitor = run.port("nats.client"), run.port("nats.monitor")
    store = run.folder("nats", mode=0o700)
    run.supervisor.start(
        ProcessSpec(
            name="nats",
            component="nats",
            argv=[
                str(run.binary("nats-server")),
                "--addr",
                "127.0.0.1",
                "--port",
                str(port),
                "--http_port",
                str(monitor),
                "--jetstream",
                "--store_dir",
                str(store),
                "--server_name",
                "sandbox",
            ],
            health=health.http_get(
                monitor, "/healthz?js-enabled-only=true", accept=lambda b: json.loads(b).get("status") == "ok"
            ),
            ports={"client": port, "monitor": monitor},
        )
    )
    run.serve(
        run.service(),
        tier,
        {"url": f"nats://127.0.0.1:{port}", "params": {"monitor": run.url("http", monitor)}},
        process="nats",
    )


LAUNCHER = Launcher(
    name="nats",
    title="NATS with JetStream (Debian nats-server)",
    kinds=("nats",),
    binaries=(binaries.apt("nats-server"),),
    start=start,
)

"""Shared by the Prometheus, Alertmanager and blackbox_exporter launchers: one way to start each."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sre.sandbox import health
from sre.sandbox.context import Run
from sre.sandbox.supervisor import ProcessSpec


def start_exporter(run: Run, name: str, binary: str, args: Sequence[str], ready: str) -> int:
    """Start a Prometheus-family server on a free port; its URL goes to `status`. Returns the port."""
    port = run.port(f"{name}.http")
    run.supervisor.start(
        ProcessSpec(
            name=name,
            component=name,
            argv=[str(run.binary(binary)), f"--web.listen-address=127.0.0.1:{port}", *args],
            health=health.http_get(port, ready),
            ports={"http": port},
        )
    )
    run.urls[name] = {"http": run.url("http", port)}
    return port


def start_python(
    run: Run, name: str, module: Sequence[str], port_key: str, *, ready: str, start_timeout: float = 30.0
) -> str:
    """Start `python -m MODULE...` (this interpreter: the sandbox's own servers) on its port, as the
    component of the same name, healthy when `ready` answers. Returns its base URL."""
    port = run.port(port_key)
    run.supervisor.start(
        ProcessSpec(
            name=name,
            component=name,
            argv=[sys.executable, "-m", *module, "--listen", f"127.0.0.1:{port}"],
            health=health.http_get(port, ready),
            ports={"http": port},
            start_timeout=start_timeout,
        )
    )
    return run.url("http", port)

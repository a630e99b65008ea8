"""otel: an OTLP receiver, Rotel (PyPI rotel), behind the HAProxy gateway for HTTPS and health.

Rotel has no health endpoint of its own; the gateway answers `/healthz` (and `/`, where
an OpenTelemetry Collector's health_check extension answers) from
its TCP check of Rotel's OTLP/HTTP port, so the health is real. Received
telemetry goes to Rotel's blackhole exporter: the sandbox keeps none of it.
"""

from __future__ import annotations

from sre.sandbox import binaries, health
from sre.sandbox.context import Launcher, Run
from sre.sandbox.supervisor import ProcessSpec


def start(run: Run) -> None:
    http_port, grpc_port = run.port("otel.http"), run.port("otel.grpc")
    run.supervisor.start(
        ProcessSpec(
            name="rotel",
            component="otel",
            argv=[
                str(run.binary("rotel-agent")),
                "start",
                "--otlp-grpc-endpoint",
                f"127.0.0.1:{grpc_port}",
                "--otlp-http-endpoint",
                f"127.0.0.1:{http_port}",
                "--exporter",
                "blackhole",
            ],
            health=health.all_of(health.tcp(http_port), health.tcp(grpc_port)),
            ports={"otlp_http": http_port, "otlp_grpc": grpc_port},
        )
    )
    run.urls["otel"] = {"otlp_http": run.url("http", http_port), "otlp_grpc": f"127.0.0.1:{grpc_port}"}


LAUNCHER = Launcher(
    name="otel",
    title="OTLP receiver Rotel (PyPI rotel), HTTPS and /healthz through HAProxy",
    kinds=(),
    binaries=(binaries.Binary("rotel-agent", "pip install 'sre[sandbox]'", python_package="rotel"),),
    start=start,
    profile="full",
)

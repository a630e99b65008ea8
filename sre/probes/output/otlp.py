"""OpenTelemetry out: a span per probe and probe metrics, sent over OTLP.

Used only when OTEL_EXPORTER_OTLP_ENDPOINT is set; the SDK reads the rest of
its settings from the standard OTEL_* variables (OTEL_EXPORTER_OTLP_PROTOCOL:
http/protobuf by default, or grpc). The SDK is imported here, never at start-up.

A collector that accepts and never answers must not hold the run: the export
has its own short deadline (DEADLINE seconds, or less when the caller says so)
for each request and for the whole flush, runs on a daemon thread that is
abandoned when the deadline passes, and the SDK's exit hooks are off (they
would flush again, for 30 s, when the process exits).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any

from sre import __version__
from sre.probes.model import Result, Status

SCALAR = (str, int, float, bool)
DEADLINE = 2.0  # seconds for the whole export: the collector is a courtesy, the probe results are the job


def _exporters(timeout: float) -> tuple[Any, Any]:
    if os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import (  # type: ignore[assignment]
            OTLPMetricExporter,
        )
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[assignment]
            OTLPSpanExporter,
        )
    return OTLPSpanExporter(timeout=timeout), OTLPMetricExporter(timeout=timeout)


def _watch(exporter: Any, failures: list[str]) -> Any:
    """Note each export the collector did not accept (the SDK itself only logs it)."""
    original = exporter.export

    def export(*args: Any, **kwargs: Any) -> Any:
        outcome = original(*args, **kwargs)
        if getattr(outcome, "name", "SUCCESS") != "SUCCESS":
            failures.append(type(exporter).__name__)
        return outcome

    exporter.export = export
    return exporter


def attributes(r: Result) -> dict[str, Any]:
    out: dict[str, Any] = {
        "sre.service": r.service,
        "sre.check": r.check,
        "sre.zone": r.zone,
        "sre.tier": r.tier,
        "sre.dc": r.dc,
        "sre.vantage": r.vantage,
        "sre.probe.status": str(r.status),
        "sre.probe.attempts": r.attempts,
        "server.address": r.endpoint,
    }
    if r.reason is not None:
        out["sre.probe.reason"] = str(r.reason)
    for name, value in r.facts.items():
        if isinstance(value, SCALAR):
            out[f"sre.fact.{name}"] = value
    return out


def export(results: list[Result], *, environment: str, deadline: float = DEADLINE) -> bool:
    """Send spans and metrics; False (and one line on stderr) when the collector did not take them in time."""
    outcome: list[bool] = []
    worker = threading.Thread(
        target=lambda: outcome.append(_send(results, environment, deadline)), name="otlp-export", daemon=True
    )
    worker.start()
    worker.join(deadline + 0.25)
    sent = bool(outcome and outcome[0])
    if not sent:
        from sre.scrub import patterns

        where = patterns(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", ""))  # a user:password in it stays out
        sys.stderr.write(f"OTLP: the collector at {where} did not take the results within {deadline:.2g} s\n")
    return sent


def _send(results: list[Result], environment: str, deadline: float) -> bool:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.trace import SpanKind, StatusCode

    resource = Resource.create(
        {"service.name": "sre-probe", "service.version": __version__, "deployment.environment": environment}
    )
    failures: list[str] = []
    # Half the deadline each: spans, then metrics.
    span_exporter, metric_exporter = (_watch(e, failures) for e in _exporters(deadline / 2))
    # The SDK logs every retry on stderr; the CLI says it once.
    logging.getLogger("opentelemetry").setLevel(logging.CRITICAL)
    tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter))
    reader = PeriodicExportingMetricReader(
        metric_exporter, export_interval_millis=3_600_000, export_timeout_millis=deadline * 500
    )
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader], shutdown_on_exit=False)
    tracer = tracer_provider.get_tracer("sre.probes", __version__)
    meter = meter_provider.get_meter("sre.probes", __version__)
    success = meter.create_gauge("probe_success", description="Whether the probe succeeded (1) or not (0)")
    duration = meter.create_gauge("probe_duration_seconds", unit="s", description="How long the probe took")
    for r in results:
        if r.status is Status.skipped:
            continue
        attrs = attributes(r)
        start = int(r.started_at * 1e9)
        span = tracer.start_span(
            f"probe {r.check} {r.service}", kind=SpanKind.CLIENT, start_time=start, attributes=attrs
        )
        if r.status is Status.failed:
            span.set_status(StatusCode.ERROR, f"{r.reason}: {r.message}")
        span.end(end_time=start + int(r.duration_seconds * 1e9))
        labels = {k: v for k, v in attrs.items() if k.startswith("sre.") and not k.startswith("sre.fact.")}
        labels.pop("sre.probe.attempts", None)
        success.set(1 if r.status in (Status.ok, Status.degraded) else 0, labels)
        duration.set(r.duration_seconds, labels)
    half = int(deadline * 500)
    flushed = tracer_provider.force_flush(half) and meter_provider.force_flush(half)
    tracer_provider.shutdown()
    meter_provider.shutdown()
    return bool(flushed and not failures)

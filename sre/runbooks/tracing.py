"""OTel spans for runs and steps, only when OTEL_EXPORTER_OTLP_ENDPOINT is set.

Spans carry ids, names, events and outcomes; never arguments, facts or messages
that a secret could hide in.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _tracer() -> Any:
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from sre import __version__

    if os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[assignment]
            OTLPSpanExporter,
        )
    provider = TracerProvider(
        resource=Resource.create({"service.name": "sre-runbooks", "service.version": __version__})
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


@contextmanager
def span(name: str, **attributes: str | int | float | bool) -> Iterator[Any]:
    provider = _tracer()
    if provider is None:
        yield None
        return
    with provider.get_tracer("sre.runbooks").start_as_current_span(name, attributes=attributes) as current:
        yield current


def flush() -> None:
    provider = _tracer()
    if provider is not None:
        provider.force_flush(timeout_millis=5000)

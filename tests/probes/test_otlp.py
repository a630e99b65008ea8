"""OTLP out: spans and metrics reach a local OTLP/HTTP receiver that decodes the real protobuf payloads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiohttp import web
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from probe_servers import LoopThread
from test_outputs import RESULTS

from sre.probes.output import otlp

pytestmark = pytest.mark.integration


@pytest.fixture
def receiver() -> Iterator[tuple[str, dict[str, list[bytes]]]]:
    got: dict[str, list[bytes]] = {"traces": [], "metrics": []}

    async def handle(request: web.Request) -> web.Response:
        got[request.match_info["signal"]].append(await request.read())
        return web.Response(body=b"", content_type="application/x-protobuf")

    loop = LoopThread()
    app = web.Application()
    app.router.add_post("/v1/{signal}", handle)

    async def start() -> tuple[web.AppRunner, int]:
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    runner, port = loop.call(start())
    try:
        yield f"http://127.0.0.1:{port}", got
    finally:
        loop.call(runner.cleanup())
        loop.stop()


def test_spans_and_metrics(
    receiver: tuple[str, dict[str, list[bytes]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, got = receiver
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_PROTOCOL", raising=False)
    assert otlp.export(RESULTS, environment="sandbox")
    spans = []
    for body in got["traces"]:
        request = ExportTraceServiceRequest.FromString(body)
        spans += [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert sorted(s.name for s in spans) == sorted(
        f"probe https {r.service}" for r in RESULTS if r.status != "skipped"
    )
    failed = [s for s in spans if s.status.code == 2]  # STATUS_CODE_ERROR
    assert len(failed) == 1
    attrs = {a.key: a.value for a in failed[0].attributes}
    assert attrs["sre.probe.reason"].string_value == "tls_version_below_policy"
    assert attrs["sre.tier"].string_value == "primary"
    names = set()
    for body in got["metrics"]:
        request = ExportMetricsServiceRequest.FromString(body)
        names |= {m.name for rm in request.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert {"probe_success", "probe_duration_seconds"} <= names


def test_unreachable_collector_is_one_line_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from probe_servers import closed_port

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    assert otlp.export(RESULTS[:1], environment="x") is False
    err = capsys.readouterr().err
    assert "did not take the results" in err
    assert "Traceback" not in err


def test_the_collector_address_is_shown_without_its_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from probe_servers import closed_port

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://otel:s3cret-pass@127.0.0.1:{closed_port()}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    assert otlp.export(RESULTS[:1], environment="x", deadline=1.0) is False
    err = capsys.readouterr().err
    assert "did not take the results" in err
    assert "s3cret-pass" not in err

"""RED (rate, errors, duration) of request-serving services, by the metrics of their protocol."""

from __future__ import annotations

from sre.grafana import Board, q, rate, selector
from sre.grafana.panels.common import Labels, bound
from sre.platform.model import Service


def red_http(board: Board, labels: Labels, service: Service) -> None:
    """OpenTelemetry HTTP semantic conventions: http.server.request.duration (seconds) as a histogram."""
    count = selector("http_server_request_duration_seconds_count", labels)
    errors = selector("http_server_request_duration_seconds_count", labels, http_response_status_code="~5..")
    bucket = selector("http_server_request_duration_seconds_bucket", labels)
    _red(board, service, count=count, errors=errors, bucket=bucket, by="http_request_method", unit="s")


def red_grpc(board: Board, labels: Labels, service: Service) -> None:
    """OpenTelemetry RPC semantic conventions: rpc.server.duration (milliseconds) as a histogram.
    Server-side failures are the codes UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL,
    UNAVAILABLE and DATA_LOSS."""
    count = selector("rpc_server_duration_milliseconds_count", labels)
    errors = selector(
        "rpc_server_duration_milliseconds_count", labels, rpc_grpc_status_code="~2|4|12|13|14|15"
    )
    bucket = selector("rpc_server_duration_milliseconds_bucket", labels)
    _red(board, service, count=count, errors=errors, bucket=bucket, by="rpc_method", unit="ms")


def red_flask(board: Board, labels: Labels, service: Service) -> None:
    """MLflow's --expose-prometheus metrics (prometheus_flask_exporter)."""
    count = selector("flask_http_request_duration_seconds_count", labels)
    errors = selector("flask_http_request_duration_seconds_count", labels, status="~5..")
    bucket = selector("flask_http_request_duration_seconds_bucket", labels)
    _red(board, service, count=count, errors=errors, bucket=bucket, by="method", unit="s")


def _red(board: Board, service: Service, *, count: str, errors: str, bucket: str, by: str, unit: str) -> None:
    board.graph(
        "Requests",
        q(f"sum by ({by}) ({rate(count)})", f"{{{{{by}}}}}"),
        unit="reqps",
        description=f"Requests per second served, by {by}.",
        width=8,
    )
    slo_errors = 1 - service.slo.availability / 100 if service.slo else None
    board.graph(
        "Errors (share of requests)",
        # No failed request has no error series at all: that is 0 %, not "no data".
        q(f"(sum({rate(errors)}) or vector(0)) / sum({rate(count)})", "errors"),
        unit="percentunit",
        thresholds=bound(slo_errors),
        description="Share of requests that failed on the server side; red from the error rate the "
        "availability SLO allows.",
        width=8,
    )
    latency = service.slo.latency if service.slo else None
    percentile = (latency.percentile if latency else 99) / 100
    threshold = latency.threshold_ms / (1000 if unit == "s" else 1) if latency else None
    quantile = "histogram_quantile({p}, sum by (le) ({rate}))"
    board.graph(
        "Duration",
        q(quantile.format(p=0.5, rate=rate(bucket)), "p50"),
        q(quantile.format(p=percentile, rate=rate(bucket)), f"p{percentile * 100:g}"),
        unit=unit,
        thresholds=bound(threshold),
        description="Median and SLO-percentile request duration from the server's histogram; red from "
        "the SLO's latency threshold.",
        width=8,
    )


RED_PANELS = {"http": red_http, "https": red_http, "grpc": red_grpc, "mlflow": red_flask}

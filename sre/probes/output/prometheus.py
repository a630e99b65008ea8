"""Prometheus exposition with blackbox_exporter's metric names, written with prometheus-client.

Dashboards and alerts made for blackbox_exporter work unchanged; `probe_failure_reason{reason}`
says why, and every series carries service, check, zone, tier, dc and vantage. The exporter's
`/probe` answer leaves those labels out (`labelled=False`), as blackbox_exporter does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from sre.probes.model import Result, Status
from sre.probes.output.escape import visible

LABELS = ("service", "check", "zone", "tier", "dc", "vantage")
HTTP_PHASES = ("resolve", "connect", "tls", "processing", "transfer")
HTTP_CHECKS = frozenset({"http", "https"})

# name -> help text; the order is the order of the exposition.
HELP = {
    "probe_success": "Whether the probe succeeded (1) or not (0)",
    "probe_duration_seconds": "How long the probe took, all attempts included",
    "probe_status": "The probe's status: ok, degraded, failed or expected_down",
    "probe_failure_reason": "Why the probe did not pass",
    "probe_attempts": "Attempts made (more than one only when a failure threshold asks for it)",
    "probe_ip_protocol": "The IP protocol of the address probed (4 or 6)",
    "probe_dns_lookup_time_seconds": "Time spent resolving the target's name",
    "probe_http_status_code": "Response HTTP status code",
    "probe_http_version": "The HTTP version of the response",
    "probe_http_content_length": "Length of the response body in bytes",
    "probe_http_ssl": "Whether TLS was used for the final request",
    "probe_http_duration_seconds": "Duration of the HTTP request by phase",
    "probe_phase_duration_seconds": "Duration of the probe by phase, for checks other than HTTP",
    "probe_ssl_earliest_cert_expiry": "Earliest expiry of the certificates the server sent, Unix seconds",
    "probe_tls_version_info": "The TLS version negotiated",
    "probe_tls_cipher_info": "The TLS cipher negotiated",
    "probe_grpc_healthcheck_response": "gRPC health status of the target",
    "probe_dns_answer_rrs": "Number of answer records",
    "probe_replication_lag_seconds": "Replication lag a replica reports",
    "probe_replication_lag_bytes": "Replication lag a replica reports, in bytes of changes left to apply",
    "probe_backup_age_seconds": "Age of the newest backup or commit a cold copy can be restored from",
}


def _series(r: Result) -> Iterator[tuple[str, dict[str, str], float]]:
    """(metric, extra labels, value) for one result."""
    f = r.facts
    yield "probe_success", {}, 1.0 if r.status in (Status.ok, Status.degraded) else 0.0
    yield "probe_duration_seconds", {}, r.duration_seconds
    yield "probe_status", {"status": str(r.status)}, 1.0
    if r.reason is not None and r.status is not Status.ok:
        yield "probe_failure_reason", {"reason": str(r.reason)}, 1.0
    yield "probe_attempts", {}, float(r.attempts)
    if isinstance(f.get("ip"), str):
        yield "probe_ip_protocol", {}, 6.0 if ":" in f["ip"] else 4.0
    if "resolve" in r.phases:
        yield "probe_dns_lookup_time_seconds", {}, r.phases["resolve"]
    if r.check in HTTP_CHECKS:
        yield from _http(r)
    else:
        for phase, took in r.phases.items():
            yield "probe_phase_duration_seconds", {"phase": phase}, took
    if isinstance(f.get("cert_not_after"), int | float):
        yield "probe_ssl_earliest_cert_expiry", {}, float(f["cert_not_after"])
    if isinstance(f.get("tls_version"), str):
        yield "probe_tls_version_info", {"version": f"TLS {f['tls_version']}"}, 1.0
    if isinstance(f.get("tls_cipher"), str):
        yield "probe_tls_cipher_info", {"cipher": f["tls_cipher"]}, 1.0
    if isinstance(f.get("grpc_status"), str):
        yield "probe_grpc_healthcheck_response", {"serving_status": f["grpc_status"]}, 1.0
    if isinstance(f.get("dns_answers"), list):
        yield "probe_dns_answer_rrs", {}, float(len(f["dns_answers"]))
    if isinstance(f.get("lag_seconds"), int | float):
        yield "probe_replication_lag_seconds", {}, float(f["lag_seconds"])
    if isinstance(f.get("lag_bytes"), int | float):
        yield "probe_replication_lag_bytes", {}, float(f["lag_bytes"])
    if isinstance(f.get("backup_age_hours"), int | float):
        yield "probe_backup_age_seconds", {}, float(f["backup_age_hours"]) * 3600


def _http(r: Result) -> Iterator[tuple[str, dict[str, str], float]]:
    f = r.facts
    if isinstance(f.get("http_status"), int):
        yield "probe_http_status_code", {}, float(f["http_status"])
    version = f.get("http_version")
    if isinstance(version, str) and version.replace(".", "", 1).isdigit():
        yield "probe_http_version", {}, float(version)
    if isinstance(f.get("http_content_length"), int):
        yield "probe_http_content_length", {}, float(f["http_content_length"])
    yield "probe_http_ssl", {}, 1.0 if "tls_version" in f else 0.0
    for phase in HTTP_PHASES:
        yield "probe_http_duration_seconds", {"phase": phase}, r.phases.get(phase, 0.0)


class _Results(Collector):
    def __init__(self, results: Iterable[Result], labelled: bool) -> None:
        self.results = [r for r in results if r.status is not Status.skipped]
        self.labelled = labelled

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families: dict[tuple[str, tuple[str, ...]], GaugeMetricFamily] = {}
        for r in self.results:
            base = dict(zip(LABELS, (r.service, r.check, r.zone, r.tier, r.dc, r.vantage), strict=True))
            for name, extra, value in _series(r):
                labels = {**(base if self.labelled else {}), **extra}
                key = (name, tuple(labels))
                family = families.get(key)
                if family is None:
                    family = GaugeMetricFamily(name, HELP[name], labels=list(labels))
                    families[key] = family
                # A lone surrogate would stop the UTF-8 encoder; controls are shown as escapes.
                family.add_metric([visible(v) for v in labels.values()], value)
        order = list(HELP)
        yield from sorted(families.values(), key=lambda fam: order.index(fam.name))


def render(results: Iterable[Result], *, labelled: bool = True) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Results(results, labelled))
    return generate_latest(registry).decode()

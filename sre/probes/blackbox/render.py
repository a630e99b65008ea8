"""A blackbox module's `/probe` answer: blackbox_exporter's series, on failure too, then sre's own.

blackbox registers a prober's gauges before it probes, so a refused connection
still answers `probe_http_status_code 0`, `probe_http_ssl 0`...; dashboards and
alert rules read those zeros. The same families are written here from the
result's facts, with 0 where nothing was observed; `probe_status`,
`probe_failure_reason` and `probe_attempts` follow as extras.
"""

from __future__ import annotations

import functools
import ipaddress
import math
from collections.abc import Callable, Iterator

import yaml

from sre.probes.model import Reason, Result, Status
from sre.probes.output.escape import visible

from .ciphers import iana
from .config import Module

Series = tuple[str, str, dict[str, str], float]  # name, help, labels, value
_HEADS: dict[str, str] = {}  # a family's HELP and TYPE lines, made once (the families are fixed)
HTTP_PHASES = ("resolve", "connect", "tls", "processing", "transfer")
GRPC_STATES = ("UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN")
# A handshake that failed leaves no TLS series in blackbox (the facts of sre's second,
# unverified look at the certificate stay out of a blackbox answer).
TLS_FAILED = frozenset(
    {Reason.tls_handshake, Reason.cert_invalid, Reason.cert_expired, Reason.hostname_mismatch}
)
GRPC_CODES = {
    Reason.connect_refused: 14,
    Reason.connect_error: 14,
    Reason.dns: 14,
    Reason.tls_handshake: 14,
    Reason.timeout: 4,
    Reason.protocol: 12,
}


@functools.lru_cache(maxsize=256)  # the same few addresses, probe after probe
def fnv32a(ip: str) -> int:
    """blackbox's probe_ip_addr_hash: FNV-1a (32 bits) of the address's bytes (4 for IPv4, 16 for IPv6)."""
    value = 0x811C9DC5
    for byte in ipaddress.ip_address(ip).packed:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


@functools.lru_cache(maxsize=256)  # a certificate's names, the same probe after probe
def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _num(facts: dict[str, object], name: str) -> float:
    value = facts.get(name)
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    return float(value) if isinstance(value, int | float) else 0.0


def series(prober: str, r: Result, timeout: float) -> Iterator[Series]:
    f = r.facts
    success = 1.0 if r.status in (Status.ok, Status.degraded) else 0.0
    ip = f.get("ip")
    if "resolve" in r.phases or isinstance(ip, str):
        yield (
            "probe_dns_lookup_time_seconds",
            "Returns the time taken for probe dns lookup in seconds",
            {},
            r.phases.get("resolve", 0.0),
        )
    if isinstance(ip, str):
        yield (
            "probe_ip_protocol",
            "Specifies whether probe ip protocol is IP4 or IP6",
            {},
            6.0 if ":" in ip else 4.0,
        )
        yield (
            "probe_ip_addr_hash",
            "Specifies the hash of IP address. It's useful to detect if the IP address changes.",
            {},
            float(fnv32a(ip)),
        )
    if prober == "http":
        yield from _http(r)
    elif prober == "dns":
        yield from _dns(r)
    elif prober == "grpc":
        yield from _grpc(r)
    elif prober == "tcp":
        yield (
            "probe_failed_due_to_regex",
            "Indicates if probe failed due to regex",
            {},
            _num(f, "failed_due_to_regex"),
        )
    # blackbox reads TLS from the response (resp.TLS): an HTTP exchange that failed after its handshake
    # (a reset, garbage, a timeout) answers no TLS series, as a failed handshake does.
    answered = prober != "http" or "http_status" in f
    if isinstance(f.get("tls_version"), str) and r.reason not in TLS_FAILED and answered:
        yield from _tls(r)
    elif prober == "grpc":  # blackbox's gRPC prober always sets it, 0 without TLS
        yield "probe_ssl_earliest_cert_expiry", "Returns last SSL chain expiry in unixtime", {}, 0.0
    yield (
        "probe_duration_seconds",
        "Returns how long the probe took to complete in seconds",
        {},
        r.duration_seconds,
    )
    yield "probe_success", "Displays whether or not the probe was a success", {}, success
    yield "probe_timeout_seconds", "The timeout the probe ran with", {}, timeout
    # sre's own, beside blackbox's
    yield (
        "probe_status",
        "The probe's status: ok, degraded, failed or expected_down",
        {"status": str(r.status)},
        1.0,
    )
    if r.reason is not None and r.status is not Status.ok:
        yield "probe_failure_reason", "Why the probe did not pass", {"reason": str(r.reason)}, 1.0
    yield "probe_attempts", "Attempts made", {}, float(r.attempts)


def _http(r: Result) -> Iterator[Series]:
    f = r.facts
    for phase in HTTP_PHASES:
        yield (
            "probe_http_duration_seconds",
            "Duration of http request by phase, summed over all redirects",
            {"phase": phase},
            r.phases.get(phase, 0.0),
        )
    # Go's resp.ContentLength (-1: no Content-Length), then the bytes read
    yield "probe_http_content_length", "Length of http content response", {}, _num(f, "http_declared_length")
    yield (
        "probe_http_uncompressed_body_length",
        "Length of uncompressed response body",
        {},
        _num(f, "http_content_length"),
    )
    yield "probe_http_redirects", "The number of redirects", {}, _num(f, "http_redirects")
    if "http_last_modified" in f:
        yield (
            "probe_http_last_modified_timestamp_seconds",
            "Returns the Last-Modified HTTP response header in unixtime",
            {},
            _num(f, "http_last_modified"),
        )
    yield (
        "probe_http_ssl",
        "Indicates if SSL was used for the final redirect",
        {},
        1.0 if f.get("http_ssl") and "http_status" in f else 0.0,
    )
    yield "probe_http_status_code", "Response HTTP status code", {}, _num(f, "http_status")
    version = f.get("http_version")
    number = float(version) if isinstance(version, str) and version.replace(".", "", 1).isdigit() else 0.0
    yield "probe_http_version", "Returns the version of HTTP of the probe response", {}, number
    yield (
        "probe_failed_due_to_regex",
        "Indicates if probe failed due to regex",
        {},
        _num(f, "failed_due_to_regex"),
    )


def _dns(r: Result) -> Iterator[Series]:
    f = r.facts
    for phase, took in (
        ("resolve", r.phases.get("resolve", 0.0)),
        ("connect", r.phases.get("connect", 0.0)),
        ("request", r.phases.get("query", 0.0)),
    ):
        yield "probe_dns_duration_seconds", "Duration of DNS request by phase", {"phase": phase}, took
    counts = f.get("dns_counts")
    counts = counts if isinstance(counts, dict) else {}
    yield (
        "probe_dns_answer_rrs",
        "Returns number of entries in the answer resource record list",
        {},
        float(counts.get("answer", 0)),
    )
    yield (
        "probe_dns_authority_rrs",
        "Returns number of entries in the authority resource record list",
        {},
        float(counts.get("authority", 0)),
    )
    yield (
        "probe_dns_additional_rrs",
        "Returns number of entries in the additional resource record list",
        {},
        float(counts.get("additional", 0)),
    )
    yield (
        "probe_dns_query_succeeded",
        "Displays whether or not the query was executed successfully",
        {},
        _num(f, "dns_query_succeeded"),
    )
    if "dns_serial" in f:
        yield "probe_dns_serial", "Returns the serial number of the zone", {}, _num(f, "dns_serial")
    # no probe_failed_due_to_regex: blackbox's DNS prober has none, even when a record fails a regex


def _grpc(r: Result) -> Iterator[Series]:
    f = r.facts
    for phase, took in (("resolve", r.phases.get("resolve", 0.0)), ("check", r.phases.get("rpc", 0.0))):
        yield "probe_grpc_duration_seconds", "Duration of gRPC request by phase", {"phase": phase}, took
    state = f.get("grpc_status")
    for name in GRPC_STATES:
        yield (
            "probe_grpc_healthcheck_response",
            "Response HealthCheck response",
            {"serving_status": name},
            1.0 if name == state else 0.0,
        )
    code = 0.0 if state is not None else float(GRPC_CODES.get(r.reason, 2) if r.reason else 2)
    yield "probe_grpc_status_code", "Response gRPC status code", {}, code
    yield (
        "probe_grpc_ssl",
        "Indicates if SSL was used for the connection",
        {},
        1.0 if f.get("grpc_tls") and state is not None else 0.0,
    )


def _tls(r: Result) -> Iterator[Series]:
    f = r.facts
    after = _num(f, "cert_not_after")  # the earliest of the certificates the server sent
    chain = _num(f, "chain_not_after") if "chain_not_after" in f else after  # the verified chain's
    yield "probe_ssl_earliest_cert_expiry", "Returns last SSL chain expiry in unixtime", {}, after
    yield (
        "probe_ssl_last_chain_expiry_timestamp_seconds",
        "Returns last SSL chain expiry in timestamp",
        {},
        chain,
    )
    sans = f.get("cert_sans")
    info = {
        "fingerprint_sha256": str(f.get("cert_sha256", "")),
        "subject": str(f.get("cert_subject", "")),
        "issuer": str(f.get("cert_issuer", "")),
        # blackbox lists the DNS names only
        "subjectalternative": ",".join(n for n in sans if not _is_ip(n)) if isinstance(sans, list) else "",
    }
    yield "probe_ssl_last_chain_info", "Contains SSL leaf certificate information", info, 1.0
    yield (
        "probe_tls_version_info",
        "Returns the TLS version used or NaN when unknown",
        {"version": f"TLS {f['tls_version']}"},
        1.0,
    )
    if isinstance(f.get("tls_cipher"), str):
        yield (
            "probe_tls_cipher_info",
            "Returns the TLS cipher negotiated during handshake",
            {"cipher": iana(str(f["tls_cipher"]))},
            1.0,
        )


def _number(value: float) -> str:
    if value - value == 0:  # finite (NaN and the infinities are not)
        return repr(float(value))
    if math.isnan(value):
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"


def _label(value: str) -> str:
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return value  # the usual case (a phase, a version): nothing to escape
    return visible(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render(prober: str, result: Result, timeout: float) -> str:
    """The text exposition, written directly: the families are fixed and few, and going through
    prometheus-client's registry cost an eighth of the exporter's time per probe."""
    families: dict[str, list[str]] = {}
    for name, text, labels, value in series(prober, result, timeout):
        rows = families.get(name)
        if rows is None:
            head = _HEADS.get(name) or _HEADS.setdefault(name, f"# HELP {name} {text}\n# TYPE {name} gauge\n")
            rows = families[name] = [head]
        if labels:
            shown = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
            rows.append(f"{name}{{{shown}}} {_number(value)}\n")
        else:
            rows.append(f"{name} {_number(value)}\n")
    return "".join(row for rows in families.values() for row in rows)


def debug(module: Module, result: Result, metrics: str, scrub: Callable[[str], str]) -> str:
    """blackbox's `debug=true` answer: the probe log, the metrics, the module (no credentials)."""
    lines = [
        f"Beginning probe of {result.endpoint}: module prober={module.prober} timeout={module.timeout:g}s"
    ]
    for phase, took in result.phases.items():
        lines.append(f"phase {phase}: {took:.6f}s")
    for name, value in sorted(result.facts.items()):
        if name not in ("cert_sans",):
            lines.append(f"{name}: {value}")
    verdict = "Probe succeeded" if result.passed else "Probe failed"
    why = f" reason={result.reason}" if result.reason else ""
    lines.append(f"{verdict}: status={result.status}{why} {result.message}".rstrip())
    config = module.model_dump(exclude_defaults=True, mode="json")
    for section in config.values():
        if isinstance(section, dict):
            for secret in ("basic_auth", "bearer_token", "headers"):
                if secret in section:
                    section[secret] = "<secret>"
    log = scrub("\n".join(lines))
    shown = scrub(yaml.safe_dump(config, sort_keys=False))
    return (
        f"Logs for the probe:\n{log}\n\n\nMetrics that would have been returned:\n{metrics}\n\n"
        f"Module configuration:\n{shown}"
    )

"""The access-log bridge of the sandbox: HAProxy's httplog and nginx's sre_http lines become the
OpenTelemetry HTTP server histogram, labelled with the platform's service and tier."""

from __future__ import annotations

import json
from pathlib import Path

from sre.sandbox.http_metrics import Bridge, parse

HAPROXY = (
    "127.0.0.1:48062 [01/Dec/2026:23:00:56.778] ext_api_primary~ workers_primary/worker_primary "
    '0/0/0/3/30 503 441 - - ---- 1/1/0/0/0 0/0 "POST https://127.0.0.1:39161/nope HTTP/2.0"\n'
)
NGINX = "sre_http cdn_secondary GET 200 0.002\n"
LABELS = {"zone": "dmz", "dc": "fra1"}


def _bridge(tmp_path: Path) -> tuple[Bridge, Path, Path]:
    haproxy, nginx = tmp_path / "haproxy.log", tmp_path / "nginx-access.log"
    config = {
        "sources": [{"path": str(haproxy), "format": "haproxy"}, {"path": str(nginx), "format": "nginx"}],
        "targets": {
            "ext_api_primary": {"service": "ext_api", "tier": "primary", **LABELS},
            "cdn_secondary": {"service": "cdn", "tier": "secondary", **LABELS},
        },
    }
    return Bridge(json.loads(json.dumps(config))), haproxy, nginx


def test_log_lines_parse_and_other_lines_are_skipped() -> None:
    req = parse(HAPROXY, "haproxy")
    assert req is not None and (req.frontend, req.method, req.status, req.seconds) == (
        "ext_api_primary",
        "POST",
        "503",
        0.03,
    )
    assert parse("[WARNING]  (1) : Server workers_tertiary/worker_tertiary is DOWN", "haproxy") is None
    assert parse("backend workers_tertiary has no server available!", "haproxy") is None
    assert parse("sre_http cdn_primary GET 200 nope", "nginx") is None


def test_requests_become_the_histogram_with_the_platform_labels(tmp_path: Path) -> None:
    bridge, haproxy, nginx = _bridge(tmp_path)
    assert b"http_server_request_duration_seconds_count{" not in bridge.metrics()  # no log yet
    haproxy.write_text("haproxy starting\n" + HAPROXY + HAPROXY)
    nginx.write_text(NGINX + "sre_http unknown_primary GET 200 0.1\n" + "sre_http cdn_secondary GET")
    text = bridge.metrics().decode()
    api = (
        'dc="fra1",http_request_method="POST",http_response_status_code="503",service="ext_api",'
        'tier="primary",zone="dmz"'
    )
    assert f"http_server_request_duration_seconds_count{{{api}}} 2.0" in text
    # (the exposition sorts the labels: `le` between the status code and the service)
    head, tail = api.split(",service=")
    assert f'_bucket{{{head},le="0.025",service={tail}}} 0.0' in text
    assert f'_bucket{{{head},le="0.05",service={tail}}} 2.0' in text
    # Only whole lines of known frontends count; the half line is read once it ends.
    assert text.count('service="cdn"') and 'service="unknown"' not in text
    with nginx.open("a") as fh:
        fh.write(" 200 0.001\n")
    assert 'http_response_status_code="200",service="cdn",tier="secondary",zone="dmz"} 2.0' in (
        bridge.metrics().decode()
    )
    # A log written anew (a restarted server) is read from its start.
    haproxy.write_text(HAPROXY)
    assert f"http_server_request_duration_seconds_count{{{api}}} 3.0" in bridge.metrics().decode()

"""blackbox modules served by `sre probe serve`: blackbox's semantics and series, against real local servers."""

from __future__ import annotations

import asyncio
import signal
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from exporter_client import serving
from nginx_server import BODY, Nginx
from probe_servers import LAST_MODIFIED, closed_port
from probe_support import Servers
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from sre_cli import start_exporter

from sre.probes.blackbox.config import load_modules
from sre.probes.blackbox.modules import serve_modules
from sre.probes.context import RunContext
from sre.probes.definitions import Definitions, ExporterSpec
from sre.probes.exporter import Exporter

pytestmark = pytest.mark.integration


def blackbox_yml(folder: Path, ca_file: Path, chain_ca: Path | None = None) -> Path:
    """The modules both exporters are given in the tests (and in the compatibility test)."""
    path = folder / "blackbox.yml"
    path.write_text(
        f"""\
modules:
  http_chain:
    prober: http
    timeout: 3s
    http:
      preferred_ip_protocol: ip4
      tls_config: {{ca_file: {chain_ca or ca_file}}}
  http_2xx:
    prober: http
    timeout: 3s
    http:
      preferred_ip_protocol: ip4
      tls_config: {{ca_file: {ca_file}}}
  http_untrusted:
    prober: http
    timeout: 3s
    http: {{preferred_ip_protocol: ip4}}
  http_no_redirects:
    prober: http
    timeout: 3s
    http: {{preferred_ip_protocol: ip4, follow_redirects: false}}
  http_tls13:
    prober: http
    timeout: 3s
    http:
      preferred_ip_protocol: ip4
      tls_config: {{ca_file: {ca_file}, min_version: TLS13}}
  http_body:
    prober: http
    timeout: 3s
    http:
      preferred_ip_protocol: ip4
      fail_if_body_not_matches_regexp: ["never-there"]
  http_h2:
    prober: http
    timeout: 3s
    http:
      preferred_ip_protocol: ip4
      valid_http_versions: [HTTP/2.0]
      fail_if_body_not_matches_regexp: ['"status": "ok"']
      tls_config: {{ca_file: {ca_file}, server_name: localhost}}
  http_h2_post:
    prober: http
    timeout: 3s
    http:
      preferred_ip_protocol: ip4
      method: POST
      body: {"x" * 100_000}
      tls_config: {{ca_file: {ca_file}}}
  http_head:
    prober: http
    timeout: 3s
    http:
      preferred_ip_protocol: ip4
      method: HEAD
      tls_config: {{ca_file: {ca_file}}}
  http_no_h2:
    prober: http
    timeout: 3s
    http:
      preferred_ip_protocol: ip4
      enable_http2: false
      valid_http_versions: [HTTP/2.0]
      tls_config: {{ca_file: {ca_file}}}
  tcp_connect:
    prober: tcp
    timeout: 2s
    tcp: {{preferred_ip_protocol: ip4}}
  dns_probe:
    prober: dns
    timeout: 3s
    dns:
      preferred_ip_protocol: ip4
      query_name: probe.test
      query_type: A
  dns_tcp_probe:
    prober: dns
    timeout: 3s
    dns:
      preferred_ip_protocol: ip4
      transport_protocol: tcp
      query_name: probe.test
      query_type: A
  dns_regex:
    prober: dns
    timeout: 3s
    dns:
      preferred_ip_protocol: ip4
      query_name: probe.test
      query_type: A
      validate_answer_rrs: {{fail_if_matches_regexp: [probe]}}
  tcp_tls_expect:
    prober: tcp
    timeout: 2s
    tcp:
      preferred_ip_protocol: ip4
      tls: true
      tls_config: {{ca_file: {ca_file}}}
      query_response: [{{expect: "^never"}}]
  grpc_plain:
    prober: grpc
    timeout: 3s
    grpc: {{preferred_ip_protocol: ip4}}
"""
    )
    return path


def _families(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def _value(text: str, name: str) -> float:
    return _families(text)[name][()]


@pytest.fixture
def exporter(tmp_path: Path, servers: Servers) -> Exporter:
    run = RunContext(vantage="test")
    modules = serve_modules(load_modules(blackbox_yml(tmp_path, servers.pki.ca_file)), run, None)
    defs = Definitions(exporter=ExporterSpec(allow=["127.0.0.1", "localhost"]))
    return Exporter(defs, run, registry=CollectorRegistry(), blackbox=modules)


def _get(exporter: Exporter, params: dict[str, str]) -> tuple[int, str]:
    async def go() -> tuple[int, str]:
        async with serving(exporter) as client:
            resp = await client.get(
                "/probe", params=params, headers={"X-Prometheus-Scrape-Timeout-Seconds": "4"}
            )
            return resp.status, await resp.text()

    return asyncio.run(go())


def test_tls12_passes_without_the_platform_policy(exporter: Exporter, servers: Servers) -> None:
    status, text = _get(
        exporter, {"module": "http_2xx", "target": f"https://localhost:{servers.https12}/healthz"}
    )
    assert status == 200
    assert _value(text, "probe_success") == 1 and _value(text, "probe_http_ssl") == 1
    assert _families(text)["probe_tls_version_info"] == {(("version", "TLS 1.2"),): 1.0}
    # ... unless the module says min_version: the handshake fails, as in blackbox.
    _, text = _get(
        exporter, {"module": "http_tls13", "target": f"https://localhost:{servers.https12}/healthz"}
    )
    assert _value(text, "probe_success") == 0 and "probe_tls_version_info" not in text


def test_every_probe_is_a_full_handshake(
    exporter: Exporter, servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One SSL context per module, and still no session is resumed: each probe checks the handshake."""
    from sre.probes import tlsinfo

    reused: list[bool] = []
    record = tlsinfo.record_session

    def watched(ctx: object, ssl_object: ssl.SSLObject) -> None:
        reused.append(ssl_object.session_reused)
        record(ctx, ssl_object)  # type: ignore[arg-type]

    monkeypatch.setattr(tlsinfo, "record_session", watched)
    for version in (servers.https13, servers.https12, servers.https13):
        status, text = _get(exporter, {"module": "http_2xx", "target": f"https://localhost:{version}/"})
        assert status == 200 and _value(text, "probe_success") == 1
    assert reused == [False, False, False]


def test_untrusted_is_ssl_0_without_tls_series(exporter: Exporter, servers: Servers) -> None:
    _, text = _get(exporter, {"module": "http_untrusted", "target": f"https://localhost:{servers.https13}/"})
    assert _value(text, "probe_success") == 0 and _value(text, "probe_http_ssl") == 0
    assert _value(text, "probe_http_status_code") == 0
    assert "probe_ssl_earliest_cert_expiry" not in text and "probe_tls_version_info" not in text
    assert 'probe_failure_reason{reason="cert_invalid"} 1.0' in text


def test_redirects_followed_and_counted(exporter: Exporter, servers: Servers) -> None:
    _, text = _get(exporter, {"module": "http_2xx", "target": f"http://127.0.0.1:{servers.http}/redirect/2"})
    assert _value(text, "probe_success") == 1 and _value(text, "probe_http_redirects") == 2
    assert _value(text, "probe_http_status_code") == 200
    _, text = _get(
        exporter, {"module": "http_no_redirects", "target": f"http://127.0.0.1:{servers.http}/redirect"}
    )
    assert _value(text, "probe_success") == 0 and _value(text, "probe_http_status_code") == 302


def test_path_as_given_and_any_2xx(exporter: Exporter, servers: Servers) -> None:
    _, text = _get(exporter, {"module": "http_2xx", "target": f"http://127.0.0.1:{servers.http}/status/202"})
    assert _value(text, "probe_success") == 1 and _value(text, "probe_http_status_code") == 202
    _, text = _get(exporter, {"module": "http_2xx", "target": f"127.0.0.1:{servers.http}/nope"})
    assert _value(text, "probe_success") == 0 and _value(text, "probe_http_status_code") == 404


def test_body_regex(exporter: Exporter, servers: Servers) -> None:
    _, text = _get(exporter, {"module": "http_body", "target": f"http://127.0.0.1:{servers.http}/healthz"})
    assert _value(text, "probe_success") == 0 and _value(text, "probe_failed_due_to_regex") == 1


def test_failures_keep_the_series(exporter: Exporter, servers: Servers) -> None:
    for target in (f"http://127.0.0.1:{servers.closed}/", f"http://127.0.0.1:{servers.silent}/"):
        _, text = _get(exporter, {"module": "http_2xx", "target": target})
        values = _families(text)
        for name in (
            "probe_http_status_code",
            "probe_http_version",
            "probe_http_content_length",
            "probe_http_ssl",
        ):
            assert values[name] == {(): 0.0}, (target, name)
        assert len(values["probe_http_duration_seconds"]) == 5
        assert values["probe_success"] == {(): 0.0}


def test_dns_tcp_grpc(exporter: Exporter, servers: Servers) -> None:
    _, text = _get(exporter, {"module": "dns_probe", "target": f"127.0.0.1:{servers.dns}"})
    assert _value(text, "probe_success") == 1 and _value(text, "probe_dns_answer_rrs") == 1
    _, text = _get(exporter, {"module": "tcp_connect", "target": f"127.0.0.1:{servers.http}"})
    assert _value(text, "probe_success") == 1
    _, text = _get(exporter, {"module": "tcp_connect", "target": f"127.0.0.1:{servers.closed}"})
    assert _value(text, "probe_success") == 0
    _, text = _get(exporter, {"module": "grpc_plain", "target": f"127.0.0.1:{servers.grpc}"})
    states = _families(text)["probe_grpc_healthcheck_response"]
    assert len(states) == 4 and states[(("serving_status", "SERVING"),)] == 1
    assert _value(text, "probe_success") == 1 and _value(text, "probe_grpc_status_code") == 0


def test_refusals_and_debug(exporter: Exporter, servers: Servers) -> None:
    status, text = _get(exporter, {"module": "http_2xx", "target": "http://10.1.2.3/"})
    assert status == 403 and "exporter.allow" in text
    status, text = _get(exporter, {"module": "nope", "target": "127.0.0.1:1"})
    assert status == 400 and "http_2xx" in text
    status, text = _get(exporter, {"module": "tcp_connect", "target": "127.0.0.1:1/x"})
    assert status == 400
    _, text = _get(
        exporter,
        {"module": "http_2xx", "target": f"http://127.0.0.1:{servers.http}/healthz", "debug": "true"},
    )
    assert text.startswith("Logs for the probe:") and "Metrics that would have been returned:" in text
    assert "probe_success 1.0" in text and "Module configuration:" in text


def test_a_refusal_remembered_is_forgotten_when_the_endpoint_joins_the_model(
    exporter: Exporter, servers: Servers
) -> None:
    """Allow answers are remembered per module and target, until the endpoints change."""
    from probe_support import make_target

    target = f"http://web.test:{servers.http}/healthz"
    assert _get(exporter, {"module": "http_2xx", "target": target})[0] == 403
    assert _get(exporter, {"module": "http_2xx", "target": target})[0] == 403
    exporter.add_targets([make_target(f"http://web.test:{servers.http}")])
    status, text = _get(exporter, {"module": "http_2xx", "target": target})
    assert status == 200 and "exporter.allow" not in text


def test_model_endpoints_keep_the_platform_tls_policy(exporter: Exporter, servers: Servers) -> None:
    from probe_support import make_target

    # The TLS 1.2-only server is an endpoint of the environment: the TLS 1.3 policy applies to it,
    # through a blackbox module too; the same server as an ad-hoc target passes (test above).
    exporter.add_targets([make_target(f"https://localhost:{servers.https12}", ca_file=servers.pki.ca_file)])
    _, text = _get(exporter, {"module": "http_2xx", "target": f"https://localhost:{servers.https12}/healthz"})
    assert _value(text, "probe_success") == 0
    assert 'probe_failure_reason{reason="tls_version_below_policy"} 1.0' in text
    assert _families(text)["probe_tls_version_info"] == {(("version", "TLS 1.2"),): 1.0}


def test_last_modified_and_iana_cipher(exporter: Exporter, servers: Servers) -> None:
    _, text = _get(exporter, {"module": "http_2xx", "target": f"https://localhost:{servers.https12}/healthz"})
    expected = parsedate_to_datetime(LAST_MODIFIED).timestamp()
    assert _value(text, "probe_http_last_modified_timestamp_seconds") == expected
    # blackbox prints Go's (IANA) suite names, not OpenSSL's
    (labels,) = _families(text)["probe_tls_cipher_info"]
    cipher = dict(labels)["cipher"]
    assert cipher.startswith("TLS_ECDHE_") and "_WITH_" in cipher, cipher
    _, text = _get(exporter, {"module": "http_2xx", "target": f"http://127.0.0.1:{servers.http}/nope"})
    assert "probe_http_last_modified_timestamp_seconds" not in text


def test_bearer_token_file_is_read_by_each_probe(tmp_path: Path, servers: Servers) -> None:
    token = tmp_path / "token"
    config = tmp_path / "blackbox.yml"
    config.write_text(
        "modules:\n  echo:\n    prober: http\n    timeout: 3s\n    http:\n"
        f"      bearer_token_file: {token}\n"
        '      fail_if_body_not_matches_regexp: ["Bearer first-token-0123456789"]\n'
    )
    run = RunContext(vantage="test")
    # a missing file is not an error at start (blackbox reads it per probe)...
    served = serve_modules(load_modules(config), run, config)
    exporter = Exporter(
        Definitions(exporter=ExporterSpec(allow=["127.0.0.1"])),
        run,
        registry=CollectorRegistry(),
        blackbox=served,
    )
    params = {"module": "echo", "target": f"http://127.0.0.1:{servers.http}/echo"}
    status, text = _get(exporter, params)
    # ... but a probe failure with its reason
    assert status == 200 and _value(text, "probe_success") == 0
    assert (("reason", "auth"),) in _families(text)["probe_failure_reason"]
    token.write_text("first-token-0123456789\n")
    _, text = _get(exporter, params)
    assert _value(text, "probe_success") == 1
    token.write_text("second-token-0123456789\n")  # rotated: the next probe sends the new one
    _, text = _get(exporter, params | {"debug": "true"})
    assert (
        _value(text.split("Metrics that would have been returned:\n")[1].split("\n\n")[0], "probe_success")
        == 0
    )
    assert "second-token-0123456789" not in text and "first-token-0123456789" not in text
    token.write_text("x" * 100_000)  # bounded: an oversized file is refused, not read
    status, text = _get(exporter, params)
    assert status == 200 and (("reason", "auth"),) in _families(text)["probe_failure_reason"]


def _reload_gauge(metrics: str) -> float:
    return _value(metrics, "blackbox_exporter_config_last_reload_successful")


def test_reload_keeps_the_old_modules_when_the_new_file_is_bad(tmp_path: Path, servers: Servers) -> None:
    config = tmp_path / "blackbox.yml"
    config.write_text("modules:\n  first:\n    prober: tcp\n    timeout: 2s\n")
    run = RunContext(vantage="test")
    exporter = Exporter(
        Definitions(exporter=ExporterSpec(allow=["127.0.0.1"])),
        run,
        registry=CollectorRegistry(),
        blackbox=serve_modules(load_modules(config), run, config),
        reloader=lambda: serve_modules(load_modules(config), run, config),
    )
    target = f"127.0.0.1:{servers.http}"

    async def go() -> None:
        async with serving(exporter) as client:
            assert (await client.get("/-/reload")).status == 405  # as blackbox: POST only
            config.write_text("modules:\n  second:\n    prober: tcp\n    tcp: {no_such_key: 1}\n")
            resp = await client.post("/-/reload")
            text = await resp.text()
            assert resp.status == 500 and "no_such_key" in text and "\n" not in text.rstrip("\n")
            assert _reload_gauge(await (await client.get("/metrics")).text()) == 0
            resp = await client.get("/probe", params={"module": "first", "target": target})
            assert _value(await resp.text(), "probe_success") == 1  # the old modules stay
            config.write_text("modules:\n  second:\n    prober: tcp\n    timeout: 2s\n")
            assert (await client.post("/-/reload")).status == 200
            assert _reload_gauge(await (await client.get("/metrics")).text()) == 1
            resp = await client.get("/probe", params={"module": "second", "target": target})
            assert _value(await resp.text(), "probe_success") == 1
            resp = await client.get("/probe", params={"module": "first", "target": target})
            assert resp.status == 400

    asyncio.run(go())


def test_sighup_reloads_the_serving_process(tmp_path: Path, servers: Servers, platform_file: Path) -> None:
    config = tmp_path / "blackbox.yml"
    config.write_text("modules:\n  first:\n    prober: tcp\n    timeout: 2s\n")
    port = closed_port()
    proc = start_exporter(port, "test", platform_file, extra_args=("--config.file", str(config)))
    base = f"http://127.0.0.1:{port}"
    target = f"localhost:{servers.https13}"  # a model endpoint: allowed without exporter.allow

    def probe(module: str) -> tuple[int, str]:
        query = urllib.parse.urlencode({"module": module, "target": target})
        try:
            with urllib.request.urlopen(f"{base}/probe?{query}", timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def metrics() -> str:
        with urllib.request.urlopen(f"{base}/metrics", timeout=10) as resp:
            return str(resp.read().decode())

    try:
        for _ in range(150):
            try:
                status, text = probe("first")
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        else:
            pytest.fail("the exporter did not start")
        assert status == 200 and _value(text, "probe_success") == 1
        config.write_text("modules:\n  second:\n    prober: tcp\n    timeout: 2s\n")
        proc.send_signal(signal.SIGHUP)
        for _ in range(100):
            if probe("second")[0] == 200:
                break
            time.sleep(0.05)
        assert probe("first")[0] == 400
        config.write_text("modules: [not a mapping\n")
        proc.send_signal(signal.SIGHUP)
        for _ in range(100):
            if _reload_gauge(metrics()) == 0:
                break
            time.sleep(0.05)
        assert _reload_gauge(metrics()) == 0
        status, text = probe("second")
        assert status == 200 and _value(text, "probe_success") == 1
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    lines = [line for line in err.decode().splitlines() if "reload" in line]
    assert len(lines) == 2 and "reload failed" in lines[1] and str(config) in lines[1], lines
    assert "Traceback" not in err.decode()


# HTTP/2 as blackbox's client (Go's, through prometheus/common, `enable_http2: true` by default) speaks it:
# `h2` then `http/1.1` offered by ALPN over TLS, HTTP/1.1 to a plain http:// target. nginx is the server.
def _probe(exporter: Exporter, module: str, target: str) -> str:
    status, text = _get(exporter, {"module": module, "target": target})
    assert status == 200, text
    return text


def test_h2_is_negotiated_with_nginx(exporter: Exporter, nginx_h2: Nginx) -> None:
    """valid_http_versions [HTTP/2.0] passes; status, body (regex, length) and phases are HTTP/2's."""
    text = _probe(exporter, "http_h2", f"https://localhost:{nginx_h2.tls_port}/healthz")
    assert _value(text, "probe_success") == 1, text
    assert _value(text, "probe_http_version") == 2
    assert _value(text, "probe_http_status_code") == 200 and _value(text, "probe_http_ssl") == 1
    assert _value(text, "probe_http_content_length") == len(BODY)
    assert _value(text, "probe_failed_due_to_regex") == 0
    phases = {
        dict(labels)["phase"]: v for labels, v in _families(text)["probe_http_duration_seconds"].items()
    }
    assert set(phases) == {"resolve", "connect", "tls", "processing", "transfer"}
    assert phases["tls"] > 0 and phases["processing"] > 0


def test_h2_redirect_is_followed_and_counted(exporter: Exporter, nginx_h2: Nginx) -> None:
    text = _probe(exporter, "http_2xx", f"https://localhost:{nginx_h2.tls_port}/redirect")
    assert _value(text, "probe_success") == 1 and _value(text, "probe_http_redirects") == 1
    assert _value(text, "probe_http_version") == 2 and _value(text, "probe_http_status_code") == 200
    text = _probe(exporter, "http_2xx", f"https://localhost:{nginx_h2.tls_port}/nope")
    assert _value(text, "probe_success") == 0 and _value(text, "probe_http_status_code") == 404


def test_h2_post_answered_before_its_whole_body(exporter: Exporter, nginx_h2: Nginx) -> None:
    """100 kB is more than HTTP/2's first 64 KiB window: nginx answers before it has the whole body, then
    resets the rest of the request with NO_ERROR. The answer is complete (RFC 9113 8.1), as Go takes it."""
    text = _probe(exporter, "http_h2_post", f"https://localhost:{nginx_h2.tls_port}/healthz")
    assert _value(text, "probe_success") == 1 and _value(text, "probe_http_version") == 2


def test_enable_http2_false_and_plain_http_stay_on_1_1(exporter: Exporter, nginx_h2: Nginx) -> None:
    text = _probe(exporter, "http_no_h2", f"https://localhost:{nginx_h2.tls_port}/healthz")
    assert _value(text, "probe_http_version") == 1.1 and _value(text, "probe_http_status_code") == 200
    assert _value(text, "probe_success") == 0  # HTTP/1.1 is not in valid_http_versions
    # no h2c: a plain target is HTTP/1.1, as Go's client speaks it
    text = _probe(exporter, "http_h2", f"http://127.0.0.1:{nginx_h2.http_port}/healthz")
    assert _value(text, "probe_http_version") == 1.1 and _value(text, "probe_success") == 0

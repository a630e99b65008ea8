"""blackbox_exporter's module file: what `sre probe serve --config.file` accepts, and every refusal."""

from __future__ import annotations

import gc
import ssl
import subprocess
import sys
import weakref
from pathlib import Path
from typing import Any

import pytest
from probe_servers import make_pki

import sre.probes.blackbox.modules as modules_module
from sre.errors import InputError
from sre.probes.blackbox.config import NOT_IMPLEMENTED, load_modules, seconds, standard_modules
from sre.probes.blackbox.modules import serve_modules
from sre.probes.context import RunContext

FULL = """\
modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
      valid_status_codes: [200, 204]
      valid_http_versions: ["HTTP/1.1", "HTTP/2.0"]
      method: POST
      headers: {X-Probe: "1"}
      body: '{"q": 1}'
      follow_redirects: false
      enable_http2: false
      fail_if_ssl: false
      fail_if_not_ssl: true
      fail_if_body_matches_regexp: ["error"]
      fail_if_body_not_matches_regexp: ["ok"]
      fail_if_header_matches:
        - {header: X-Bad, regexp: "yes", allow_missing: true}
      fail_if_header_not_matches:
        - {header: Content-Type, regexp: "json"}
      tls_config:
        insecure_skip_verify: false
        server_name: example.test
        min_version: TLS12
      bearer_token: s3cr3t-token
  tcp_banner:
    prober: tcp
    timeout: 1500ms
    tcp:
      tls: true
      query_response:
        - expect: "^SSH-2.0-"
        - send: "QUIT"
  dns_a:
    prober: dns
    dns:
      transport_protocol: tcp
      query_name: probe.test
      query_type: A
      valid_rcodes: [NOERROR, NXDOMAIN]
      validate_answer_rrs:
        fail_if_not_matches_regexp: ["127\\\\.0\\\\.0\\\\.1"]
  grpc_health:
    prober: grpc
    grpc:
      service: api
      tls: true
      tls_config: {server_name: api.test}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "blackbox.yml"
    path.write_text(text)
    return path


def test_every_listed_key_is_read(tmp_path: Path) -> None:
    modules = load_modules(_write(tmp_path, FULL))
    http = modules["http_2xx"]
    assert http.timeout == 5.0 and http.http.method == "POST" and not http.http.follow_redirects
    assert http.http.valid_status_codes == [200, 204] and not http.http.enable_http2
    assert http.http.tls_config.min_version == "TLS12" and http.http.fail_if_not_ssl
    assert http.http.fail_if_header_matches[0].allow_missing
    assert modules["tcp_banner"].timeout == 1.5 and modules["tcp_banner"].tcp.tls
    assert [s.send for s in modules["tcp_banner"].tcp.query_response] == [None, "QUIT"]
    dns = modules["dns_a"].dns
    assert dns is not None and dns.valid_rcodes == ["NOERROR", "NXDOMAIN"]
    assert modules["grpc_health"].grpc.service == "api"


def test_defaults_are_blackbox_s(tmp_path: Path) -> None:
    module = load_modules(_write(tmp_path, "modules:\n  m:\n    prober: http\n"))["m"]
    assert module.http.valid_status_codes == []  # any 2xx
    assert module.http.follow_redirects and module.http.method == "GET"
    assert module.http.preferred_ip_protocol == "ip6"
    assert module.http.enable_http2  # prometheus/common's DefaultHTTPClientConfig
    assert module.timeout == 0.0


def test_standard_modules_build() -> None:
    served = serve_modules(standard_modules(), RunContext(), None)
    assert {"http_2xx", "http_post_2xx", "tcp_connect", "dns_udp", "grpc"} <= set(served)
    assert served["http_post_2xx"].module.http.method == "POST"


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[weakref.ref[ssl.SSLContext]]:
    """Every SSL context the modules make, as weak references (dead once nothing holds it)."""
    made: list[weakref.ref[ssl.SSLContext]] = []
    real = modules_module.ssl_context

    def counted(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        context = real(*args, **kwargs)
        made.append(weakref.ref(context))
        return context

    monkeypatch.setattr(modules_module, "ssl_context", counted)
    return made


def test_a_module_builds_its_ssl_context_at_its_first_probe_only(
    built: list[weakref.ref[ssl.SSLContext]],
) -> None:
    """A trust store costs about a megabyte: modules nobody probes must not hold one; a module that is
    probed builds one context and keeps it for every later probe."""
    served = serve_modules(standard_modules(), RunContext(), None)
    assert not built  # no file to check: nothing is made at start
    first = served["http_2xx"].adhoc.ssl_context(None)
    assert served["http_2xx"].adhoc.ssl_context(None) is first
    assert served["http_post_2xx"].model.ssl_context(None) is first  # the same tls_config: one context
    assert served["tcp_connect"].adhoc.ssl_context(None) is not first  # no ALPN there
    assert len(built) == 2 and first.cert_store_stats()["x509_ca"] > 0  # the system's roots


def test_a_module_naming_files_checks_them_at_start_and_keeps_no_context(
    tmp_path: Path, built: list[weakref.ref[ssl.SSLContext]]
) -> None:
    pki = make_pki(tmp_path)
    text = f"modules:\n  m:\n    prober: http\n    http:\n      tls_config: {{ca_file: {pki.ca_file}}}\n"
    served = serve_modules(load_modules(_write(tmp_path, text)), RunContext(), tmp_path / "blackbox.yml")
    gc.collect()
    assert len(built) == 1 and built[0]() is None  # checked, then dropped
    context = served["m"].adhoc.ssl_context(None)
    assert context.cert_store_stats()["x509_ca"] == 1  # the module's CA, made again at its first probe


def test_durations() -> None:
    assert seconds("1m30s") == 90.0 and seconds("250ms") == 0.25
    with pytest.raises(ValueError, match="duration"):
        seconds("5 seconds")


# Every kind of refusal: the message names the file, the line, the module and the key.
REFUSED = [
    ("    prober: http\n    http:\n      compression: gzip\n", "modules.m.http.compression", "does not support"),
    ("    prober: http\n    http:\n      body_size_limit: 1MB\n", "modules.m.http.body_size_limit", "does not support"),
    ("    prober: http\n    http:\n      oauth2: {}\n", "modules.m.http.oauth2", "does not support"),
    ("    prober: http\n    http:\n      proxy_url: http://p\n", "modules.m.http.proxy_url", "does not support"),
    ("    prober: http\n    http:\n      enable_http3: true\n", "modules.m.http.enable_http3", "does not support"),
    ("    prober: http\n    http:\n      valid_http_versions: [HTTP/2]\n", "modules.m.http.valid_http_versions",
     "write HTTP/2.0"),
    ("    prober: http\n    http:\n      tls_config:\n        max_version: TLS12\n",
     "modules.m.http.tls_config.max_version", "does not support"),
    ("    prober: http\n    http:\n      methd: GET\n", "modules.m.http.methd", "unsupported key"),
    ("    prober: http\n    http:\n      valid_status_codes: [700]\n", "modules.m.http.valid_status_codes", "599"),
    ("    prober: http\n    http:\n      method: FETCH\n", "modules.m.http.method", "expected one of"),
    ("    prober: http\n    http:\n      fail_if_body_matches_regexp: ['(a']\n",
     "modules.m.http.fail_if_body_matches_regexp", "RE2 syntax"),
    ("    prober: http\n    http:\n      tls_config:\n        cert_file: /c\n", "modules.m.http.tls_config", "key_file"),
    ("    prober: http\n    http:\n      bearer_token: a\n      basic_auth: {username: u}\n",
     "modules.m.http", "exclude each other"),
    ("    prober: icmp\n", "modules.m.prober", "expected one of"),
    ("    prober: http\n    icmp: {}\n", "modules.m.icmp", "does not support"),
    ("    prober: tcp\n    tcp:\n      query_response:\n        - starttls: true\n",
     "modules.m.tcp.query_response[0].starttls", "does not support"),
    ("    prober: tcp\n    tcp:\n      source_ip_address: 10.0.0.1\n", "modules.m.tcp.source_ip_address", "does not support"),
    ("    prober: dns\n    dns:\n      query_type: A\n", "modules.m.dns.query_name", "required"),
    ("    prober: dns\n", "modules.m", "query_name"),
    ("    prober: dns\n    dns:\n      query_name: x\n      query_class: CH\n", "modules.m.dns.query_class", "does not support"),
    ("    prober: dns\n    dns:\n      query_name: x\n      valid_rcodes: [OK]\n", "modules.m.dns.valid_rcodes[0]", "NOERROR"),
    ("    prober: grpc\n    grpc:\n      metadata: {}\n", "modules.m.grpc.metadata", "does not support"),
    ("    prober: http\n    timeout: soon\n", "modules.m.timeout", "duration"),
    ("    prober: http\n    extra: 1\n", "modules.m.extra", "unsupported key"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "where", "why"), REFUSED, ids=[r[1] + ":" + r[2] for r in REFUSED])
def test_refusals_name_file_module_and_key(tmp_path: Path, body: str, where: str, why: str) -> None:
    path = _write(tmp_path, "modules:\n  m:\n" + body)
    with pytest.raises(InputError) as caught:
        load_modules(path)
    text = str(caught.value)
    assert text.startswith(f"{path}:") and where in text and why in text, text
    assert "\n" not in text


def test_not_implemented_keys_are_all_refused(tmp_path: Path) -> None:
    # Each name blackbox knows and sre does not is refused at the http level, never dropped.
    for key in sorted(NOT_IMPLEMENTED):
        path = _write(tmp_path, f"modules:\n  m:\n    prober: http\n    http:\n      {key}: 1\n")
        with pytest.raises(InputError, match=f"modules.m.http.{key}: a blackbox_exporter option"):
            load_modules(path)


def test_top_level_and_empty(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no module defined"):
        load_modules(_write(tmp_path, "modules: {}\n"))
    with pytest.raises(InputError, match="modules: required"):
        load_modules(_write(tmp_path, "module: {}\n"))


def test_unreadable_files_are_errors_at_start(tmp_path: Path) -> None:
    text = "modules:\n  m:\n    prober: http\n    http:\n      tls_config: {ca_file: /nonexistent/ca.pem}\n"
    with pytest.raises(InputError, match=r"modules\.m\.http\.tls_config"):
        serve_modules(load_modules(_write(tmp_path, text)), RunContext(), tmp_path / "blackbox.yml")


def test_cli_refuses_at_start(tmp_path: Path) -> None:
    path = _write(tmp_path, "modules:\n  m:\n    prober: http\n    http:\n      compression: gzip\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sre",
            "probe",
            "serve",
            "--listen",
            "127.0.0.1:1",
            "--config.file",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0
    assert "modules.m.http.compression" in proc.stderr and "Traceback" not in proc.stderr


def test_rendered_labels_are_escaped() -> None:
    import subprocess

    from prometheus_client.parser import text_string_to_metric_families
    from requirements import need_binary

    from sre.probes.blackbox.render import render
    from sre.probes.model import Result, Status

    hostile = 'CN=a"b\\c\nd\x00'
    result = Result(
        "svc", "blackbox_http", "-", "target", "-", "https://h", "v", Status.ok,
        facts={"tls_version": "1.3", "cert_not_after": 1.0, "cert_subject": hostile, "ip": "::1",
               "http_status": 200, "http_ssl": True},
    )  # fmt: skip
    text = render("http", result, 5.0)
    info = [
        s.labels["subject"]
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "probe_ssl_last_chain_info"
    ]
    assert len(info) == 1 and "\n" not in info[0] and "\x00" not in info[0] and '"' in info[0]
    done = subprocess.run(
        [need_binary("promtool"), "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_errors_do_not_quote_credentials(tmp_path: Path) -> None:
    # A reload's error goes to any client of POST /-/reload: a credential's value is never shown.
    text = (
        "modules:\n  m:\n    prober: http\n    http:\n"
        '      bearer_token: {x: "secret-token-0123456789"}\n'
        '      headers: {Authorization: ["secret-header-0123456789"]}\n'
        "  n:\n    prober: http\n    http:\n"
        '      basic_auth: {username: u, password: ["secret-pass-0123456789"]}\n'
    )
    with pytest.raises(InputError) as caught:
        load_modules(_write(tmp_path, text))
    message = str(caught.value)
    assert "secret-" not in message
    assert "modules.m.http.bearer_token" in message and "modules.n.http.basic_auth.password" in message
    assert "modules.m.http.headers.Authorization" in message

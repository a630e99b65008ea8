"""The network checks against real local servers (TLS 1.3, TLS 1.2-only, expired certificate, a port that
never answers, one that answers garbage, a closed port, DNS and gRPC health)."""

from __future__ import annotations

import time

import pytest
from nginx_server import Nginx
from probe_support import Servers, make_target, run_one

from sre.probes.conditions import Condition
from sre.probes.context import RunContext
from sre.probes.model import Reason, Status

pytestmark = pytest.mark.integration


def test_https_tls13_passes_with_facts_and_phases(servers: Servers) -> None:
    target = make_target(
        f"https://localhost:{servers.https13}",
        ca_file=servers.pki.ca_file,
        settings={"path": "/healthz"},
        conditions=(Condition.parse('body.$.status == "ok"'), Condition.parse("status == 200")),
    )
    r = run_one(target)
    assert r.status is Status.ok, r.message
    assert r.facts["http_status"] == 200
    assert r.facts["tls_version"] == "1.3"
    assert r.facts["tls_cipher"].startswith("TLS_")
    assert r.facts["cert_subject"] == "CN=localhost"
    assert "localhost" in r.facts["cert_sans"] and "127.0.0.1" in r.facts["cert_sans"]
    assert r.facts["cert_not_after"] > time.time() + 300 * 86400
    assert r.facts["ip"] == "127.0.0.1"
    assert set(r.phases) == {"resolve", "connect", "tls", "processing", "transfer"}


def test_https_sends_probe_identity(servers: Servers) -> None:
    target = make_target(
        f"https://localhost:{servers.https13}/echo",
        ca_file=servers.pki.ca_file,
        conditions=(
            Condition.parse('body.$."user-agent" matches "^sre-probe/"'),
            Condition.parse('body.$."x-sre-probe-id" contains "svc/primary/https"'),
        ),
    )
    r = run_one(target, RunContext(vantage="zone-a"))
    assert r.status is Status.ok, r.message


def test_tls12_only_server_fails_policy_but_reports_certificate(servers: Servers) -> None:
    r = run_one(make_target(f"https://localhost:{servers.https12}", ca_file=servers.pki.ca_file))
    assert r.status is Status.failed
    assert r.reason is Reason.tls_version_below_policy
    assert r.facts["tls_version"] == "1.2"
    assert r.facts["cert_subject"] == "CN=localhost"
    assert r.facts["http_status"] == 200  # observed first, then judged


def test_tls12_passes_when_policy_allows_it(servers: Servers) -> None:
    run = RunContext(vantage="test", tls_min_version="1.2")
    r = run_one(make_target(f"https://localhost:{servers.https12}", ca_file=servers.pki.ca_file), run)
    assert r.status is Status.ok, r.message


def test_expired_certificate_is_reported_from_a_second_handshake(servers: Servers) -> None:
    r = run_one(make_target(f"https://localhost:{servers.expired}", ca_file=servers.pki.ca_file))
    assert r.status is Status.failed
    assert r.reason is Reason.cert_expired
    assert r.facts["cert_not_after"] < time.time()
    assert r.facts["cert_issuer"] == "CN=sre test CA"


def test_untrusted_ca_is_cert_invalid(servers: Servers) -> None:
    r = run_one(make_target(f"https://localhost:{servers.https13}"))  # system store, not our CA
    assert r.reason is Reason.cert_invalid
    assert r.facts["cert_subject"] == "CN=localhost"


def test_hostname_mismatch(servers: Servers) -> None:
    r = run_one(make_target(f"https://localhost:{servers.other_host}", ca_file=servers.pki.ca_file))
    assert r.reason is Reason.hostname_mismatch
    assert r.facts["cert_sans"] == ["other.example"]


def test_expiring_certificate_is_degraded(servers: Servers) -> None:
    r = run_one(
        make_target(f"https://localhost:{servers.expiring}", ca_file=servers.pki.ca_file, check="tls")
    )
    assert r.status is Status.degraded
    assert r.reason is Reason.cert_expiring


def test_tls_check_records_certificate(servers: Servers) -> None:
    r = run_one(make_target(f"tls://localhost:{servers.https13}", check="tls", ca_file=servers.pki.ca_file))
    assert r.status is Status.ok, r.message
    assert r.facts["tls_version"] == "1.3"
    assert "http_status" not in r.facts


def test_closed_port_is_connect_refused(servers: Servers) -> None:
    r = run_one(make_target(f"https://127.0.0.1:{servers.closed}"))
    assert r.status is Status.failed
    assert r.reason is Reason.connect_refused


def test_closed_port_on_cold_tier_is_expected_down(servers: Servers) -> None:
    r = run_one(make_target(f"https://127.0.0.1:{servers.closed}", standby="cold", tier="tertiary"))
    assert r.status is Status.expected_down
    assert r.reason is Reason.connect_refused


def test_silent_server_hits_the_deadline_and_keeps_partial_facts(servers: Servers) -> None:
    begin = time.monotonic()
    r = run_one(make_target(f"http://127.0.0.1:{servers.silent}", check="http", timeout=0.5))
    took = time.monotonic() - begin
    assert r.status is Status.failed
    assert r.reason is Reason.timeout
    assert "processing" in r.message
    assert r.facts["ip"] == "127.0.0.1"  # seen before the deadline
    assert "connect" in r.phases
    assert took < 3


def test_run_budget_caps_a_longer_probe_timeout(servers: Servers) -> None:
    r = run_one(make_target(f"http://127.0.0.1:{servers.silent}", check="http", timeout=30), budget=0.4)
    assert r.reason is Reason.timeout
    assert r.duration_seconds < 2


def test_garbage_answer_is_protocol_error(servers: Servers) -> None:
    r = run_one(make_target(f"http://127.0.0.1:{servers.garbage}", check="http"))
    assert r.status is Status.failed
    assert r.reason is Reason.protocol
    assert "\n" not in r.message


def test_tls_to_a_plain_port_is_protocol_error(servers: Servers) -> None:
    r = run_one(make_target(f"https://127.0.0.1:{servers.garbage}"))
    assert r.reason is Reason.protocol
    assert "does not speak TLS" in r.message


def test_status_code_and_conditions(servers: Servers) -> None:
    r = run_one(make_target(f"http://127.0.0.1:{servers.http}/status/503", check="http"))
    assert r.reason is Reason.status_code
    assert r.facts["http_status"] == 503
    cond = (Condition.parse('body contains "<div id=\\"app\\">"'),)
    r = run_one(make_target(f"http://127.0.0.1:{servers.http}/healthz", check="http", conditions=cond))
    assert r.reason is Reason.assertion
    assert 'body ({"status": "ok"})' in r.message


def test_unknown_host_is_dns() -> None:
    r = run_one(make_target("https://no-such-host.invalid"))
    assert r.reason is Reason.dns


def test_tcp_connect_and_expect(servers: Servers) -> None:
    assert run_one(make_target(f"tcp://127.0.0.1:{servers.http}", check="tcp")).status is Status.ok
    bad = run_one(
        make_target(f"tcp://127.0.0.1:{servers.garbage}", check="tcp", settings={"expect": "^HTTP/"})
    )
    assert bad.reason is Reason.protocol
    good = run_one(
        make_target(f"tcp://127.0.0.1:{servers.garbage}", check="tcp", settings={"expect": "SSH-2"})
    )
    assert good.status is Status.ok


def test_dns_answer_and_nxdomain(servers: Servers) -> None:
    r = run_one(make_target(f"dns://127.0.0.1:{servers.dns}/probe.test", check="dns"))
    assert r.status is Status.ok, r.message
    assert r.facts["dns_answers"] == ["127.0.0.1"]
    assert r.facts["dns_ttl"] == 300
    r = run_one(make_target(f"dns://127.0.0.1:{servers.dns}/missing.test", check="dns"))
    assert r.reason is Reason.dns
    assert r.facts["dns_rcode"] == "NXDOMAIN"


def test_grpc_health_serving_and_not_serving(servers: Servers) -> None:
    r = run_one(make_target(f"grpc://127.0.0.1:{servers.grpc}", check="grpc"))
    assert r.status is Status.ok, r.message
    assert r.facts["grpc_status"] == "SERVING"
    r = run_one(make_target(f"grpc://127.0.0.1:{servers.grpc}", check="grpc", settings={"service": "down"}))
    assert r.reason is Reason.not_ready
    assert r.facts["grpc_status"] == "NOT_SERVING"
    r = run_one(make_target(f"grpc://127.0.0.1:{servers.closed}", check="grpc"))
    assert r.reason is Reason.connect_refused


def test_decoded_and_der_certificates_give_the_same_facts(servers: Servers) -> None:
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    from sre.probes import tlsinfo
    from sre.probes.context import ProbeContext

    pem = servers.pki.good[0]
    decoded = ssl._ssl._test_decode_cert(str(pem))  # type: ignore[attr-defined]  # what getpeercert() returns
    der = x509.load_pem_x509_certificate(pem.read_bytes()).public_bytes(Encoding.DER)
    a = ProbeContext(RunContext(), make_target("https://x"))
    b = ProbeContext(RunContext(), make_target("https://x"))
    tlsinfo.record_decoded(a, decoded)
    tlsinfo.record_certificate(b, der)
    assert a.observation.facts == b.observation.facts
    assert a.observation.facts["cert_sans"] == ["localhost", "127.0.0.1"]


@pytest.mark.parametrize("path", ["/chunked", "/until-close"])
def test_body_framings(servers: Servers, path: str) -> None:
    cond = (Condition.parse('body == "hello world"'),)
    r = run_one(make_target(f"http://127.0.0.1:{servers.http}{path}", check="http", conditions=cond))
    assert r.status is Status.ok, r.message
    assert r.facts["http_content_length"] == 11


def test_head_request_does_not_wait_for_a_body(servers: Servers) -> None:
    r = run_one(
        make_target(f"http://127.0.0.1:{servers.http}/healthz", check="http", settings={"method": "HEAD"})
    )
    assert r.status is Status.ok, r.message
    assert r.facts["http_content_length"] == 0


@pytest.mark.parametrize("text", ["Nov 26 09:00:00 2027 GMT", "Jan  5 23:59:59 2031 GMT"])
def test_certificate_time_matches_the_ssl_module(text: str) -> None:
    import ssl

    from sre.probes.tlsinfo import cert_time

    assert cert_time(text) == ssl.cert_time_to_seconds(text)


def test_bearer_token_comes_from_a_secret_reference(
    servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sre.platform.model import SecretSource

    monkeypatch.setenv("PROBE_TOKEN", "s3cr3t-value")
    cond = (Condition.parse('body.$.authorization == "Bearer s3cr3t-value"'),)
    target = make_target(
        f"http://127.0.0.1:{servers.http}/echo",
        check="http",
        settings={"bearer_secret": "token"},
        secrets={"token": SecretSource(env="PROBE_TOKEN")},
        conditions=cond,
    )
    r = run_one(target)
    assert r.status is Status.ok, r.message
    assert "s3cr3t-value" not in repr(r)  # the value is sent, never reported
    monkeypatch.delenv("PROBE_TOKEN")
    r = run_one(target)
    assert r.reason is Reason.auth and "PROBE_TOKEN is not set" in r.message


def test_https_of_the_model_stays_on_http_1_1(nginx_h2: Nginx) -> None:
    """Only blackbox modules offer h2 by ALPN: sre's own https check speaks HTTP/1.1 to an HTTP/2 server."""
    target = make_target(f"https://localhost:{nginx_h2.tls_port}/healthz", ca_file=nginx_h2.pki.ca_file)
    r = run_one(target)
    assert r.status is Status.ok, r.message
    assert r.facts["http_version"] == "1.1" and r.facts["http_status"] == 200

"""Config rendering, TLS material, the environment file and the per-tier rows, without starting servers.

Where the server's own checker is installed (haproxy -c, nginx -t, promtool, amtool,
blackbox --config.check), the rendered file is checked by it.
"""

from __future__ import annotations

import contextlib
import ssl
import subprocess
from pathlib import Path

import yaml
from requirements import need_binary
from sandbox_helpers import Place

from sre.platform.loader import load_environment
from sre.sandbox import binaries
from sre.sandbox.context import Launcher, Run
from sre.sandbox.environment import write_environment
from sre.sandbox.launchers import gateway
from sre.sandbox.ports import PortAllocator
from sre.sandbox.render import render
from sre.sandbox.sandbox import fill_rows, plan
from sre.sandbox.state import SandboxState, StateFile, TierRow
from sre.sandbox.supervisor import Supervisor
from sre.sandbox.tls import ensure_tls


def make_run(place: Place) -> Run:
    root = place.sandbox_dir
    root.mkdir()
    return Run(
        root=root,
        platform=place.platform(),
        supervisor=Supervisor(root, StateFile(root / "state.json"), SandboxState()),
        port_of=PortAllocator(),
        tls=ensure_tls(root / "tls", "test CA"),
        found={},
    )


def checker(name: str) -> str:
    return need_binary(name)


def check(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_haproxy_config_is_tls13_only_with_a_backend_per_tier_and_admin_socket(place: Place) -> None:
    run = make_run(place)
    fronts = [gateway.Frontend("ext_api", t, run.port(f"gw.{t}")) for t in ("primary", "secondary")]
    fronts.append(gateway.Frontend("otel", "primary", run.port("gw.otel"), "otel"))
    map_file = run.root / "tiers.map"
    text = gateway.config(run, fronts, run.root / "haproxy.sock", map_file, otel_port=run.port("otel"))
    assert text.count("ssl-min-ver TLSv1.3") == len(fronts) + 1  # every bind, and the global default
    for tier in ("primary", "secondary", "tertiary"):
        assert f"backend workers_{tier}" in text
    assert f"use_backend workers_%[str(primary),map({map_file},primary)]" in text
    assert "level admin" in text
    cfg = run.root / "haproxy.cfg"
    cfg.write_text(text)
    map_file.write_text("primary primary\n")
    check([checker("haproxy"), "-c", "-f", str(cfg)])


def test_nginx_config_serves_the_spa_over_tls13(place: Place) -> None:
    run = make_run(place)
    text = render(
        "nginx.conf.j2",
        pid_file=run.root / "nginx.pid",
        access_log=run.root / "access.log",
        temp=run.root,
        cert=run.tls.cert,
        key=run.tls.key,
        root=run.root,
        sites=[{"tier": "primary", "port": run.port("cdn")}],
        user=None,
    )
    assert "ssl_protocols TLSv1.3;" in text
    conf = run.root / "nginx.conf"
    conf.write_text(text)
    check([checker("nginx"), "-t", "-q", "-e", "stderr", "-p", str(run.root), "-c", str(conf)])


def test_redis_config_links_only_the_replica() -> None:
    primary = render("redis.conf.j2", port=1, data="/d", password="pw", primary_port=None)
    replica = render("redis.conf.j2", port=2, data="/d", password="pw", primary_port=1)
    assert "replicaof" not in primary
    assert "replicaof 127.0.0.1 1" in replica
    assert "repl-diskless-sync-delay 0" in replica and "bind 127.0.0.1" in primary


def test_prometheus_stack_configs_pass_their_checkers(tmp_path: Path) -> None:
    prom = tmp_path / "prometheus.yml"
    prom.write_text(
        render(
            "prometheus.yml.j2",
            port=9090,
            alertmanager_port=9093,
            blackbox_port=9115,
            probes=[{"service": "ext_api", "tier": "primary", "target": "https://127.0.0.1:1/healthz"}],
        )
    )
    assert yaml.safe_load(prom.read_text())["scrape_configs"][3]["params"] == {"module": ["https_healthz"]}
    am = tmp_path / "alertmanager.yml"
    am.write_text(render("alertmanager.yml.j2"))
    bb = tmp_path / "blackbox.yml"
    bb.write_text(render("blackbox.yml.j2", ca_file="/etc/ssl/certs/ca-certificates.crt"))
    check([checker("promtool"), "check", "config", str(prom)])
    check([checker("amtool"), "check-config", str(am)])
    check([checker("prometheus-blackbox-exporter"), f"--config.file={bb}", "--config.check"])


def test_tls_certificate_is_trusted_for_localhost_and_127_0_0_1_and_the_ca_is_kept(tmp_path: Path) -> None:
    from cryptography import x509

    files = ensure_tls(tmp_path, "test CA")
    ca_before = files.ca_cert.read_bytes()
    assert (
        oct(files.key.stat().st_mode)[-3:] == "600"
        and oct((tmp_path / "ca.key").stat().st_mode)[-3:] == "600"
    )
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    # The chain verifies with the CA as the only trust anchor.
    ctx = ssl.create_default_context(cafile=str(files.ca_cert))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(files.cert, files.key)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = ctx.wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    srv = server.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        for end, src, dst in ((client, outgoing, s_in), (srv, s_out, incoming)):
            with contextlib.suppress(ssl.SSLWantReadError):
                end.do_handshake()
            dst.write(src.read())
    assert client.version() == "TLSv1.3"
    assert ensure_tls(tmp_path, "test CA").ca_cert.read_bytes() == ca_before


def test_environment_file_loads_through_the_platform_loader(place: Place) -> None:
    platform = place.platform()
    endpoints = {
        "redis": {"primary": {"url": "redis://127.0.0.1:1/0", "secrets": {"password": {"file": "/s/redis"}}}},
        "ext_api": {"primary": "https://127.0.0.1:2"},
    }
    rows = [TierRow(service="vault", tier="primary", state="not_in_sandbox", reason="no Vault here")]
    path = place.folder / ".sre" / "sandbox" / "environment.yaml"
    write_environment(path, platform, endpoints, rows, root=place.sandbox_dir, ca_file=Path("/ca.pem"))
    env = load_environment(platform, "sandbox")
    assert env.endpoints["ext_api"]["primary"].url == "https://127.0.0.1:2"
    assert env.endpoints["redis"]["primary"].secrets["password"].file == "/s/redis"
    assert env.unavailable == {"vault": "not in sandbox: no Vault here"}
    assert "&id" not in path.read_text()  # no YAML anchors: every endpoint spelled out


def _noop(run: Run) -> None:
    return None


def test_missing_binaries_skip_their_component_and_whoever_needs_it(place: Place) -> None:
    gone = binaries.Binary("no-such-server-binary", "apt-get install no-such-package")
    store = Launcher("store", "a store", ("redis",), (gone,), _noop)
    app = Launcher("app", "an app", ("kubernetes",), (), _noop, needs=("store",))
    _found, skipped = plan([store, app])
    assert skipped == {
        "store": "no-such-server-binary not found (install it: apt-get install no-such-package)",
        "app": "needs store, which is skipped",
    }
    rows = fill_rows(place.platform(), [], [store, app], skipped, "core")
    by_key = {(r.service, r.tier): r for r in rows}
    assert by_key[("redis", "primary")].state == "skipped"
    assert "apt-get install no-such-package" in by_key[("redis", "primary")].reason
    assert by_key[("vault", "tertiary")].state == "not_in_sandbox"
    assert by_key[("clickhouse", "primary")].reason.startswith("not in the core profile")

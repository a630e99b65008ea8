"""Compatibility with the real blackbox_exporter (the Debian package): the same blackbox.yml, the same local
targets, probed by both in the same run. Every family and label set blackbox answers with must be in sre's
answer with the same value class: equal for codes, flags, counts and hashes; both within the probe's
timeout for durations; equal for certificate timestamps. And the other way: of the families blackbox uses,
sre answers no series blackbox does not (a dashboard or alert on them sees the same series); sre's own
(probe_status, probe_failure_reason, probe_attempts) come beside. Every answer also passes
`promtool check metrics`.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from chain_servers import ChainServers
from exporter_client import serving
from hostile_servers import serve_h2_breakers
from nginx_server import Nginx
from probe_servers import LoopThread, closed_port
from probe_support import Servers
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from requirements import need_binary
from test_blackbox_serve import blackbox_yml

from sre.probes.blackbox.config import load_modules
from sre.probes.blackbox.modules import serve_modules
from sre.probes.context import RunContext
from sre.probes.definitions import Definitions, ExporterSpec
from sre.probes.exporter import Exporter

pytestmark = pytest.mark.integration

Families = dict[str, dict[tuple[tuple[str, str], ...], float]]
# Label values that are data (which phase, which state), compared as they are; the others
# (certificate subject, fingerprint...) are compared too, as both read the same certificate.
DURATIONS = ("_duration_seconds", "probe_dns_lookup_time_seconds")
TIMESTAMPS = frozenset({"probe_ssl_earliest_cert_expiry", "probe_ssl_last_chain_expiry_timestamp_seconds"})
TIMEOUT = 3.0


def cases(s: Servers, chain: ChainServers, web: Nginx, broken: dict[str, int]) -> list[tuple[str, str, str]]:
    """(name, module, target): TLS 1.3 ok, TLS 1.2 only, untrusted, expiring (leaf, and CA in the chain),
    redirect, closed, silent, DNS (over UDP, a record failing a regex, over TCP, TCP refused), TCP over TLS waiting for a reply that
    never comes, gRPC; HTTP/2 by ALPN to nginx (only HTTP/2.0 valid, a redirect, enable_http2 false, a
    plain http:// target of the same server); HTTP/2 and HTTP/1.1 to servers that break the exchange
    after the handshake."""
    h2, plain = f"https://localhost:{web.tls_port}", f"http://127.0.0.1:{web.http_port}"
    return [
        *(
            (f"h2_{name}", "http_h2", f"https://localhost:{port}/")
            for name, port in broken.items()
            if name != "stall"
        ),
        ("h2", "http_h2", f"{h2}/healthz"),
        ("h2_default_module", "http_2xx", f"{h2}/"),
        ("h2_redirect", "http_2xx", f"{h2}/redirect"),
        ("h2_404", "http_2xx", f"{h2}/nope"),
        ("h2_post", "http_h2_post", f"{h2}/healthz"),
        ("h2_unsized", "http_2xx", f"{h2}/unsized"),
        ("h2_head", "http_head", f"{h2}/healthz"),
        ("head", "http_head", f"{plain}/healthz"),
        ("chunked", "http_2xx", f"http://127.0.0.1:{s.http}/chunked"),
        ("unsized", "http_2xx", f"{plain}/unsized"),
        ("h2_disabled", "http_no_h2", f"{h2}/healthz"),
        ("h2_plain_http", "http_h2", f"{plain}/healthz"),
        ("chain_ca_expiring", "http_chain", f"https://localhost:{chain.with_ca}/healthz"),
        ("chain_root_expiring", "http_chain", f"https://localhost:{chain.leaf_only}/healthz"),
        ("tls13", "http_2xx", f"https://localhost:{s.https13}/healthz"),
        ("tls12_only", "http_2xx", f"https://localhost:{s.https12}/healthz"),
        ("tls13_floor_vs_tls12", "http_tls13", f"https://localhost:{s.https12}/healthz"),
        ("untrusted", "http_untrusted", f"https://localhost:{s.https13}/"),
        ("expiring", "http_2xx", f"https://localhost:{s.expiring}/healthz"),
        ("redirect", "http_2xx", f"http://127.0.0.1:{s.http}/redirect/2"),
        ("redirect_not_followed", "http_no_redirects", f"http://127.0.0.1:{s.http}/redirect"),
        ("status_404", "http_2xx", f"http://127.0.0.1:{s.http}/nope"),
        ("body_regex", "http_body", f"http://127.0.0.1:{s.http}/healthz"),
        ("closed_http", "http_2xx", f"http://127.0.0.1:{s.closed}/"),
        ("silent_http", "http_2xx", f"http://127.0.0.1:{s.silent}/"),
        ("tcp_open", "tcp_connect", f"127.0.0.1:{s.http}"),
        ("tcp_closed", "tcp_connect", f"127.0.0.1:{s.closed}"),
        ("dns", "dns_probe", f"127.0.0.1:{s.dns}"),
        ("dns_regex", "dns_regex", f"127.0.0.1:{s.dns}"),
        ("dns_tcp", "dns_tcp_probe", f"127.0.0.1:{s.dns_tcp}"),
        ("dns_tcp_closed", "dns_tcp_probe", f"127.0.0.1:{s.closed}"),
        ("tcp_tls_expect", "tcp_tls_expect", f"localhost:{s.https13}"),
        ("h1_garbage", "http_no_h2", f"https://localhost:{broken['garbage']}/"),
        ("grpc", "grpc_plain", f"127.0.0.1:{s.grpc}"),
        ("grpc_closed", "grpc_plain", f"127.0.0.1:{s.closed}"),
    ]


def families(text: str) -> Families:
    out: Families = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def start_exporter(
    argv: Callable[[int], list[str]], what: str, cwd: Path | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """An exporter started with `argv(port)` on a free port, once it answers /metrics; its base URL."""
    for _ in range(5):  # a port picked free can be taken before the exporter binds it: try another
        port = closed_port()
        proc = subprocess.Popen(argv(port), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            if proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{base}/metrics", timeout=1):
                    pass
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.05)
                continue
            break
        if proc.poll() is None:
            return proc, base
    pytest.fail(f"{what} did not start: {proc.stderr.read().decode()[-500:] if proc.stderr else ''}")


def start_blackbox(config: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The real blackbox_exporter on a free port, once it answers /metrics."""
    binary = need_binary("prometheus-blackbox-exporter")
    return start_exporter(
        lambda port: [binary, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"],
        "blackbox_exporter",
    )


def start_sre(config: Path, *extra: str, cwd: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """`sre probe serve --config.file` as a user starts it, on a free port, once it answers /metrics."""
    return start_exporter(
        lambda port: [sys.executable, "-m", "sre", "probe", "serve", "--listen", f"127.0.0.1:{port}",
                      "--config.file", str(config), *extra],
        "sre probe serve",
        cwd,
    )  # fmt: skip


@pytest.fixture(scope="module")
def blackbox(
    servers: Servers, chain: ChainServers, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    config = blackbox_yml(tmp_path_factory.mktemp("blackbox"), servers.pki.ca_file, chain.ca_file)
    proc, base = start_blackbox(config)
    try:
        yield base, config
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _blackbox_probe(base: str, module: str, target: str) -> str:
    query = urllib.parse.urlencode({"module": module, "target": target})
    request = urllib.request.Request(
        f"{base}/probe?{query}", headers={"X-Prometheus-Scrape-Timeout-Seconds": str(TIMEOUT + 1)}
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT + 5) as resp:
        return str(resp.read().decode())


def _sre_probes(config: Path, wanted: list[tuple[str, str, str]]) -> tuple[list[str], str]:
    run = RunContext(vantage="test")
    served = serve_modules(load_modules(config), run, config)
    exporter = Exporter(
        Definitions(exporter=ExporterSpec(allow=["127.0.0.1", "localhost"])),
        run,
        registry=CollectorRegistry(),
        blackbox=served,
    )

    async def go() -> tuple[list[str], str]:
        out = []
        async with serving(exporter) as client:
            for _, module, target in wanted:
                resp = await client.get(
                    "/probe",
                    params={"module": module, "target": target},
                    headers={"X-Prometheus-Scrape-Timeout-Seconds": str(TIMEOUT + 1)},
                )
                assert resp.status == 200
                out.append(await resp.text())
            metrics = await (await client.get("/metrics")).text()
        return out, metrics

    return asyncio.run(go())


def _promtool(text: str, what: str) -> None:
    done = subprocess.run(
        [need_binary("promtool"), "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"{what}: {done.stdout}{done.stderr}"


def _compare(name: str, theirs: Families, ours: Families) -> list[str]:
    problems = []
    for family, series in theirs.items():
        if family not in ours:
            problems.append(f"{name}: {family} missing")
            continue
        for labels, value in series.items():
            if labels not in ours[family]:
                problems.append(f"{name}: {family}{dict(labels)} missing; sre has {list(ours[family])}")
                continue
            mine = ours[family][labels]
            if family.endswith(DURATIONS):  # a phase never reached is 0 in both
                ok = 0 <= mine <= TIMEOUT + 1 and 0 <= value <= TIMEOUT + 1 and (mine == 0) == (value == 0)
            elif family in TIMESTAMPS:
                ok = abs(mine - value) <= 1
            else:
                ok = mine == value
            if not ok:
                problems.append(f"{name}: {family}{dict(labels)} is {mine}; blackbox says {value}")
    return problems


def _extra(name: str, theirs: Families, ours: Families, blackbox_families: set[str]) -> list[str]:
    """sre's series, in families blackbox uses, that blackbox did not answer for this target."""
    problems = [
        f"{name}: sre has {family}{list(ours[family])}; blackbox has none"
        for family in sorted((ours.keys() & blackbox_families) - theirs.keys())
    ]
    for family in sorted(ours.keys() & theirs.keys()):
        if extra := ours[family].keys() - theirs[family].keys():
            problems.append(f"{name}: sre has {family}{sorted(extra)} besides blackbox's")
    return problems


@pytest.fixture(scope="module")
def h2_broken(servers: Servers) -> Iterator[dict[str, int]]:
    loop = LoopThread()
    try:
        yield serve_h2_breakers(loop, servers.pki.good)
    finally:
        loop.stop()


def test_same_series_as_blackbox(
    servers: Servers,
    chain: ChainServers,
    nginx_h2: Nginx,
    h2_broken: dict[str, int],
    blackbox: tuple[str, Path],
) -> None:
    base, config = blackbox
    wanted = cases(servers, chain, nginx_h2, h2_broken)
    ours, metrics = _sre_probes(config, wanted)
    problems: list[str] = []
    seen: set[str] = set()
    answers: dict[str, Families] = {}
    mine_by_name: dict[str, Families] = {}
    for (name, module, target), mine in zip(wanted, ours, strict=True):
        theirs = _blackbox_probe(base, module, target)
        _promtool(mine, f"sre {name}")
        _promtool(theirs, f"blackbox {name}")
        answers[name] = families(theirs)
        seen |= answers[name].keys()
        problems += _compare(name, answers[name], families(mine))
        mine_by_name[name] = families(mine)
    for name, got in mine_by_name.items():
        problems += _extra(name, answers[name], got, seen)
    assert not problems, "\n".join(problems)
    # the HTTP/2 cases are what they say: blackbox spoke h2 to nginx, and HTTP/1.1 where it should not
    versions = {
        n: (a["probe_http_version"][()], a["probe_success"][()]) for n, a in answers.items() if "h2" in n
    }
    assert versions == {
        "h2": (2, 1),
        "h2_default_module": (2, 1),
        "h2_redirect": (2, 1),
        "h2_404": (2, 0),
        "h2_post": (2, 1),
        "h2_unsized": (2, 1),
        "h2_head": (2, 1),
        "h2_garbage": (0, 0),
        "h2_flood": (0, 0),
        "h2_reset": (0, 0),
        "h2_disabled": (1.1, 0),
        "h2_plain_http": (1.1, 0),
    }, versions
    # the cases reach the families compared above (the targets' /healthz sends Last-Modified)
    assert "probe_http_last_modified_timestamp_seconds" in seen, sorted(seen)
    # /metrics: the meta-series blackbox's own alerts read.
    _promtool(metrics, "sre /metrics")
    with urllib.request.urlopen(f"{base}/metrics", timeout=5) as resp:
        theirs_meta = {k: v for k, v in families(resp.read().decode()).items() if k.startswith("blackbox_")}
    mine_meta = families(metrics)
    for family, series in theirs_meta.items():
        assert family in mine_meta, family
        assert {tuple(k for k, _ in labels) for labels in series} == {
            tuple(k for k, _ in labels) for labels in mine_meta[family]
        }, family
    assert mine_meta["blackbox_exporter_config_last_reload_successful"] == {(): 1.0}


def _post(url: str) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _reload_state(base: str) -> float:
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as resp:
        return families(resp.read().decode())["blackbox_exporter_config_last_reload_successful"][()]


def test_reload_as_blackbox(tmp_path: Path) -> None:
    """POST /-/reload with a bad file, then a good one: the same answers and reload state from both."""
    seen = []
    for name in ("blackbox", "sre"):
        config = tmp_path / name / "blackbox.yml"
        config.parent.mkdir()
        config.write_text("modules:\n  m:\n    prober: tcp\n    timeout: 2s\n")
        proc, base = start_blackbox(config) if name == "blackbox" else start_sre(config)
        try:
            config.write_text("modules:\n  m:\n    prober: tcp\n    tcp: {no_such_key: 1}\n")
            bad = (_post(f"{base}/-/reload"), _reload_state(base))
            config.write_text("modules:\n  m:\n    prober: tcp\n    timeout: 1s\n")
            good = (_post(f"{base}/-/reload"), _reload_state(base))
            seen.append((bad, good))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    assert seen[0] == seen[1] == (((500, 0.0), (200, 1.0))), seen

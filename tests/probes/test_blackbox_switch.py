"""Switching a Prometheus job from blackbox_exporter to `sre probe serve`: the exporter runs where a
blackbox user has only blackbox.yml (no platform.yaml), and a real Prometheus scraping both, the same
targets through the same blackbox.yml, gives blackbox's community alert rules and dashboard queries the
same data from either job.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from chain_servers import ChainServers
from nginx_server import Nginx
from probe_support import Servers
from prom_servers import prometheus
from requirements import need_binary
from test_blackbox_compat import start_blackbox, start_sre
from test_blackbox_serve import blackbox_yml

pytestmark = pytest.mark.integration


@contextmanager
def sre_serve(folder: Path, config: Path, *extra: str) -> Iterator[str]:
    """`sre probe serve --config.file` started in `folder` as a user starts it; its base URL."""
    proc, base = start_sre(config, *extra, cwd=folder)
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_serve_needs_only_the_module_file(tmp_path: Path, servers: Servers) -> None:
    """Where there is no platform.yaml, `--config.file` serves blackbox's modules alone; `--allow` says
    which targets it may probe (it is no open proxy), and the rest are refused."""
    config = tmp_path / "blackbox.yml"
    config.write_text("modules:\n  tcp:\n    prober: tcp\n    timeout: 2s\n")
    assert not (tmp_path / "platform.yaml").exists()
    with sre_serve(tmp_path, config, "--allow", "127.0.0.1:*") as base:
        status, text = _get(f"{base}/probe?module=tcp&target=127.0.0.1:{servers.http}")
        assert status == 200 and "probe_success 1" in text, text
        status, text = _get(f"{base}/probe?module=tcp&target=localhost:{servers.http}")
        assert status == 403 and "localhost" in text, text
        assert _get(f"{base}/sd")[0] == 404  # no model, no endpoints to discover


def test_allow_patterns_are_checked_at_start(tmp_path: Path) -> None:
    config = tmp_path / "blackbox.yml"
    config.write_text("modules:\n  tcp:\n    prober: tcp\n")
    done = subprocess.run(
        [sys.executable, "-m", "sre", "probe", "serve", "--listen", "127.0.0.1:1", "--config.file", str(config),
         "--allow", "http://"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and done.stderr.startswith("--allow"), done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr


def test_without_module_file_a_missing_platform_is_still_an_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sre", "probe", "serve", "--listen", "127.0.0.1:1"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "platform.yaml" in done.stderr, done.stderr


# awesome-prometheus-alerts' blackbox rules (dist/rules/blackbox/blackbox-exporter.yml), their alert names
# and expressions; `for` is 0 in all, where two of them say 1m, so the test need not wait a minute (it
# changes when an alert fires, not which series its expression gives).
COMMUNITY_RULES = {
    "BlackboxProbeFailed": "probe_success == 0",
    "BlackboxConfigurationReloadFailure": "blackbox_exporter_config_last_reload_successful != 1",
    "BlackboxSlowProbe": "avg_over_time(probe_duration_seconds[1m]) > 1",
    "BlackboxProbeHttpFailure": "probe_http_status_code <= 199 OR probe_http_status_code >= 400",
    "BlackboxSslCertificateWillExpireSoon": (
        "3 <= round((last_over_time(probe_ssl_earliest_cert_expiry[10m]) - time()) / 86400, 0.1) < 20"
    ),
    "BlackboxSslCertificateWillExpireVerySoon": (
        "0 <= round((last_over_time(probe_ssl_earliest_cert_expiry[10m]) - time()) / 86400, 0.1) < 3"
    ),
    "BlackboxSslCertificateExpired": (
        "round((last_over_time(probe_ssl_earliest_cert_expiry[10m]) - time()) / 86400, 0.1) < 0"
    ),
    "BlackboxProbeSlowHttp": "avg_over_time(probe_http_duration_seconds[1m]) > 1",
}
# What the panels of the common blackbox dashboards (grafana.com's "Prometheus Blackbox Exporter",
# "Blackbox Exporter (HTTP prober)" and their kind) plot, by how two answers compare: `exact` (codes,
# flags, counts, versions), `close` (certificate dates: the same certificates, read at one instant),
# `duration` (each job's own timing: both there, both within the probe's timeout).
SEL = "{sel}"
PANELS = {
    "exact": [
        f"probe_success{SEL}",
        f"avg_over_time(probe_success{SEL}[1m])",
        f"probe_http_status_code{SEL}",
        f'count_values("code", probe_http_status_code{SEL})',
        f"probe_http_ssl{SEL}",
        f"count(probe_http_ssl{SEL} == 1)",
        f"probe_http_version{SEL}",
        f"probe_http_redirects{SEL}",
        f"probe_http_content_length{SEL}",
        f"probe_ip_protocol{SEL}",
        f"probe_tls_version_info{SEL}",
        f"probe_dns_answer_rrs{SEL}",
        f"probe_grpc_healthcheck_response{SEL}",
    ],
    "close": [
        f"(probe_ssl_earliest_cert_expiry{SEL} - time()) / 86400",
        f"probe_ssl_last_chain_expiry_timestamp_seconds{SEL}",
    ],
    "duration": [
        f"probe_duration_seconds{SEL}",
        f"probe_http_duration_seconds{SEL}",
        f"sum by (instance) (probe_http_duration_seconds{SEL})",
        f"probe_dns_lookup_time_seconds{SEL}",
    ],
}
SCRAPE = 2  # seconds, interval and timeout: blackbox and sre both give a probe 1.5 s of it


def _targets(s: Servers, chain: ChainServers, web: Nginx) -> list[tuple[str, str]]:
    """(module, target): passing (TLS 1.3, TLS 1.2 only, nginx over HTTP/2), expiring (leaf, and CA in
    the chain), redirected, 404, refused, silent, untrusted, TCP, DNS over UDP and TCP, gRPC."""
    return [
        ("http_2xx", f"https://localhost:{s.https13}/healthz"),
        ("http_2xx", f"https://localhost:{s.https12}/healthz"),
        ("http_2xx", f"https://localhost:{web.tls_port}/healthz"),
        ("http_2xx", f"http://127.0.0.1:{s.http}/redirect/2"),
        ("dns_tcp_probe", f"127.0.0.1:{s.dns_tcp}"),
        ("http_2xx", f"https://localhost:{s.expiring}/healthz"),
        ("http_chain", f"https://localhost:{chain.with_ca}/healthz"),
        ("http_2xx", f"http://127.0.0.1:{s.http}/nope"),
        ("http_2xx", f"http://127.0.0.1:{s.closed}/"),
        ("http_2xx", f"http://127.0.0.1:{s.silent}/"),
        ("http_untrusted", f"https://localhost:{s.https13}/"),
        ("tcp_connect", f"127.0.0.1:{s.http}"),
        ("dns_probe", f"127.0.0.1:{s.dns}"),
        ("grpc_plain", f"127.0.0.1:{s.grpc}"),
    ]


def _job(name: str, exporter: str, targets: list[tuple[str, str]]) -> str:
    """The scrape job of blackbox's README, one per exporter: only the exporter's address differs."""
    statics = "".join(f"      - {{targets: ['{t}'], labels: {{module: {m}}}}}\n" for m, t in targets)
    return (
        f"  - job_name: {name}\n    scrape_interval: {SCRAPE}s\n    scrape_timeout: {SCRAPE}s\n"
        f"    metrics_path: /probe\n    static_configs:\n{statics}"
        "    relabel_configs:\n"
        "      - {source_labels: [__address__], target_label: __param_target}\n"
        "      - {source_labels: [module], target_label: __param_module}\n"
        "      - {source_labels: [__param_target], target_label: instance}\n"
        f"      - {{target_label: __address__, replacement: '{exporter}'}}\n"
        f"  - job_name: {name}-exporter\n    scrape_interval: {SCRAPE}s\n"
        f"    static_configs: [{{targets: ['{exporter}'], labels: {{exporter: {name}}}}}]\n"
    )


def _query(base: str, expr: str) -> dict[tuple[tuple[str, str], ...], float]:
    """An instant query's series, by their labels without job and instance of the exporter's own jobs."""
    url = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        answer = json.load(resp)
    assert answer["status"] == "success", answer
    out = {}
    for row in answer["data"]["result"]:
        labels = {k: v for k, v in row["metric"].items() if k not in ("job", "exporter")}
        if "exporter" in row["metric"]:
            labels.pop("instance", None)  # the exporter's own address
        out[tuple(sorted(labels.items()))] = float(row["value"][1])
    return out


def _firing(base: str) -> dict[str, set[tuple[str, str, str]]]:
    """Firing alerts by scrape job: (alert, instance, module); the exporters' own jobs as one."""
    with urllib.request.urlopen(f"{base}/api/v1/alerts", timeout=10) as resp:
        alerts = json.load(resp)["data"]["alerts"]
    out: dict[str, set[tuple[str, str, str]]] = {"blackbox": set(), "sre": set()}
    for alert in alerts:
        labels = alert["labels"]
        if alert["state"] == "firing":
            job = labels["job"].removesuffix("-exporter")
            instance = "" if "exporter" in labels else labels.get("instance", "")
            out[job].add((labels["alertname"], instance, labels.get("module", "")))
    return out


def _scraped(base: str, jobs: tuple[str, ...], targets: int, times: int) -> bool:
    """Whether each job has scraped each of its `targets` at least `times` times."""
    window = f"{SCRAPE * (times + 2)}s"
    for job in jobs:
        counts = _query(base, f'count_over_time(probe_success{{job="{job}"}}[{window}])')
        if len(counts) != targets or min(counts.values()) < times:
            return False
    return True


def test_a_job_switched_from_blackbox_gives_the_community_rules_and_dashboards_the_same_data(
    tmp_path: Path, servers: Servers, chain: ChainServers, nginx_h2: Nginx
) -> None:
    need_binary("prometheus")
    config = blackbox_yml(tmp_path, servers.pki.ca_file, chain.ca_file)
    targets = _targets(servers, chain, nginx_h2)
    rules = tmp_path / "blackbox-rules.yml"
    rules.write_text(
        "groups:\n  - name: BlackboxExporter\n    rules:\n"
        + "".join(
            f"      - {{alert: {name}, expr: '{expr}', for: 0m}}\n" for name, expr in COMMUNITY_RULES.items()
        )
    )
    bb_proc, bb = start_blackbox(config)
    try:
        with sre_serve(tmp_path, config, "--allow", "127.0.0.1:*", "--allow", "localhost:*") as sre:
            jobs = _job("blackbox", bb.removeprefix("http://"), targets) + _job(
                "sre", sre.removeprefix("http://"), targets
            )
            with prometheus(tmp_path, str(rules), "scrape_configs:\n" + jobs) as prom:
                deadline = time.monotonic() + 60
                while not _scraped(prom.url, ("blackbox", "sre"), len(targets), 3):
                    assert time.monotonic() < deadline, "Prometheus did not scrape every target three times"
                    time.sleep(1)
                _same_panels(prom.url)
                _same_alerts(prom.url)
    finally:
        bb_proc.terminate()
        bb_proc.wait(timeout=10)


def _same_panels(base: str) -> None:
    problems = []
    for kind, exprs in PANELS.items():
        for expr in exprs:
            theirs = _query(base, expr.replace(SEL, '{job="blackbox"}'))
            ours = _query(base, expr.replace(SEL, '{job="sre"}'))
            if theirs.keys() != ours.keys():
                problems.append(f"{expr}: blackbox {sorted(theirs)}; sre {sorted(ours)}")
                continue
            for labels, value in theirs.items():
                mine = ours[labels]
                ok = (
                    mine == value
                    if kind == "exact"
                    else abs(mine - value) <= 0.01
                    if kind == "close"
                    else 0 <= mine <= SCRAPE + 1 and 0 <= value <= SCRAPE + 1
                )
                if not ok:
                    problems.append(f"{expr} {dict(labels)}: blackbox {value}; sre {mine}")
    assert not problems, "\n".join(problems)


def _same_alerts(base: str) -> None:
    """The rules fire for the same alerts, instances and modules from both jobs, and they do fire."""
    deadline = time.monotonic() + 30
    while True:
        firing = _firing(base)
        names = {name for name, _, _ in firing["blackbox"]}
        wanted = {"BlackboxProbeFailed", "BlackboxProbeHttpFailure", "BlackboxSlowProbe"}
        if (firing["blackbox"] == firing["sre"] and wanted <= names) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert firing["blackbox"] == firing["sre"], (
        f"only from blackbox: {sorted(firing['blackbox'] - firing['sre'])}; "
        f"only from sre: {sorted(firing['sre'] - firing['blackbox'])}"
    )
    assert wanted <= names and names & {
        "BlackboxSslCertificateWillExpireSoon",
        "BlackboxSslCertificateWillExpireVerySoon",
    }, names

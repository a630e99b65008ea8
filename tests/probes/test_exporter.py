"""`sre probe serve`: blackbox_exporter's /probe and /metrics, refusing what is not allowed."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from exporter_client import serving
from probe_servers import closed_port
from probe_support import Servers
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from sre_cli import start_exporter

from sre.platform.loader import load_environment, load_platform
from sre.probes.context import RunContext
from sre.probes.definitions import load_definitions
from sre.probes.exporter import Exporter
from sre.probes.plan import make_plan

pytestmark = pytest.mark.integration


def _values(text: str) -> dict[str, float]:
    return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples if not s.labels}


def test_probe_and_metrics(platform_file: Path, servers: Servers) -> None:
    platform = load_platform(platform_file)
    defs = load_definitions(platform_file.parent / "probes", platform)
    plan = make_plan(platform, load_environment(platform, "test"), defs, vantage="zone-a")

    async def go() -> None:
        exporter = Exporter(defs, RunContext(vantage="zone-a"), registry=CollectorRegistry())
        exporter.add_targets(plan.targets)
        async with serving(exporter) as client:
            # A model endpoint: probed with its service's definition (CA file, body condition).
            resp = await client.get(
                "/probe",
                params={"target": f"https://localhost:{servers.https13}", "module": "https"},
                headers={"X-Prometheus-Scrape-Timeout-Seconds": "5"},
            )
            text = await resp.text()
            assert resp.status == 200
            values = _values(text)
            assert values["probe_success"] == 1 and values["probe_http_status_code"] == 200
            assert 'probe_tls_version_info{version="TLS 1.3"} 1.0' in text
            # The TLS 1.2 secondary: probe_success 0 and the reason.
            resp = await client.get(
                "/probe", params={"target": f"localhost:{servers.https12}", "module": "https"}
            )
            text = await resp.text()
            assert _values(text)["probe_success"] == 0
            assert 'probe_failure_reason{reason="tls_version_below_policy"} 1.0' in text
            # Allowed by exporter.allow, not in the model: the module's defaults.
            resp = await client.get(
                "/probe", params={"target": f"127.0.0.1:{servers.grpc}", "module": "grpc"}
            )
            assert _values(await resp.text())["probe_success"] == 1
            # No open proxy.
            resp = await client.get("/probe", params={"target": "example.com:443", "module": "https"})
            assert resp.status == 403 and "exporter.allow" in await resp.text()
            resp = await client.get("/probe", params={"target": "127.0.0.1:1", "module": "postgres"})
            assert resp.status == 400 and "unknown module" in await resp.text()
            resp = await client.get("/probe", params={"module": "https"})
            assert resp.status == 400
            metrics = await (await client.get("/metrics")).text()
            assert 'sre_probe_requests_total{module="https",outcome="success"} 1.0' in metrics
            assert 'sre_probe_requests_total{module="-",outcome="refused"} 1.0' in metrics

    asyncio.run(go())


def test_serve_command_answers_and_stops(platform_file: Path, servers: Servers) -> None:
    port = closed_port()
    proc = start_exporter(port, "test", platform_file, vantage="zone-a", stdout=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}/probe?target=https://localhost:{servers.https13}&module=https"
        for _ in range(100):
            try:
                with urllib.request.urlopen(url, timeout=5) as resp:
                    body = resp.read().decode()
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        else:
            pytest.fail(
                "the exporter did not start: " + os.read(proc.stderr.fileno(), 65536).decode()
                if proc.stderr
                else ""
            )
        assert _values(body)["probe_success"] == 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)

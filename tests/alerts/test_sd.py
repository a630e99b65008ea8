"""Targets from the model: `GET /sd` on `sre probe serve`, `sre probe targets --format file_sd`, and a
real Prometheus that discovers them through the generated scrape config."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from alerts_support import REPO, need, prometheus, wait_ready
from exporter_client import serving
from prometheus_client import CollectorRegistry
from sre_cli import start_exporter

from sre.alerting.build import SCRAPE, build
from sre.alerting.definitions import load
from sre.cli.main import main
from sre.platform.loader import load_environment, load_platform
from sre.probes import sd
from sre.probes.context import RunContext
from sre.probes.definitions import load_definitions
from sre.probes.exporter import Exporter
from sre.probes.plan import make_plan
from sre.sandbox.ports import ephemeral_port

SECRET = "s3cr3t-pw"


def _platform(tmp_path: Path) -> Path:
    """The repository's model plus an environment whose PostgreSQL URL holds a password."""
    text = (REPO / "platform.yaml").read_text(encoding="utf-8")
    text += (
        "  leaky:\n"
        "    description: an endpoint with credentials in its URL\n"
        "    endpoints:\n"
        "      db_postgres:\n"
        f"        primary: postgresql://app:{SECRET}@127.0.0.1:1/app?password={SECRET}&sslmode=disable\n"
        "      k8s_workers:\n"
        '        primary: {url: "https://127.0.0.1:2", params: {grpc: "127.0.0.1:3"}}\n'
        "      ext_api:\n"
        "        primary: https://127.0.0.1:4\n"
    )
    path = tmp_path / "platform.yaml"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "probes").symlink_to(REPO / "probes")
    return path


def _sd_over_http(platform_file: Path) -> list[dict[str, object]]:
    platform = load_platform(platform_file)
    defs = load_definitions(platform_file.parent / "probes", platform)
    plan = make_plan(platform, load_environment(platform, "leaky"), defs, vantage="zone-a")

    async def go() -> list[dict[str, object]]:
        exporter = Exporter(defs, RunContext(vantage="zone-a"), registry=CollectorRegistry())
        exporter.add_targets(plan.targets)
        exporter.discovery = sd.Discovery(sd.groups(platform, plan.targets, "zone-a"))
        async with serving(exporter) as client:
            resp = await client.get("/sd")
            assert resp.status == 200 and resp.headers["Content-Type"].startswith("application/json")
            found: list[dict[str, object]] = await resp.json()
            return found

    return asyncio.run(go())


def test_sd_answers_one_group_per_endpoint_with_the_model_labels(tmp_path: Path) -> None:
    groups = _sd_over_http(_platform(tmp_path))
    by_key = {(g["labels"]["service"], g["labels"]["check"]): g for g in groups}  # type: ignore[index]
    assert set(by_key) == {
        ("db_postgres", "postgres"),
        ("k8s_workers", "kubernetes"),
        ("k8s_workers", "grpc"),
        ("ext_api", "https"),
    }
    grpc = by_key[("k8s_workers", "grpc")]
    assert grpc == {
        "targets": ["grpc://127.0.0.1:3"],
        "labels": {
            "service": "k8s_workers",
            "check": "grpc",
            "kind": "kubernetes",
            "zone": "internal",
            "tier": "primary",
            "dc": "fra1",
            "vantage": "zone-a",
            "__param_module": "grpc",
        },
    }
    assert SECRET not in json.dumps(groups)
    # A URL with credentials goes by its host:port, which the exporter knows it by too.
    assert by_key[("db_postgres", "postgres")]["targets"] == ["127.0.0.1:1"]


def test_probe_targets_file_sd_is_what_sd_answers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    platform_file = _platform(tmp_path)
    over_http = _sd_over_http(platform_file)
    out = tmp_path / "targets.json"
    with pytest.raises(SystemExit) as done:
        main(
            [
                "probe",
                "targets",
                "--format",
                "file_sd",
                "--env",
                "leaky",
                "--vantage",
                "zone-a",
                "--platform",
                str(platform_file),
                "--output",
                str(out),
            ]
        )
    assert done.value.code in (0, None)
    assert json.loads(out.read_text()) == over_http


@pytest.mark.integration
def test_prometheus_discovers_the_endpoints_through_the_generated_scrape_config(tmp_path: Path) -> None:
    need("prometheus")
    platform_file = _platform(tmp_path)
    port = ephemeral_port()
    exporter = start_exporter(port, "leaky", platform_file, vantage="zone-a")
    try:
        wait_ready(f"http://127.0.0.1:{port}/sd")
        platform = load_platform(platform_file)
        defs = load(REPO / "alerts")
        scrape = defs.settings.scrape.model_copy(
            update={"exporter": f"127.0.0.1:{port}", "sd_refresh": "1s", "interval": "1s", "timeout": "1s"}
        )
        defs = type(defs)(
            defs.folder, defs.settings.model_copy(update={"scrape": scrape}), defs.rules, defs.metrics
        )
        scrape_yml = build(platform, defs)[SCRAPE].decode()
        folder = tmp_path / "prom"
        folder.mkdir()
        with prometheus(folder, str(folder / "none*.yml"), scrape_yml.split("\n", 1)[1]) as prom:
            deadline = time.monotonic() + 30
            active: list[dict[str, Any]] = []
            # Every target discovered, and the exporter answers each scrape (the probes themselves fail:
            # nothing listens on these ports).
            while time.monotonic() < deadline and (
                len(active) < 4 or any(t["health"] != "up" for t in active)
            ):
                with urllib.request.urlopen(prom.url + "/api/v1/targets", timeout=5) as resp:
                    active = json.load(resp)["data"]["activeTargets"]
                time.sleep(0.2)
    finally:
        exporter.terminate()
        exporter.wait(timeout=10)
    labels = {t["labels"]["instance"]: t["labels"] for t in active}
    ext = labels["https://127.0.0.1:4"]
    assert {k: ext[k] for k in ("job", "service", "zone", "tier", "dc", "kind", "check", "vantage")} == {
        "job": "sre-probe",
        "service": "ext_api",
        "zone": "dmz",
        "tier": "primary",
        "dc": "fra1",
        "kind": "https",
        "check": "https",
        "vantage": "zone-a",
    }
    scrape_urls = {t["scrapeUrl"] for t in active}
    assert f"http://127.0.0.1:{port}/probe?module=grpc&target=grpc%3A%2F%2F127.0.0.1%3A3" in scrape_urls
    assert SECRET not in json.dumps(active)

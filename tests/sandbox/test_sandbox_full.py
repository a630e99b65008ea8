"""The full profile for real: every extra server answers on its endpoint, and `down` leaves nothing."""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from requirements import SETUP, missing
from sandbox_helpers import Place, eventually, get_json, temporary_place

from sre.platform.loader import load_environment
from sre.sandbox import binaries
from sre.sandbox.catalog import launchers
from sre.sandbox.ports import port_is_open
from sre.sandbox.sandbox import Sandbox, UpResult
from sre.sandbox.supervisor import is_ours

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def full() -> Iterator[tuple[Place, Sandbox, UpResult]]:
    # MLflow is an optional extra: the profile skips it when absent, and so may this test.
    absent = [
        b.install
        for launcher in launchers("full")
        for b in launcher.binaries
        if launcher.name != "mlflow" and binaries.find(b) is None
    ]
    if absent:
        missing(f"full-profile servers ({'; '.join(absent)})", SETUP)
    for place in temporary_place():
        sandbox = Sandbox(place.sandbox_dir)
        yield place, sandbox, sandbox.up(place.platform(), "full")


def http(url: str, data: bytes | None = None, method: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as resp:
        return resp.status, resp.read().decode()


def test_full_profile_servers_answer_on_their_endpoints(full: tuple[Place, Sandbox, UpResult]) -> None:
    place, _sandbox, result = full
    env = load_environment(place.platform(), "sandbox")
    ca = Path(env.ca_file or "")

    assert http(env.endpoints["clickhouse"]["primary"].url + "/?query=SELECT%201") == (200, "1\n")

    s3 = env.endpoints["s3"]["primary"]
    key = f"{s3.url}/{s3.params['bucket']}/{uuid.uuid4().hex}"
    http(key, data=b"sandbox object", method="PUT")
    assert http(key) == (200, "sandbox object")

    otel = env.endpoints["otel"]["primary"].url
    status, body = get_json(otel + "/healthz", ca)
    assert (status, body["status"]) == (200, "ok")

    components = {c.name: c for c in result.state.components}
    for name, ready in (("prometheus", "/-/ready"), ("alertmanager", "/-/ready"), ("blackbox", "/-/healthy")):
        assert http(components[name].urls["http"] + ready)[0] == 200, name
    if components["mlflow"].state == "skipped":
        assert "pip install 'sre[mlflow]'" in components["mlflow"].reason
        assert env.unavailable["mlflow"].startswith("skipped: mlflow not found")
    else:
        assert http(env.endpoints["mlflow"]["primary"].url + "/health")[0] == 200

    # Prometheus probes the HTTPS endpoints through blackbox_exporter: one scrape target per endpoint.
    def probed() -> set[str]:
        targets = json.loads(http(components["prometheus"].urls["http"] + "/api/v1/targets")[1])
        active = targets["data"]["activeTargets"]
        return {t["labels"]["service"] for t in active if t["labels"]["job"] == "sandbox_https"}

    assert {"ext_api", "cdn", "otel"} <= eventually(probed)


def test_full_profile_down_leaves_no_process_and_no_port(full: tuple[Place, Sandbox, UpResult]) -> None:
    _, sandbox, _ = full
    records = list(sandbox.state().processes.values())
    ports = [p for r in records for p in r.ports.values()]
    assert len(sandbox.down()) == len([r for r in records if r.pid is not None])
    assert not [r.name for r in records if is_ours(r)]
    assert not [p for p in ports if port_is_open(p)]

"""A platform whose services have other ids gets the same sandbox: launchers bind by service kind.

The shipped platform.yaml, probes/ and alerts/ with db_postgres, redis, nats_js and k8s_workers
renamed (orders_db, cache, events, order_workers), brought up for real (core profile) and probed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from requirements import SETUP, missing
from sandbox_helpers import REPO, Place, Running, env, get_json, missing_core_binaries, sre

from sre.sandbox.sandbox import Sandbox

pytestmark = pytest.mark.integration

RENAMED = {"db_postgres": "orders_db", "redis": "cache", "nats_js": "events", "k8s_workers": "order_workers"}


def _rename(text: str) -> str:
    for old, new in RENAMED.items():
        # Ids only: `redis` is also a kind (`kind: redis`) and a scheme (`redis://`), which stay.
        text = re.sub(rf"(?<![\w:/.-]){old}(?=[:\s,\]}}])(?!:/)", new, text)
        text = text.replace(f"kind: {new}", f"kind: {old}")
    return text


@pytest.fixture(scope="module")
def renamed() -> Iterator[Running]:
    absent = missing_core_binaries()
    if absent:
        missing(f"sandbox servers ({'; '.join(absent)})", SETUP)
    folder = Path(tempfile.mkdtemp(prefix="sre-sandbox-renamed-"))
    folder.chmod(0o755)
    (folder / "platform.yaml").write_text(_rename((REPO / "platform.yaml").read_text()))
    for content in ("probes", "alerts"):
        shutil.copytree(REPO / content, folder / content)
        for path in (folder / content).rglob("*.yaml"):
            if path.name != "kinds.yaml":  # keyed by kind, not by service
                path.write_text(_rename(path.read_text()))
    place = Place(folder, folder / "platform.yaml")
    sandbox = Sandbox(place.sandbox_dir)
    try:
        # As a user starts it, in a process of its own (this one may have spoken gRPC already).
        up = subprocess.run(
            [sys.executable, "-m", "sre", "sandbox", "up", "--dir", str(place.sandbox_dir)],
            env={**os.environ, "SRE_PLATFORM": str(place.platform_file)},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert up.returncode == 0, up.stderr[-3000:]
        yield Running(place, sandbox, sandbox.state())
    finally:
        sandbox.down()
        shutil.rmtree(folder, ignore_errors=True)


def test_the_renamed_platform_is_the_shipped_one_with_other_ids(renamed: Running) -> None:
    platform = renamed.place.platform()
    assert set(RENAMED.values()) <= set(platform.services)
    assert not set(RENAMED) & set(platform.services)
    assert platform.services["orders_db"].kind == "postgres" and platform.services["cache"].kind == "redis"


def test_renamed_services_get_their_servers(renamed: Running) -> None:
    e = env(renamed)
    assert set(e.endpoints["orders_db"]) == {"primary", "secondary", "tertiary"}
    assert set(e.endpoints["order_workers"]) == {"primary", "secondary", "tertiary"}
    assert set(e.endpoints["cache"]) == {"primary", "secondary"}
    assert "primary" in e.endpoints["events"]
    done = sre(renamed, "sandbox", "status", "--format", "json", "--dir", str(renamed.sandbox.root))
    rows = {(r["service"], r["tier"]): r["state"] for r in json.loads(done.stdout)["services"]}
    assert rows[("orders_db", "primary")] == rows[("orders_db", "secondary")] == "running"
    assert rows[("vault", "primary")] == "not_in_sandbox"


def test_the_workers_report_their_dependencies_by_the_platforms_names(renamed: Running) -> None:
    e = env(renamed)
    status, body = get_json(e.endpoints["ext_api"]["primary"].url + "/healthz", Path(e.ca_file or ""))
    assert (status, body["status"]) == (200, "ok"), body
    assert set(body["dependencies"]) == {"orders_db", "cache", "events"}


def test_the_renamed_services_pass_their_probes(renamed: Running) -> None:
    done = sre(
        renamed, "probe", "orders_db", "cache", "events", "order_workers", "--env", "sandbox", "-f", "json"
    )
    results = json.loads(done.stdout)["results"] if done.stdout else []
    failed = [(r["service"], r["tier"], r["message"]) for r in results if r["status"] == "failed"]
    assert done.returncode == 0 and not failed, (done.stderr, failed)

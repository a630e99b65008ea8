"""The status page in a real browser: headless Debian Chromium driven by Playwright, against `sre serve`
probing the real core sandbox.

The grid shows what the probes saw; stopping the Redis replica turns its cell and the secondary tier red
with redis named, within a refresh; approving a plan from the page runs it. With SRE_UPDATE_SCREENSHOT=1
the page is saved as docs/status-page.png.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from requirements import REPO, need_binary, need_module
from sandbox_helpers import Running

pytestmark = pytest.mark.integration

TOKEN = "page-token-alice-0123456789"
DEADLINE = 60_000  # ms: a generous bound on "within a refresh", for a shared, loaded machine

RUNBOOK = """\
version: 1
name: check-redis
revision: 1
description: Confirm the Redis primary answers (a harmless runbook that needs an approval).
params:
  service: {type: service, kinds: [redis]}
  tier: {type: tier, standby: [active, hot]}
target: "{{ service }}/{{ tier }}"
approval: {required: true, four_eyes: false, ttl: 15m}
limits: {runs: 5, per: 1h}
steps:
  - id: answers
    action: probe
    with: {service: "{{ service }}", tier: "{{ tier }}", require: [ok]}
    timeout: 30s
"""
RULES = """\
version: 1
rules:
  - name: check-redis
    match: {alertname: RedisCheck}
    runbook: check-redis
    params: {service: service, tier: tier}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return int(answer.status)
    except OSError:
        return 0


@pytest.fixture(scope="module")
def served(core: Running) -> Iterator[str]:
    folder = core.place.folder
    (folder / "runbooks").mkdir(exist_ok=True)
    (folder / "runbooks" / "check-redis.yaml").write_text(RUNBOOK)
    (folder / "runbooks" / "rules.yaml").write_text(RULES)
    tokens = folder / "api-tokens"
    tokens.write_text(f"alice: {TOKEN}\n")
    tokens.chmod(0o600)
    port = _free_port()
    log = (folder / "serve.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "sre", "serve",
            "--listen", f"127.0.0.1:{port}",
            "--no-token",
            "--api-token-file", str(tokens),
            "--env", "sandbox",
            "--platform", str(core.place.platform_file),
            "--store", str(folder / "runbooks.db"),
            "--probe-interval", "2",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        until = time.monotonic() + 60
        while _get(f"{url}/healthz") != 200:
            assert proc.poll() is None, (folder / "serve.log").read_text()
            assert time.monotonic() < until, "sre serve did not come up"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = need_binary("chromium")
    need_module("playwright", "pip install playwright (the dev extra); the browser is Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # --no-sandbox: Chromium's own sandbox cannot start as root in a container.
        launched = pw.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, served: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(DEADLINE)
    page.goto(served + "/")
    assert page.url.endswith("/login")
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(served + "/")
    yield page
    context.close()


def _api(url: str, path: str) -> Any:
    request = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def _cell(page: Any, zone: str, tier: str) -> Any:
    return page.locator(f"#cell-{zone}-{tier}")


def test_the_grid_shows_the_sandbox_as_probed(page: Any, served: str) -> None:
    page.wait_for_selector("#cell-internal-secondary[data-state=ok]")
    # What the page shows is what the last probe run said, tier by tier.
    grid = _api(served, "/api/v1/status")
    page.reload()
    for tier in grid["tiers"]:
        header = page.locator(f"#tier-{tier['id']}").inner_text()
        assert tier["word"] in header, (tier, header)
    cell = _cell(page, "internal", "secondary").inner_text()
    assert "redis ✓ ok" in cell
    assert "○" in page.locator("#tier-tertiary").inner_text()  # the cold tier: down, as allowed
    # Colour is never the only signal: each state has its symbol and word.
    assert "✓ ok" in _cell(page, "internal", "primary").inner_text()
    if os.environ.get("SRE_UPDATE_SCREENSHOT"):
        shutil.copy(_shot(page), REPO / "docs" / "status-page.png")


def _shot(page: Any) -> Path:
    path = Path(tempfile.gettempdir()) / f"status-page-{os.getpid()}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_a_stopped_redis_replica_turns_its_cell_and_tier_red_with_the_cause(
    page: Any, core: Running, served: str
) -> None:
    page.wait_for_selector("#cell-internal-secondary[data-state=ok]")
    assert core.sandbox.stop_process("redis-secondary")
    try:
        # No reload: the page's own refresh brings the next probe run in.
        page.wait_for_selector("#cell-internal-secondary[data-state=failed]")
        cell = _cell(page, "internal", "secondary").inner_text()
        assert "✗ failed" in cell and "redis" in cell
        tier = page.locator("#tier-secondary")
        assert "failed" in (tier.get_attribute("class") or "")
        assert "root cause: redis" in tier.inner_text()
        if os.environ.get("SRE_UPDATE_SCREENSHOT"):
            shutil.copy(_shot(page), REPO / "docs" / "status-page.png")
    finally:
        core.sandbox.start_process("redis-secondary")
    page.wait_for_selector("#cell-internal-secondary[data-state=ok]")


def _notify(url: str) -> None:
    alert = {
        "status": "firing",
        "labels": {"alertname": "RedisCheck", "service": "redis", "tier": "primary", "severity": "ticket"},
        "annotations": {"summary": "check redis"},
        "startsAt": "2026-12-01T10:15:30.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus/graph",
        "fingerprint": "0123456789abcdef",
    }
    body = {
        "version": "4",
        "groupKey": '{}:{alertname="RedisCheck"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "sre",
        "groupLabels": {"alertname": "RedisCheck"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [alert],
    }
    request = urllib.request.Request(
        url + "/alerts", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


def test_approving_a_plan_from_the_page_runs_it(page: Any, served: str) -> None:
    _notify(served)
    waiting = page.locator(".waiting").first
    waiting.wait_for()  # the refresh shows the run waiting, with its plan and facts
    text = waiting.inner_text()
    assert "check-redis on redis/primary" in text and "waiting for approval" in text
    assert "status: ok" in text  # the fact the plan's check saw
    page.locator(".waiting button.approve").first.click()
    page.wait_for_url(f"{served}/runs/*")
    for _ in range(120):
        state = page.locator("#run-state").inner_text()
        if state == "succeeded":
            break
        time.sleep(0.5)
        page.reload()
    assert page.locator("#run-state").inner_text() == "succeeded"
    assert "alice" in page.locator("table").first.inner_text()  # approved by the signed-in user
    assert "RTO" in page.content()
    page.goto(served + "/")
    assert "run " in page.locator("#alerts").inner_text()  # the alert's fate: the run it started

"""End to end: two real Alertmanagers (Debian prometheus-alertmanager, not clustered, so each sends its own
copy, as HA peers do when gossip lags) post to a real `sre serve` process, which is killed with SIGKILL in
the middle of a run and started again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from rb_support import World, free_port, http_ok, start_alertmanager, wait

TOKEN = "am-webhook-token-0123456789"
API = "api-token-0123456789abcdef"

RUNBOOK = """\
version: 1
name: slow-fix
revision: 1
params:
  service: {type: service, kinds: [postgres]}
  tier: {type: tier}
target: "{{ service }}/{{ tier }}"
steps:
  - id: first
    action: postgres_sql
    with:
      service: "{{ service }}"
      tier: "{{ tier }}"
      check_sql: "SELECT EXISTS (SELECT 1 FROM changes WHERE k = 'first')"
      apply_sql: "INSERT INTO changes (k, n) VALUES ('first', 1) ON CONFLICT (k) DO UPDATE SET n = changes.n + 1"
  - id: gate
    action: wait_until
    with:
      postgres: {service: "{{ service }}", tier: "{{ tier }}", sql: "SELECT EXISTS (SELECT 1 FROM gate)"}
      interval: 0.2
    timeout: 2m
  - id: last
    action: postgres_sql
    with:
      service: "{{ service }}"
      tier: "{{ tier }}"
      check_sql: "SELECT EXISTS (SELECT 1 FROM changes WHERE k = 'last')"
      apply_sql: "INSERT INTO changes (k, n) VALUES ('last', 1) ON CONFLICT (k) DO UPDATE SET n = changes.n + 1"
"""

RULES = """\
version: 1
rules:
  - name: fix
    match: {alertname: DbBroken}
    runbook: slow-fix
    params: {service: service, tier: tier}
"""


def start_serve(world: World, port: int, log: Path) -> subprocess.Popen[bytes]:
    argv = [
        str(Path(sys.executable).parent / "sre"), "serve", "--listen", f"127.0.0.1:{port}",
        "--platform", str(world.platform_file), "--env", "test", "--store", world.store_url,
        "--token-file", str(world.folder / "token"), "--api-token-file", str(world.folder / "api-token"),
        "--lease", "2",
    ]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    wait(lambda: http_ok(f"http://127.0.0.1:{port}/healthz"), 30, proc)
    return proc


def api(port: int, path: str) -> Any:
    return httpx.get(
        f"http://127.0.0.1:{port}/api/v1/{path}", headers={"authorization": f"Bearer {API}"}
    ).json()


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.mark.integration
@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_alertmanager_copies_and_resends_start_one_run_that_survives_kill_9(
    world: World, procs: list[subprocess.Popen[bytes]]
) -> None:
    world.runbook("slow-fix", RUNBOOK)
    (world.folder / "runbooks" / "rules.yaml").write_text(RULES)
    (world.folder / "token").write_text(TOKEN + "\n")
    (world.folder / "api-token").write_text(f"alice: {API}\n")
    os.chmod(world.folder / "token", 0o600)
    port = free_port()
    log = world.folder / "serve.log"
    serve = start_serve(world, port, log)
    procs.append(serve)
    managers = [start_alertmanager(world.folder / f"am{i}", port, world.folder / "token") for i in (1, 2)]
    procs.extend(p for p, _ in managers)

    starts = dt.datetime.now(dt.UTC).isoformat()
    alert = [{"labels": {"alertname": "DbBroken", "service": "db", "tier": "primary"}, "startsAt": starts}]
    for _, url in managers:
        assert httpx.post(f"{url}/api/v2/alerts", json=alert, timeout=5).status_code == 200

    # The run starts, does its first step, and waits at the gate.
    run = wait(lambda: api(port, "runs"), 30)[0]
    wait(
        lambda: any(
            e["step"] == "gate" and e["event"] == "apply" for e in api(port, f"runs/{run['id']}")["journal"]
        ),
        30,
    )
    time.sleep(3)  # both Alertmanagers resend (repeat_interval 2s) meanwhile
    serve.send_signal(signal.SIGKILL)
    serve.wait()
    world.sql("INSERT INTO gate VALUES ('open')")
    time.sleep(1)  # the Alertmanagers' sends fail now and are retried
    serve = start_serve(world, port, log)
    procs.append(serve)

    done = wait(lambda: (r := api(port, f"runs/{run['id']}"))["state"] == "succeeded" and r, 60)
    events = [(e["step"], e["event"]) for e in done["journal"]]
    assert ("run", "resumed") in events
    assert events.count(("first", "apply")) == 1
    assert world.sql("SELECT k, n FROM changes ORDER BY k") == [("first", 1), ("last", 1)]

    time.sleep(3)  # more resends after the restart
    runs = api(port, "runs")
    assert [r["id"] for r in runs] == [run["id"]]
    (episode,) = api(port, "episodes")
    assert episode["run_id"] == run["id"] and episode["startsAt"].startswith(starts[:19])
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    assert "sre_runbook_duplicates_total" in metrics
    assert TOKEN not in log.read_text() and API not in log.read_text()
    assert json.dumps(done).find(TOKEN) == -1

"""Helpers of the runbook tests: a platform whose endpoints are this machine's real servers, stores, runbooks.

PostgreSQL (127.0.0.1:5432, trust auth), Redis (127.0.0.1:6379) and NATS
(127.0.0.1:4222) are the machine's own servers; each test gets its own database,
key prefix and subject. HAProxy and Alertmanager are started by the tests that
need them, on ephemeral ports, in temporary folders.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import subprocess
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
from requirements import need_binary

from sre.platform.loader import load_environment, load_platform
from sre.runbooks.actions import Settings
from sre.runbooks.db import open_database
from sre.runbooks.definitions import load_catalog
from sre.runbooks.engine import Engine
from sre.runbooks.store import Store

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379/0"
NATS = "nats://127.0.0.1:4222"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def create_database(prefix: str) -> tuple[str, str]:
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return name, f"postgresql://postgres@127.0.0.1:5432/{name}"


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


PLATFORM = """\
version: 1
platform: {name: runbook-test}
tiers:
  primary: {dc: fra1, standby: active, provider: aws, region: eu-central-1}
  secondary: {dc: ams1, standby: hot, provider: gcp, region: europe-west4}
  tertiary: {dc: dub1, standby: cold, provider: azure, region: northeurope}
zones:
  internal: {name: Internal}
teams:
  ops: {name: Ops}
services:
  db:
    name: DB
    zone: internal
    kind: postgres
    owner: ops
    stateful: true
    tiers: &roles {primary: {role: primary}, secondary: {role: replica}, tertiary: {role: cold}}
  cache: {name: Cache, zone: internal, kind: redis, owner: ops, stateful: true, tiers: *roles}
  bus: {name: Bus, zone: internal, kind: nats, owner: ops, stateful: true, tiers: *roles}
  workers: {name: Workers, zone: internal, kind: kubernetes, owner: ops, stateful: false}
  gw: {name: Gateway, zone: internal, kind: https, owner: ops, stateful: false}
environments:
  test:
    endpoints:
      db:
        primary: "__DB__"
        secondary: "__DB__"
      cache:
        primary: "__REDIS__"
        secondary: "__REDIS__"
      bus:
        primary: "__NATS__"
      workers:
        primary: {url: "__K8S__", secrets: {token: {env: SRE_TEST_K8S_TOKEN}}}
      gw:
        primary: {url: "__GW__", params: {runtime_api: "__HAPROXY__"}}
"""


class World:
    """A platform folder, its runbooks folder, and a store; `engine()` builds an engine over them."""

    def __init__(self, folder: Path, store_url: str, db_url: str, **endpoints: str) -> None:
        self.folder = folder
        self.store_url = store_url
        self.db_url = db_url
        text = PLATFORM.replace("__DB__", db_url).replace("__REDIS__", REDIS).replace("__NATS__", NATS)
        text = text.replace("__K8S__", endpoints.get("k8s", "http://127.0.0.1:1"))
        text = text.replace("__HAPROXY__", endpoints.get("haproxy", "unix:/nonexistent"))
        text = text.replace("__GW__", endpoints.get("gw", "https://127.0.0.1:1"))
        self.platform_file = folder / "platform.yaml"
        self.platform_file.write_text(text)
        (folder / "runbooks").mkdir(exist_ok=True)
        self.prefix = f"t{secrets.token_hex(4)}"

    def runbook(self, name: str, body: str) -> None:
        (self.folder / "runbooks" / f"{name}.yaml").write_text(textwrap.dedent(body))

    def engine(self, *, lease: float = 30.0, **settings: Any) -> Engine:
        platform = load_platform(self.platform_file)
        catalog = load_catalog(self.folder / "runbooks", platform)
        return Engine(
            store=Store(open_database(self.store_url, self.folder / ".sre" / "runbooks.db")),
            catalog=catalog,
            platform=platform,
            environment=load_environment(platform, "test"),
            settings=Settings(env="test", **settings),
            lease=lease,
        )

    def sql(self, statement: str) -> Any:
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            cur = conn.execute(statement)
            return cur.fetchall() if cur.description else None


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def start_and_execute(engine: Engine, runbook: str, params: dict[str, Any], **kw: Any) -> tuple[str, str]:
    rb = engine.catalog.get(runbook)
    run_id, _ = run(engine.request(rb, params, requested_by=kw.pop("by", "alice"), trigger="test", **kw))
    claimed = engine.store.claim_run(engine.owner, engine.lease, run_id)
    assert claimed is not None
    return run_id, run(engine.execute(claimed))


def events(engine: Engine, run_id: str) -> list[tuple[str, str]]:
    found = engine.store.run(run_id)
    assert found is not None
    return [(e["step"], e["event"]) for e in found.journal]


AM_CONFIG = """\
route:
  receiver: sre
  group_by: [alertname, service, tier]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 2s
receivers:
  - name: sre
    webhook_configs:
      - url: http://127.0.0.1:{port}/alerts
        send_resolved: true
        http_config:
          authorization: {{type: Bearer, credentials_file: {token}}}
"""


def start_alertmanager(folder: Path, serve_port: int, token: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = need_binary("prometheus-alertmanager")
    folder.mkdir()
    port = free_port()
    (folder / "am.yml").write_text(AM_CONFIG.format(port=serve_port, token=token))
    argv = [
        binary, f"--config.file={folder / 'am.yml'}", f"--storage.path={folder}",
        f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
    ]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=(folder / "log").open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait(lambda: http_ok(f"{url}/-/ready"), 30, proc)
    return proc, url


def http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def wait(predicate: Any, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode}")
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")

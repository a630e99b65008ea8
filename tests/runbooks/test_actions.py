"""Each action against a real server: Redis, NATS, HAProxy's runtime API, Alertmanager's API v2, sre's probes.

Kubernetes has no server on this machine: its test runs against a small local HTTP server that answers
the documented apps/v1 Deployment endpoints (read, patch, scale) as the API server does. The HTTP and
notify actions run against a local HTTP server too (that is their whole job).
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from rb_support import REDIS, World, free_port, start_alertmanager, wait
from requirements import need_binary

from sre.platform.loader import load_environment, load_platform
from sre.runbooks.actions import REGISTRY, ActionFailed, Context, Settings

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return str(tmp_path / "store.db")


def context(world: World, run_id: str = "run-test-1", **settings: Any) -> Context:
    platform = load_platform(world.platform_file)
    return Context(
        run_id=run_id,
        platform=platform,
        environment=load_environment(platform, "test"),
        settings=Settings(env="test", **settings),
    )


def act(name: str, args: dict[str, Any], ctx: Context) -> Any:
    action = REGISTRY[name]
    parsed = action.Args.model_validate(args)

    class Steps:
        def check(self) -> Any:
            return asyncio.run(action.check(parsed, ctx))

        def apply(self) -> Any:
            return asyncio.run(action.apply(parsed, ctx))

        def verify(self) -> Any:
            return asyncio.run(action.verify(parsed, ctx))

        def compensate(self) -> Any:
            return asyncio.run(action.compensate(parsed, ctx))

        def finish(self) -> Any:
            return asyncio.run(action.finish(parsed, ctx))

    return Steps()


def test_redis_command_checks_applies_verifies_and_compensates(world: World) -> None:
    import redis

    key = f"{world.prefix}:mode"
    ctx = context(world)
    step = act(
        "redis_command",
        {
            "service": "cache",
            "tier": "primary",
            "command": ["SET", key, "drained"],
            "check": {"command": ["GET", key], "equals": "drained"},
            "verify": {"command": ["GET", key], "equals": "drained"},
            "compensate": ["DEL", key],
        },
        ctx,
    )
    assert step.check().done is False
    step.apply()
    step.verify()
    assert step.check().done is True
    step.compensate()
    assert redis.Redis.from_url(REDIS).exists(key) == 0


def test_nats_publish_sends_the_payload_with_the_run_id(world: World) -> None:
    import nats

    subject = f"sre.test.{world.prefix}"
    got: list[Any] = []

    async def scenario() -> None:
        nc = await nats.connect("nats://127.0.0.1:4222")
        sub = await nc.subscribe(subject)
        await nc.flush()
        action = REGISTRY["nats_publish"]
        ctx = context(world)
        await action.apply(
            action.Args.model_validate(
                {"service": "bus", "tier": "primary", "subject": subject, "payload": "drain"}
            ),
            ctx,
        )
        msg = await sub.next_msg(timeout=5)
        got.append((msg.data, msg.headers))
        await nc.close()

    asyncio.run(scenario())
    assert got == [(b"drain", {"Sre-Run-Id": "run-test-1"})]
    with pytest.raises(ValidationError):
        REGISTRY["nats_publish"].Args.model_validate(
            {"service": "bus", "tier": "primary", "subject": "a b\r\nPUB x"}
        )


HAPROXY_CFG = """\
global
    stats socket {socket} mode 600 level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend gw
    bind 127.0.0.1:{port}
    http-request set-var(txn.to) str(primary),map({map},primary)
    default_backend workers_primary
backend workers_primary
    server worker_primary 127.0.0.1:{closed} weight 7
"""


@pytest.fixture
def haproxy(tmp_path: Path) -> Iterator[str]:
    binary = need_binary("haproxy")
    folder = tmp_path / "haproxy"
    folder.mkdir()
    (folder / "tiers.map").write_text("primary primary\n")
    cfg = folder / "haproxy.cfg"
    cfg.write_text(
        HAPROXY_CFG.format(
            socket=folder / "h.sock", port=free_port(), map=folder / "tiers.map", closed=free_port()
        )
    )
    proc = subprocess.Popen(
        [binary, "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait((folder / "h.sock").exists, 15, proc)
        yield f"unix:{folder / 'h.sock'}"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


@pytest.fixture
def hworld(tmp_path: Path, store_url: str, target_db: str, haproxy: str) -> World:
    return World(tmp_path, store_url, target_db, haproxy=haproxy)


def test_haproxy_drain_weight_and_map_are_checked_and_compensated(hworld: World, haproxy: str) -> None:
    ctx = context(hworld)
    base = {"service": "gw", "tier": "primary", "backend": "workers_primary", "server": "worker_primary"}
    drain = act("haproxy_runtime", {**base, "op": "set_state", "state": "drain"}, ctx)
    before = drain.check()
    assert before.done is False and before.facts == {"weight": 7, "state": "ready"}
    ctx.facts = before.facts
    drain.apply()
    drain.verify()
    assert drain.check().done is True
    drain.compensate()
    assert drain.check().facts["state"] == "ready"

    weight = act("haproxy_runtime", {**base, "op": "set_weight", "weight": 0}, ctx)
    ctx.facts = weight.check().facts
    weight.apply()
    assert weight.check().facts["weight"] == 0
    weight.compensate()
    assert weight.check().facts["weight"] == 7

    mapfile = haproxy.removeprefix("unix:").replace("h.sock", "tiers.map")
    move = act(
        "haproxy_runtime",
        {
            "service": "gw",
            "tier": "primary",
            "op": "set_map",
            "map": mapfile,
            "key": "primary",
            "value": "secondary",
        },
        ctx,
    )
    ctx.facts = move.check().facts
    assert ctx.facts == {"value": "primary"}
    move.apply()
    assert move.check().done is True
    move.compensate()
    assert move.check().facts == {"value": "primary"}


@pytest.mark.parametrize("server", ["worker_primary;shutdown sessions", "a\nb", "x y"])
def test_haproxy_names_with_separators_are_refused_before_anything_is_sent(server: str) -> None:
    with pytest.raises(ValidationError):
        REGISTRY["haproxy_runtime"].Args.model_validate(
            {
                "service": "gw",
                "tier": "primary",
                "op": "set_state",
                "backend": "b",
                "server": server,
                "state": "drain",
            }
        )


def test_alertmanager_silence_carries_the_run_id_and_is_expired_at_the_end(world: World) -> None:
    (world.folder / "token").write_text("x" * 20)
    proc, url = start_alertmanager(world.folder / "am", free_port(), world.folder / "token")
    try:
        ctx = context(world, alertmanager_url=url)
        silence = act(
            "alertmanager_silence",
            {"matchers": {"service": "db", "tier": "primary"}, "comment": "fixing db"},
            ctx,
        )
        assert silence.check().done is False
        silence.apply()
        assert silence.check().done is True
        active = [s for s in httpx.get(f"{url}/api/v2/silences").json() if s["status"]["state"] == "active"]
        assert len(active) == 1 and "[sre run run-test-1]" in active[0]["comment"]
        # Another run's silence is not ours.
        assert (
            act(
                "alertmanager_silence",
                {"matchers": {"a": "b"}, "comment": "x"},
                context(world, "run-other", alertmanager_url=url),
            )
            .check()
            .done
            is False
        )
        silence.finish()
        assert silence.check().done is False
        states = {s["status"]["state"] for s in httpx.get(f"{url}/api/v2/silences").json()}
        assert states == {"expired"}
    finally:
        proc.terminate()
        proc.wait(10)


class _Api:
    """The documented apps/v1 Deployment endpoints: GET, PATCH (merge), PATCH .../scale."""

    def __init__(self) -> None:
        self.deployment: dict[str, Any] = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "worker", "namespace": "workers", "generation": 1},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "worker"}},
                "template": {
                    "metadata": {"labels": {"app": "worker"}},
                    "spec": {"containers": [{"name": "worker", "image": "worker:1"}]},
                },
            },
            "status": {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2},
        }
        self.auth: list[str] = []
        self.patches: list[Any] = []

    def settle(self) -> None:
        dep = self.deployment
        n = dep["spec"]["replicas"]
        dep["status"] = {
            "observedGeneration": dep["metadata"]["generation"],
            "replicas": n,
            "updatedReplicas": n,
            "availableReplicas": n,
        }


def _merge(into: dict[str, Any], patch: dict[str, Any]) -> None:
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = v


@pytest.fixture
def k8s() -> Iterator[tuple[str, _Api]]:
    state = _Api()
    path = "/apis/apps/v1/namespaces/workers/deployments/worker"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, code: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            state.auth.append(self.headers.get("authorization", ""))
            if self.path == path:
                self._send(200, state.deployment)
            else:
                self._send(404, {"kind": "Status", "code": 404, "reason": "NotFound"})

        def do_PATCH(self) -> None:
            state.auth.append(self.headers.get("authorization", ""))
            patch = json.loads(self.rfile.read(int(self.headers["content-length"])))
            state.patches.append((self.path, patch))
            if self.path == path:
                _merge(state.deployment, patch)
                state.deployment["metadata"]["generation"] += 1
                state.settle()
                self._send(200, state.deployment)
            elif self.path == path + "/scale":
                state.deployment["spec"]["replicas"] = patch["spec"]["replicas"]
                state.settle()
                self._send(200, {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "worker"},
                                 "spec": {"replicas": patch["spec"]["replicas"]}})  # fmt: skip
            else:
                self._send(404, {"kind": "Status", "code": 404})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", state
    finally:
        server.shutdown()


def test_kubernetes_scale_and_rollout_restart(
    tmp_path: Path, store_url: str, target_db: str, k8s: tuple[str, _Api], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, api = k8s
    monkeypatch.setenv("SRE_TEST_K8S_TOKEN", "k8s-secret-token-xyz")
    world = World(tmp_path, store_url, target_db, k8s=url)
    ctx = context(world)
    where = {"service": "workers", "tier": "primary", "namespace": "workers", "deployment": "worker"}
    scale = act("kubernetes_scale", {**where, "replicas": 5}, ctx)
    before = scale.check()
    assert before.done is False and before.facts == {"replicas": 2}
    ctx.facts = before.facts
    scale.apply()
    scale.verify()
    assert scale.check().done is True
    scale.compensate()
    assert api.deployment["spec"]["replicas"] == 2

    restart = act("kubernetes_rollout_restart", where, ctx)
    assert restart.check().done is False
    restart.apply()
    restart.verify()
    assert restart.check().done is True  # a resumed run sees its own restart and does not restart twice
    annotations = api.deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"kubectl.kubernetes.io/restartedAt": "run-test-1"}
    assert set(api.auth) == {"Bearer k8s-secret-token-xyz"}

    missing = act("kubernetes_scale", {**where, "deployment": "nope", "replicas": 1}, ctx)
    with pytest.raises(ActionFailed, match="HTTP 404") as caught:
        missing.check()
    assert caught.value.permanent and "k8s-secret-token-xyz" not in str(caught.value)
    with pytest.raises(ValidationError):
        REGISTRY["kubernetes_scale"].Args.model_validate(
            {**where, "deployment": "../../secrets", "replicas": 1}
        )


@pytest.fixture
def hook() -> Iterator[tuple[str, list[Any]]]:
    got: list[Any] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length", "0")))
            got.append((self.path, json.loads(raw) if raw else None))
            self.send_response(500 if self.path == "/broken" else 200)
            self.send_header("content-length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            self.send_response(204 if self.path == "/ready" else 503)
            self.send_header("content-length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", got
    finally:
        server.shutdown()


def test_http_call_notify_and_wait_until(world: World, hook: tuple[str, list[Any]]) -> None:
    url, got = hook
    ctx = context(world, notify_url=f"{url}/notify")
    call = act(
        "http",
        {
            "url": f"{url}/drain",
            "json": {"tier": "primary"},
            "check": {"url": f"{url}/ready", "expect_status": [204]},
        },
        ctx,
    )
    assert call.check().done is True
    call.apply()
    act("notify", {"message": "done"}, ctx).apply()
    assert got == [("/drain", {"tier": "primary"}), ("/notify", {"run_id": "run-test-1", "message": "done"})]
    with pytest.raises(ActionFailed, match="HTTP 500") as caught:
        act("http", {"url": f"{url}/broken"}, ctx).apply()
    assert not caught.value.permanent  # a 5xx may pass: the step's retry policy applies
    assert act("wait_until", {"http": {"url": f"{url}/ready", "status": [204]}}, ctx).check().done is True
    assert act("wait_until", {"http": {"url": f"{url}/other"}}, ctx).check().done is False


def test_probe_gate_runs_sres_probes_and_requires_a_verdict(world: World) -> None:
    ctx = context(world)
    # gw/primary is https on a closed port: its probe fails.
    failing = act("probe", {"service": "gw", "tier": "primary", "require": ["failed"]}, ctx).check()
    assert failing.done is True and failing.facts["status"] == "failed"
    with pytest.raises(ActionFailed, match="required ok"):
        act("probe", {"service": "gw", "tier": "primary"}, ctx).apply()

"""Helpers of the sandbox tests: temporary places, polling, TLS clients, secrets read from their files."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import redis

from sre.platform.loader import load_environment, load_platform
from sre.platform.model import Platform
from sre.sandbox import binaries
from sre.sandbox.catalog import launchers
from sre.sandbox.sandbox import Sandbox
from sre.sandbox.state import SandboxState

T = TypeVar("T")


def eventually(what: Callable[[], T | None], timeout: float = 15.0, every: float = 0.1) -> T:
    """Poll until `what` returns something truthy; fail with the last value or error."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            got = what()
        except Exception as exc:  # the condition may fail while a server comes up
            last = exc
        else:
            if got:
                return got
            last = got
        time.sleep(every)
    raise AssertionError(f"not true after {timeout} s; last: {last!r}")


def tls_context(ca_file: Path, maximum: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca_file))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if maximum is not None:
        ctx.maximum_version = maximum
    return ctx


def get(url: str, ca_file: Path) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url)
    try:
        with urllib.request.urlopen(request, context=tls_context(ca_file), timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


def get_json(url: str, ca_file: Path) -> tuple[int, dict[str, Any]]:
    status, _, body = get(url, ca_file)
    return status, json.loads(body)


def post(url: str, body: bytes, ca_file: Path) -> tuple[int, dict[str, Any]]:
    """POST a body; the status and the JSON answer (HTTP errors are answers too)."""
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, context=tls_context(ca_file), timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def secret(path: str | Path) -> str:
    return Path(path).read_text().strip()


REPO = Path(__file__).resolve().parents[2]


@dataclass
class Place:
    """A temporary folder (other users may enter it, as PostgreSQL needs) holding a platform.yaml copy."""

    folder: Path
    platform_file: Path

    @property
    def sandbox_dir(self) -> Path:
        return self.folder / "sb"

    def platform(self) -> Platform:
        return load_platform(self.platform_file)


def temporary_place() -> Iterator[Place]:
    folder = Path(tempfile.mkdtemp(prefix="sre-sandbox-test-"))
    folder.chmod(0o755)
    shutil.copy(REPO / "platform.yaml", folder / "platform.yaml")
    # What the full profile reads beside the platform file: probe definitions (the probe exporter),
    # alert definitions (rules and Alertmanager's routes), runbooks (sre serve).
    for content in ("probes", "alerts", "runbooks"):
        shutil.copytree(REPO / content, folder / content)
    try:
        yield Place(folder, folder / "platform.yaml")
    finally:
        Sandbox(folder / "sb").down()
        shutil.rmtree(folder, ignore_errors=True)


def missing_core_binaries() -> list[str]:
    return [
        b.install for launcher in launchers("core") for b in launcher.binaries if binaries.find(b) is None
    ]


@dataclass
class Running:
    place: Place
    sandbox: Sandbox
    state: SandboxState


def sre(running: Running, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SRE_PLATFORM": str(running.place.platform_file)}
    return subprocess.run(
        [sys.executable, "-m", "sre", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def env(running: Running):  # type: ignore[no-untyped-def]
    platform = running.place.platform()
    return load_environment(platform, "sandbox")


def pg(running: Running, tier: str) -> psycopg.Connection:
    ep = env(running).endpoints["db_postgres"][tier]
    assert ep.secrets["password"].file is not None
    password = secret(ep.secrets["password"].file)
    return psycopg.connect(ep.url.replace("app@", f"app:{password}@"), autocommit=True, connect_timeout=5)


def rd(running: Running, tier: str) -> redis.Redis:
    ep = env(running).endpoints["redis"][tier]
    assert ep.secrets["password"].file is not None
    return redis.Redis.from_url(ep.url, password=secret(ep.secrets["password"].file), socket_timeout=5)


def nats_js(running: Running, tier: str, job: Callable[[Any], Any]) -> Any:
    """`await job(js)` on a JetStream context of the tier's NATS server."""
    import nats

    async def go() -> Any:
        nc = await nats.connect(env(running).endpoints["nats_js"][tier].url, allow_reconnect=False)
        try:
            return await job(nc.jetstream(timeout=5))
        finally:
            await nc.close()

    return asyncio.run(go())


def nats_role(running: Running, tier: str) -> str:
    """`writable`, or `mirror of <stream> (<api>)`: what the tier's SANDBOX stream is."""
    config = nats_js(running, tier, lambda js: js.stream_info("SANDBOX")).config
    if config.mirror is None:
        return "writable" if config.subjects else "no subjects"
    return f"mirror of {config.mirror.name} ({config.mirror.external.api})"


def haproxy(running: Running, command: str) -> str:
    """One command on the sandbox HAProxy's runtime API (admin socket); `{map}` is its tier map file."""
    root = running.sandbox.root
    text = command.replace("{map}", str(root / "haproxy" / "tiers.map"))
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(root / "run" / "haproxy.sock"))
        s.sendall(text.encode() + b"\n")
        return s.makefile().read()

"""Two real nats-servers as the sandbox runs them (own JetStream domains, a leafnode between them), with a
TCP relay on the leafnode link that a test can pause: a real way to make the mirror fall behind while both
servers still answer."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from rb_support import free_port, wait
from requirements import need_binary

from sre.sandbox.launchers import nats as launcher
from sre.sandbox.render import render


class Relay:
    """Forwards 127.0.0.1:port to `upstream`; `pause()` stops forwarding without closing anything, so
    the link hangs as a stalled network does (no reconnect, no error) until `resume()`."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.flowing = threading.Event()
        self.flowing.set()
        self.links: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return  # closed
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream))
            except OSError:  # the upstream server is not up yet: the leafnode tries again
                client.close()
                continue
            self.links += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                self.flowing.wait()
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def pause(self) -> None:
        self.flowing.clear()

    def resume(self) -> None:
        self.flowing.set()

    def close(self) -> None:
        self.flowing.set()
        self.server.close()
        for s in self.links:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


class Pair(NamedTuple):
    urls: dict[str, str]  # tier -> nats:// URL
    procs: dict[str, subprocess.Popen[bytes]]
    relay: Relay
    folder: Path

    def restart(self, tier: str) -> None:
        """Start a stopped server again with its config and store."""
        old = self.procs[tier]
        log = (self.folder / f"{tier}.log").open("ab")
        self.procs[tier] = subprocess.Popen(old.args, stdout=log, stderr=subprocess.STDOUT)
        port = int(self.urls[tier].rsplit(":", 1)[1])
        wait(lambda: _accepts(port), 20, self.procs[tier])


def _server(folder: Path, tier: str, port: int, leaf: int, leaf_url: str | None) -> subprocess.Popen[bytes]:
    store = folder / tier
    store.mkdir(parents=True)
    conf = folder / f"{tier}.conf"
    text = render(
        "nats.conf.j2",
        tier=tier,
        port=port,
        monitor=free_port(),
        store=store,
        leaf_port=leaf,
        leaf_url=leaf_url,
    )
    conf.write_text(text)
    log = (folder / f"{tier}.log").open("wb")
    return subprocess.Popen(
        [need_binary("nats-server"), "--config", str(conf)], stdout=log, stderr=subprocess.STDOUT
    )


def started(folder: Path) -> Iterator[Pair]:
    """primary (writable SANDBOX, leafnode listener) and secondary (its mirror), linked through a Relay."""
    leaf = free_port()
    relay = Relay(leaf)
    ports = {"primary": free_port(), "secondary": free_port()}
    procs = {
        "primary": _server(folder, "primary", ports["primary"], leaf, None),
        "secondary": _server(
            folder, "secondary", ports["secondary"], leaf, f"nats-leaf://127.0.0.1:{relay.port}"
        ),
    }
    urls = {tier: f"nats://127.0.0.1:{port}" for tier, port in ports.items()}
    try:
        for tier, port in ports.items():
            wait(lambda p=port: _accepts(p), 20, procs[tier])
        problem = wait(lambda: _try_streams(urls), 20)
        assert problem == "ok", problem
        yield Pair(urls, procs, relay, folder)
    finally:
        relay.close()
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
            proc.wait(10)


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def _try_streams(urls: dict[str, str]) -> str | None:
    try:
        return asyncio.run(launcher._streams(urls, "primary", "secondary")) or "ok"
    except Exception:  # the leafnode is not up yet: JetStream of the other domain does not answer
        return None


def js_call(url: str, job: Any) -> Any:
    """Run `await job(js)` on a fresh connection to `url`."""
    import nats

    async def go() -> Any:
        nc = await nats.connect(url, allow_reconnect=False, connect_timeout=5)
        try:
            return await job(nc.jetstream(timeout=5))
        finally:
            await nc.close()

    return asyncio.run(go())

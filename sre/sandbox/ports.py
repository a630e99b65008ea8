"""Free loopback ports: the ones of the last run when still free (stable URLs), else new ones from the OS."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

HOST = "127.0.0.1"


def port_is_free(port: int, host: str = HOST) -> bool:
    # SO_REUSEADDR as servers set it, so a port whose old connections sit in TIME_WAIT counts as free.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def ephemeral_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_open(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on the port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class PortAllocator:
    """Hands out one port per key, never the same twice in a run; a preferred port in use picks another."""

    def __init__(self, preferred: dict[str, int] | None = None) -> None:
        self.preferred = dict(preferred or {})
        self.given: dict[str, int] = {}
        self.moved: dict[str, tuple[int, int]] = {}  # key -> (preferred port in use, port chosen)
        self._lock = threading.RLock()  # components of one stage ask from several threads

    def __call__(self, key: str) -> int:
        with self._lock:
            return self._allocate(key)

    def _allocate(self, key: str) -> int:
        if key in self.given:
            return self.given[key]
        taken = set(self.given.values())
        want = self.preferred.get(key)
        if want is not None and want not in taken and port_is_free(want):
            port = want
        else:
            port = ephemeral_port()
            while port in taken:
                port = ephemeral_port()
            if want is not None:
                self.moved[key] = (want, port)
        self.given[key] = port
        return port

    def pair(self, key: str, offset: int) -> int:
        """A port P with P + offset free too (for servers that derive a second port from the first)."""
        with self._lock:
            return self._pair(key, offset)

    def _pair(self, key: str, offset: int) -> int:
        port = self(key)
        while (
            port + offset > 65535 or not port_is_free(port + offset) or port + offset in self.given.values()
        ):
            self.given.pop(key)
            self.preferred.pop(key, None)
            port = self(key)
        self.given[f"{key}+{offset}"] = port + offset
        return port

    @classmethod
    def load(cls, path: Path) -> PortAllocator:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        if not isinstance(data, dict):
            return cls()
        return cls({str(k): int(v) for k, v in data.items() if isinstance(v, int)})

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({**self.preferred, **self.given}, indent=2, sort_keys=True) + "\n")

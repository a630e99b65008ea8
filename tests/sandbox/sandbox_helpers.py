"""Small helpers of the sandbox tests: polling, TLS clients, PostgreSQL and Redis access by secret file."""

from __future__ import annotations

import json
import ssl
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

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


def secret(path: str | Path) -> str:
    return Path(path).read_text().strip()

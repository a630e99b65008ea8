"""The sandbox's Alertmanager webhook receiver: records every notification it gets, for people and tests.

`POST /alerts` is the runbook receiver's address and needs the bearer token (as `sre serve` does);
`POST /notify/<receiver>` stands for the chat and pager bridges and takes anything. `GET
/notifications` lists what arrived (path, receiver, status, alert names, whether the token matched),
never the token itself. Loopback only, bounded: bodies over 1 MiB are refused, the list keeps the
last 1000.

    python -m sre.sandbox.webhook --listen 127.0.0.1:PORT --token-file FILE
"""

from __future__ import annotations

import argparse
import hmac
import json
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

from aiohttp import web

MAX_BODY = 1 << 20
KEEP = 1000


class Receiver:
    def __init__(self, token: str) -> None:
        self.token = token
        self.seen: deque[dict[str, Any]] = deque(maxlen=KEEP)

    def _authorized(self, request: web.Request) -> bool:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode())

    async def receive(self, request: web.Request) -> web.Response:
        authorized = self._authorized(request)
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return web.Response(status=400, text="expected an Alertmanager webhook notification (JSON)\n")
        if not isinstance(body, dict):
            return web.Response(status=400, text="expected a JSON object\n")
        found = body.get("alerts")
        alerts: list[Any] = found if isinstance(found, list) else []
        self.seen.append(
            {
                "received_at": time.time(),
                "path": request.path,
                "authorized": authorized,
                "receiver": body.get("receiver"),
                "status": body.get("status"),
                "alerts": [
                    {"status": a.get("status"), "labels": a.get("labels", {})}
                    for a in alerts
                    if isinstance(a, dict)
                ],
            }
        )
        if request.path == "/alerts" and not authorized:
            return web.Response(status=401, text="a bearer token is required\n")
        return web.Response(text="ok\n")

    async def notifications(self, request: web.Request) -> web.Response:
        return web.json_response(list(self.seen))

    async def health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post("/alerts", self.receive)
        app.router.add_post("/notify/{receiver}", self.receive)
        app.router.add_get("/notifications", self.notifications)
        app.router.add_get("/healthz", self.health)
        return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sre.sandbox.webhook")
    parser.add_argument("--listen", required=True, help="HOST:PORT")
    parser.add_argument("--token-file", required=True, type=Path)
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    try:
        token = args.token_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        sys.exit(f"--token-file {args.token_file}: {exc.strerror}")
    web.run_app(Receiver(token).app(), host=host, port=int(port), print=None, access_log=None)


if __name__ == "__main__":
    main()

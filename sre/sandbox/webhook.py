"""The sandbox's stand-in for the chat and pager bridges: records every notification it gets.

Alertmanager's human receivers post to `POST /notify/<receiver>`, and `sre serve` tells
`/notify/sre-serve` when a run needs a human; the runbook receiver itself is `sre serve`. `GET
/notifications` lists what arrived (path, receiver, status, alert names and labels). Loopback only,
bounded: bodies over 1 MiB are refused, the list keeps the last 1000.

    python -m sre.sandbox.webhook --listen 127.0.0.1:PORT
"""

from __future__ import annotations

import argparse
import json
import time
from collections import deque
from typing import Any

from aiohttp import web

MAX_BODY = 1 << 20
KEEP = 1000


class Receiver:
    def __init__(self) -> None:
        self.seen: deque[dict[str, Any]] = deque(maxlen=KEEP)

    async def receive(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return web.Response(status=400, text="expected a JSON notification\n")
        if not isinstance(body, dict):
            return web.Response(status=400, text="expected a JSON object\n")
        found = body.get("alerts")
        alerts: list[Any] = found if isinstance(found, list) else []
        self.seen.append(
            {
                "received_at": time.time(),
                "path": request.path,
                "receiver": body.get("receiver"),
                "status": body.get("status"),
                "alerts": [
                    {"status": a.get("status"), "labels": a.get("labels", {})}
                    for a in alerts
                    if isinstance(a, dict)
                ],
            }
        )
        return web.Response(text="ok\n")

    async def notifications(self, request: web.Request) -> web.Response:
        return web.json_response(list(self.seen))

    async def health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post("/notify/{receiver}", self.receive)
        app.router.add_get("/notifications", self.notifications)
        app.router.add_get("/healthz", self.health)
        return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sre.sandbox.webhook")
    parser.add_argument("--listen", required=True, help="HOST:PORT")
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    web.run_app(Receiver().app(), host=host, port=int(port), print=None, access_log=None)


if __name__ == "__main__":
    main()

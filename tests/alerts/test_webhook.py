"""The sandbox's webhook receiver: /alerts needs the bearer token, bad bodies are 400, no token is kept."""

from __future__ import annotations

import asyncio
import json

from aiohttp.test_utils import TestClient, TestServer

from sre.sandbox.webhook import Receiver

TOKEN = "t0ken-for-the-test"
NOTIFICATION = {
    "version": "4",
    "receiver": "runbook-automation",
    "status": "firing",
    "alerts": [{"status": "firing", "labels": {"alertname": "ReplicaNotReady", "service": "redis"}}],
}


def test_the_runbook_path_needs_the_token_and_nothing_keeps_it() -> None:
    async def go() -> list[dict[str, object]]:
        async with TestClient(TestServer(Receiver(TOKEN).app())) as client:
            assert (await client.post("/alerts", json=NOTIFICATION)).status == 401
            wrong = {"Authorization": "Bearer nope"}
            assert (await client.post("/alerts", json=NOTIFICATION, headers=wrong)).status == 401
            right = {"Authorization": f"Bearer {TOKEN}"}
            assert (await client.post("/alerts", json=NOTIFICATION, headers=right)).status == 200
            assert (await client.post("/notify/edge-page", json=NOTIFICATION)).status == 200
            assert (await client.post("/alerts", data=b"{not json", headers=right)).status == 400
            assert (await client.post("/alerts", data=b"x" * (2 << 20), headers=right)).status == 413
            seen: list[dict[str, object]] = await (await client.get("/notifications")).json()
            return seen

    seen = asyncio.run(go())
    assert [(n["path"], n["authorized"]) for n in seen] == [
        ("/alerts", False),
        ("/alerts", False),
        ("/alerts", True),
        ("/notify/edge-page", False),
    ]
    assert seen[2]["alerts"] == [{"status": "firing", "labels": NOTIFICATION["alerts"][0]["labels"]}]  # type: ignore[index]
    assert TOKEN not in json.dumps(seen)

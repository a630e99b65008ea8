"""The sandbox's stand-in for the chat and pager bridges: records what arrives, bad bodies are 400."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient, TestServer

from sre.sandbox.webhook import Receiver

NOTIFICATION = {
    "version": "4",
    "receiver": "platform-page",
    "status": "firing",
    "alerts": [{"status": "firing", "labels": {"alertname": "ReplicaNotReady", "service": "redis"}}],
}


def test_it_records_notifications_and_refuses_what_is_not_one() -> None:
    async def go() -> list[dict[str, object]]:
        async with TestClient(TestServer(Receiver().app())) as client:
            assert (await client.post("/notify/platform-page", json=NOTIFICATION)).status == 200
            assert (await client.post("/notify/platform-page", data=b"{not json")).status == 400
            assert (await client.post("/notify/platform-page", json=[1])).status == 400
            assert (await client.post("/notify/platform-page", data=b"x" * (2 << 20))).status == 413
            # The runbook receiver is `sre serve`, not this stand-in.
            assert (await client.post("/alerts", json=NOTIFICATION)).status in (404, 405)
            seen: list[dict[str, object]] = await (await client.get("/notifications")).json()
            return seen

    seen = asyncio.run(go())
    assert [(n["path"], n["receiver"], n["status"]) for n in seen] == [
        ("/notify/platform-page", "platform-page", "firing")
    ]
    assert seen[0]["alerts"] == [{"status": "firing", "labels": NOTIFICATION["alerts"][0]["labels"]}]  # type: ignore[index]

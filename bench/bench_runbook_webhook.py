"""`sre serve` POST /alerts: notifications stored per second and acknowledgement latency (p50, p99),
against a bare endpoint (same Starlette and uvicorn) that only writes the body to the same store,
in the same run. Every notification is new (its own fingerprint), so each one is a durable write.

Each server runs in its own process; rounds alternate which goes first. The real receiver also
processes what it stored in the background (these alerts match no rule, so each becomes a recorded
rejection), as it would in production. Goals on SQLite: >= 500 notifications/s, p99 < 50 ms, and
>= 0.8x the bare endpoint's rate.

    python bench/bench_runbook_webhook.py [--requests 2000] [--concurrency 16] [--rounds 3] [--store URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TOKEN = "bench-token-0123456789abcdef"
GOALS = {"rate": 500.0, "p99_ms": 50.0, "ratio": 0.8}


def notification(i: int, tag: str) -> bytes:
    fp = f"{abs(hash((tag, i))) & ((1 << 64) - 1):016x}"
    return json.dumps(
        {
            "version": "4",
            "groupKey": f'{{}}:{{alertname="BenchAlert", n="{i}"}}',
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "sre",
            "groupLabels": {"alertname": "BenchAlert"},
            "commonLabels": {"alertname": "BenchAlert"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "alerts": [
                {
                    "status": "firing",
                    "labels": {
                        "alertname": "BenchAlert",
                        "service": "db_postgres",
                        "tier": "primary",
                        "n": str(i),
                    },
                    "annotations": {"summary": "bench"},
                    "startsAt": "2026-12-01T10:15:30.123Z",
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://prometheus/graph",
                    "fingerprint": fp,
                }
            ],
        }
    ).encode()


def bare_child(port: int, store: str) -> None:
    import uvicorn

    from sre.runbooks.db import open_database
    from sre.runbooks.store import Store
    from sre.server.app import build_bare_app

    class _Engine:  # the bare endpoint needs only the store
        def __init__(self) -> None:
            self.store = Store(open_database(store, Path(store)))

    app = build_bare_app(_Engine())  # type: ignore[arg-type]
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(side: str, store: str, folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    if side == "bare":
        argv = [sys.executable, __file__, "--bare-child", str(port), store]
    else:
        argv = [
            str(Path(sys.executable).parent / "sre"), "serve", "--listen", f"127.0.0.1:{port}",
            "--store", store, "--token-file", str(folder / "token"),
            "--platform", str(ROOT / "platform.yaml"),
        ]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=(folder / f"{side}.log").open("ab"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/alerts", data=b"{}", timeout=1)
        except urllib.error.HTTPError:
            return proc, port  # it answers (400 or 401): up
        except OSError:
            time.sleep(0.1)
            continue
        return proc, port
    proc.kill()
    raise SystemExit(f"{side} did not start; see {folder / (side + '.log')}")


async def drive(port: int, bodies: list[bytes], concurrency: int) -> dict[str, float]:
    import aiohttp

    latencies: list[float] = []
    failures = 0
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    headers = {"authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
    url = f"http://127.0.0.1:{port}/alerts"

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal failures
        while not queue.empty():
            body = queue.get_nowait()
            begin = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    failures += 1
            latencies.append(time.perf_counter() - begin)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        begin = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        wall = time.perf_counter() - begin
    latencies.sort()
    return {
        "rate": len(bodies) / wall,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "failures": failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--store", default=None, help="postgresql://... (default: a SQLite file)")
    parser.add_argument("--bare-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_child:
        bare_child(int(args.bare_child[0]), args.bare_child[1])
        return
    runs: dict[str, list[dict[str, float]]] = {"sre": [], "bare": []}
    with tempfile.TemporaryDirectory(prefix="bench-webhook-") as tmp:
        folder = Path(tmp)
        (folder / "token").write_text(TOKEN)
        os.chmod(folder / "token", 0o600)
        store = args.store or str(folder / "store.db")
        for i in range(args.rounds):
            for side in ("sre", "bare") if i % 2 == 0 else ("bare", "sre"):
                proc, port = start(side, store, folder)
                try:
                    bodies = [notification(n, f"{side}-{i}") for n in range(args.requests)]
                    result = asyncio.run(drive(port, bodies, args.concurrency))
                finally:
                    proc.terminate()
                    proc.wait(15)
                if result["failures"]:
                    sys.exit(f"{side}: {result['failures']:.0f} requests failed; see {folder}/{side}.log")
                runs[side].append(result)
                print(
                    f"  round {i + 1} {side:4} {result['rate']:7.0f} notifications/s"
                    f"  p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms"
                )
    med = {
        side: {k: statistics.median(r[k] for r in rs) for k in ("rate", "p50_ms", "p99_ms")}
        for side, rs in runs.items()
    }
    kind = "PostgreSQL" if args.store else "SQLite (WAL, synchronous=FULL)"
    print(
        f"{args.requests} notifications at concurrency {args.concurrency}, {kind}, "
        f"median of {args.rounds} rounds"
    )
    for side, label in (("sre", "sre serve POST /alerts"), ("bare", "bare endpoint (store only)")):
        m = med[side]
        print(f"  {label:28} {m['rate']:7.0f}/s  p50 {m['p50_ms']:6.1f} ms  p99 {m['p99_ms']:6.1f} ms")
    ratio = med["sre"]["rate"] / med["bare"]["rate"]
    checks = [
        f"rate >= {GOALS['rate']:.0f}/s: {'met' if med['sre']['rate'] >= GOALS['rate'] else 'NOT met'}",
        f"p99 < {GOALS['p99_ms']:.0f} ms: {'met' if med['sre']['p99_ms'] < GOALS['p99_ms'] else 'NOT met'}",
        f"ratio {ratio:.2f}x >= {GOALS['ratio']}x: {'met' if ratio >= GOALS['ratio'] else 'NOT met'}",
    ]
    print("  goals: " + "; ".join(checks))


if __name__ == "__main__":
    main()

"""A synthetic platform of 10,000 targets (3,334 services x 3 DC tiers, HTTP and TCP) against local
nginx: `sre probe --all` end to end (interpreter start, platform load, planning, probing, JSON out).

Baseline in the same run: a bare asyncio loop making the same 10,000 connections (and GETs)
at the same concurrency, with no engine around it. Goals: under 30 s and under 300 MiB.

    python bench/bench_probe_10k.py [--services 3334] [--concurrency 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOAL_SECONDS, GOAL_MIB = 30.0, 300.0


def write_platform(folder: Path, services: int, http_port: int) -> Path:
    lines = [
        "version: 1",
        "platform: {name: bench}",
        "tiers:",
        "  primary: {dc: fra1, standby: active, provider: aws, region: eu-central-1}",
        "  secondary: {dc: ams1, standby: hot, provider: gcp, region: europe-west4}",
        "  tertiary: {dc: dub1, standby: cold, provider: azure, region: northeurope}",
        "zones:",
        *[f"  z{z}: {{name: Zone {z}}}" for z in range(4)],
        "services:",
    ]
    for i in range(services):
        kind = "http" if i % 2 else "tcp"
        lines.append(f"  s{i}: {{name: S{i}, zone: z{i % 4}, kind: {kind}, owner: bench, stateful: false}}")
    lines += ["environments:", "  bench:", "    endpoints:"]
    for i in range(services):
        scheme = "http" if i % 2 else "tcp"
        url = f"{scheme}://127.0.0.1:{http_port}"
        lines.append(f"      s{i}: {{primary: '{url}', secondary: '{url}', tertiary: '{url}'}}")
    path = folder / "platform.yaml"
    path.write_text("\n".join(lines) + "\n")
    (folder / "probes").mkdir()
    (folder / "probes" / "kinds.yaml").write_text("version: 1\nkinds:\n  http: {settings: {path: /}}\n")
    return path


def baseline_child(port: int, probes: int, concurrency: int) -> dict[str, float]:
    """The same connections with nothing around them: the floor for this machine."""
    request = f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()

    async def one(i: int, sem: asyncio.Semaphore) -> bool:
        async with sem:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                if i % 2:
                    writer.write(request)
                    return (await reader.read()).startswith(b"HTTP/1.1 200")
                return True
            finally:
                writer.transport.abort()

    async def go() -> int:
        sem = asyncio.Semaphore(concurrency)
        return sum(await asyncio.gather(*(one(i, sem) for i in range(probes))))

    from sre.probes import loop

    begin = time.perf_counter()
    ok = loop.run(go())
    wall = time.perf_counter() - begin
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"wall": wall, "ok": ok, "rss_mib": rss}


def timed(cmd: list[str]) -> tuple[float, float, int]:
    """Wall seconds and peak RSS (MiB) of a child process, and its exit code."""
    begin = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - begin, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=3334)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--child")
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    probes = args.services * 3
    if args.child == "baseline":
        print(json.dumps(baseline_child(args.port, probes, args.concurrency)))
        return

    sys.path.insert(0, str(HERE))
    from _servers import nginx

    with tempfile.TemporaryDirectory(prefix="sre-bench-") as tmp, nginx(Path(tmp)) as web:
        platform = write_platform(Path(tmp), args.services, web.http_port)
        out = Path(tmp) / "results.json"
        sre = [sys.executable, "-m", "sre", "probe", "--all", "--env", "bench", "--platform", str(platform)]
        sre += ["--format", "json", "--output", str(out), "--concurrency", str(args.concurrency)]
        sre += ["--timeout", "120", "--vantage", "bench"]
        wall, rss, code = timed(sre)
        results = json.loads(out.read_text())["results"]
        ok = sum(r["status"] == "ok" for r in results)
        base = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                "baseline",
                "--port",
                str(web.http_port),
                "--services",
                str(args.services),
                "--concurrency",
                str(args.concurrency),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        floor = json.loads(base.stdout)
    n = len(results)
    print(f"{n} probes ({args.services} services x 3 tiers, HTTP and TCP) at concurrency {args.concurrency}")
    print(
        f"  sre probe --all (whole command)   {wall:6.2f} s   peak RSS {rss:6.1f} MiB"
        f"   ok {ok}/{n}  exit {code}"
    )
    print(
        f"  bare asyncio, same connections    {floor['wall']:6.2f} s   peak RSS {floor['rss_mib']:6.1f} MiB"
        f"   ok {floor['ok']}/{probes}"
    )
    print(f"  ratio sre/bare: {wall / floor['wall']:.2f}x time, {rss / floor['rss_mib']:.2f}x memory")
    met = wall < GOAL_SECONDS and rss < GOAL_MIB
    print(
        f"  goals < {GOAL_SECONDS:.0f} s and < {GOAL_MIB:.0f} MiB: {'met' if met else 'NOT met'} "
        f"({wall / GOAL_SECONDS:.2f} and {rss / GOAL_MIB:.2f} of the budgets)"
    )


if __name__ == "__main__":
    main()

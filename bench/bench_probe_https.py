"""500 HTTPS probes at concurrency 50 against one local TLS 1.3 nginx: `sre`'s http check, through the
real runner, against Debian's prometheus-blackbox-exporter driven the same way, in the same run.

Each side runs in a child process of its own (so its peak memory is its own); rounds alternate
which side goes first. Goal: sre >= 1.3x blackbox_exporter's probes per second.

    python bench/bench_probe_https.py [--probes 500] [--concurrency 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOAL = 1.3


def sre_child(url: str, ca: str, probes: int, concurrency: int) -> dict[str, float]:
    from sre.platform.model import Endpoint
    from sre.probes import loop
    from sre.probes.context import RunContext
    from sre.probes.model import Expectation, Status, Target
    from sre.probes.runner import run_probes

    target = Target(
        service="bench",
        check="https",
        zone="dmz",
        tier="primary",
        dc="local",
        endpoint=Endpoint(url=url, ca_file=ca),
        expect=Expectation(standby="active"),
        settings={"path": "/healthz", "valid_status_codes": [200]},
        timeout=10,
    )
    run = RunContext(vantage="bench", tls_min_version="1.3")
    cpu = time.process_time()
    begin = time.perf_counter()
    results = loop.run(run_probes([target] * probes, run, concurrency=concurrency, budget=120))
    wall = time.perf_counter() - begin
    cpu = time.process_time() - cpu
    ok = sum(r.status is Status.ok and r.facts.get("tls_version") == "1.3" for r in results)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"wall": wall, "rate": probes / wall, "ok": ok, "rss_mib": rss, "cpu_ms": cpu * 1000 / probes}


def blackbox_child(port: int, url: str, probes: int, concurrency: int) -> dict[str, float]:
    import aiohttp

    probe = f"http://127.0.0.1:{port}/probe"
    params = {"target": url, "module": "https_tls13"}

    async def go() -> tuple[float, int]:
        ok = 0
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
            sem = asyncio.Semaphore(concurrency)

            async def one() -> None:
                nonlocal ok
                async with sem, session.get(probe, params=params) as resp:
                    text = await resp.text()
                    ok += (
                        "\nprobe_success 1\n" in text
                        and 'probe_tls_version_info{version="TLS 1.3"} 1' in text
                    )

            begin = time.perf_counter()
            await asyncio.gather(*(one() for _ in range(probes)))
            return time.perf_counter() - begin, ok

    wall, ok = asyncio.run(go())
    return {"wall": wall, "rate": probes / wall, "ok": ok}


def _child(*args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=["sre", "blackbox"])
    parser.add_argument("--url")
    parser.add_argument("--ca")
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    if args.child == "sre":
        print(json.dumps(sre_child(args.url, args.ca, args.probes, args.concurrency)))
        return
    if args.child == "blackbox":
        print(json.dumps(blackbox_child(args.port, args.url, args.probes, args.concurrency)))
        return

    sys.path.insert(0, str(HERE))
    from _servers import blackbox, cpu_seconds, nginx, peak_rss_mib

    with tempfile.TemporaryDirectory(prefix="sre-bench-") as tmp, nginx(Path(tmp)) as web:
        url = f"https://localhost:{web.tls_port}/healthz"
        with blackbox(Path(tmp), web.pki.ca_file) as (port, bb_pid):
            common = ["--url", url, "--probes", str(args.probes), "--concurrency", str(args.concurrency)]
            sre_runs: list[dict[str, float]] = []
            bb_runs: list[dict[str, float]] = []
            for i in range(args.rounds):
                order = [("sre", ["--ca", str(web.pki.ca_file)]), ("blackbox", ["--port", str(port)])]
                for side, extra in order if i % 2 == 0 else order[::-1]:
                    cpu = cpu_seconds(bb_pid)
                    run = _child("--child", side, *common, *extra)
                    if side == "blackbox":  # the exporter's own CPU, as for sre's prober process
                        run["cpu_ms"] = (cpu_seconds(bb_pid) - cpu) * 1000 / args.probes
                    (sre_runs if side == "sre" else bb_runs).append(run)
                    print(
                        f"  round {i + 1} {side:8} {run['rate']:7.0f} probes/s"
                        f"  {run['cpu_ms']:.2f} ms CPU/probe  ok {run['ok']:.0f}/{args.probes}"
                    )
            bb_rss = peak_rss_mib(bb_pid)
    for name, runs in (("sre", sre_runs), ("blackbox", bb_runs)):
        if any(r["ok"] != args.probes for r in runs):
            sys.exit(f"{name}: not every probe passed over TLS 1.3; the numbers would mean nothing")
    sre_rate = statistics.median(r["rate"] for r in sre_runs)
    bb_rate = statistics.median(r["rate"] for r in bb_runs)
    sre_rss = max(r["rss_mib"] for r in sre_runs)
    sre_cpu = statistics.median(r["cpu_ms"] for r in sre_runs)
    bb_cpu = statistics.median(r["cpu_ms"] for r in bb_runs)
    ratio = sre_rate / bb_rate
    print(
        f"{args.probes} HTTPS probes (TLS 1.3, new connection each) at concurrency {args.concurrency}, "
        f"median of {args.rounds} rounds"
    )
    print(
        f"  sre probe (http check, runner)   {sre_rate:7.0f} probes/s  {sre_cpu:5.2f} ms CPU/probe"
        f"  peak RSS {sre_rss:6.1f} MiB (whole process)"
    )
    print(
        f"  blackbox_exporter 0.23 (Debian)  {bb_rate:7.0f} probes/s  {bb_cpu:5.2f} ms CPU/probe"
        f"  peak RSS {bb_rss:6.1f} MiB (exporter)"
    )
    verdict = "met" if ratio >= GOAL else "NOT met"
    print(
        f"  ratio sre/blackbox: {ratio:.2f}x probes/s (goal >= {GOAL}x: {verdict}), "
        f"{bb_cpu / sre_cpu:.2f}x less CPU per probe"
    )


if __name__ == "__main__":
    main()

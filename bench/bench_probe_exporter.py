"""`sre probe serve --config.file blackbox.yml` against blackbox_exporter 0.23 (Debian), each as an exporter.

One TLS 1.3 nginx target on loopback (P-256 certificate); both exporters read the same blackbox.yml;
the same load generator (wrk, Debian) at concurrency 50 for 8 s against `/probe?target=...&module=...`
of each, alternated A B A B, three rounds, medians. Every probe is a new connection and a full TLS
handshake on both sides. Reported: probes per second, exporter CPU per probe, exporter peak RSS.
Goal: >= 1.3x the rate, <= blackbox's CPU per probe, <= 1.5x its peak RSS.

    python bench/bench_probe_exporter.py [--seconds 8] [--concurrency 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
RATE_GOAL, RSS_GOAL = 1.3, 1.5
PROBES = """\
version: 1
exporter:
  allow: ["localhost:*", "127.0.0.1:*"]
"""


def wrk(url: str, seconds: int, concurrency: int) -> tuple[float, int, int]:
    """(requests per second, requests, non-2xx answers) from wrk."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "10s", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    done = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, done, int(bad.group(1)) if bad else 0


def check_one(url: str) -> None:
    """One probe must pass over TLS 1.3, or the numbers would mean nothing."""
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    if not re.search(r"^probe_success 1(\.0)?$", text, re.M) or 'version="TLS 1.3"' not in text:
        sys.exit(f"{url}: the probe did not pass over TLS 1.3:\n{text[:2000]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(HERE.parent / "tests" / "probes"))
    from _servers import _wait_http, blackbox, cpu_seconds, free_port, need, nginx, peak_rss_mib
    from platforms import write_platform

    need("wrk", "nginx", "prometheus-blackbox-exporter")
    with tempfile.TemporaryDirectory(prefix="sre-bench-") as tmp, nginx(Path(tmp)) as web:
        folder = Path(tmp)
        target = f"https://localhost:{web.tls_port}/healthz"
        query = urllib.parse.urlencode({"target": target, "module": "https_tls13"})
        with blackbox(folder, web.pki.ca_file) as (bb_port, bb_pid):
            platform = write_platform(folder)
            (folder / "probes" / "probes.yaml").write_text(PROBES)
            sre_port = free_port()
            sre = subprocess.Popen(
                [sys.executable, "-m", "sre", "probe", "serve", "--platform", str(platform), "--env", "test",
                 "--listen", f"127.0.0.1:{sre_port}", "--config.file", str(folder / "blackbox.yml")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                _wait_http(f"http://127.0.0.1:{sre_port}/metrics", sre)
                sides = {
                    "sre": (f"http://127.0.0.1:{sre_port}/probe?{query}", sre.pid),
                    "blackbox": (f"http://127.0.0.1:{bb_port}/probe?{query}", bb_pid),
                }
                for url, _ in sides.values():
                    check_one(url)
                runs: dict[str, list[tuple[float, float]]] = {"sre": [], "blackbox": []}
                for i in range(args.rounds):
                    order = ["sre", "blackbox"] if i % 2 == 0 else ["blackbox", "sre"]
                    for side in order:
                        url, pid = sides[side]
                        cpu = cpu_seconds(pid)
                        rate, done, bad = wrk(url, args.seconds, args.concurrency)
                        if bad:
                            sys.exit(f"{side}: {bad} answers were not 200")
                        cpu_ms = (cpu_seconds(pid) - cpu) * 1000 / max(done, 1)
                        runs[side].append((rate, cpu_ms))
                        shown = f"{rate:7.0f} probes/s  {cpu_ms:.2f} ms CPU/probe"
                        print(f"  round {i + 1} {side:8} {shown}", flush=True)
                for url, _ in sides.values():
                    check_one(url)
                rss = {side: peak_rss_mib(pid) for side, (_, pid) in sides.items()}
            finally:
                sre.terminate()
                sre.wait(timeout=10)
    rate = {side: statistics.median(r for r, _ in rows) for side, rows in runs.items()}
    cpu = {side: statistics.median(c for _, c in rows) for side, rows in runs.items()}
    print(
        f"wrk -c{args.concurrency} -d{args.seconds}s against /probe (TLS 1.3, new connection each), "
        f"median of {args.rounds} alternated rounds; the machine is shared, so the numbers are noisy"
    )
    for side, name in (
        ("sre", "sre probe serve --config.file"),
        ("blackbox", "blackbox_exporter 0.23 (Debian)"),
    ):
        print(
            f"  {name:32} {rate[side]:7.0f} probes/s  {cpu[side]:5.2f} ms CPU/probe"
            f"  peak RSS {rss[side]:6.1f} MiB"
        )
    ratio, rss_ratio = rate["sre"] / rate["blackbox"], rss["sre"] / rss["blackbox"]
    print(
        f"  ratio sre/blackbox: {ratio:.2f}x probes/s (goal >= {RATE_GOAL}x: {'met' if ratio >= RATE_GOAL else 'NOT met'}), "  # noqa: E501
        f"{cpu['sre'] / cpu['blackbox']:.2f}x CPU per probe (goal <= 1x), "
        f"{rss_ratio:.2f}x peak RSS (goal <= {RSS_GOAL}x)"
    )


if __name__ == "__main__":
    main()

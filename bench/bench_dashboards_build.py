"""Build time of every dashboard: a synthetic platform of 500 services against the seed platform.

Both builds run in this process the same way (definitions, SDK builders, JSON rendering),
so the ratio says how the build scales with the number of services.
Usage: python bench/bench_dashboards_build.py [SERVICES]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _synthetic import synthetic  # noqa: E402

from sre.grafana.build import build, render  # noqa: E402
from sre.platform.loader import load_platform  # noqa: E402
from sre.platform.model import Platform  # noqa: E402


def timed(platform: Platform, runs: int) -> tuple[float, int, int]:
    """Median seconds to build and render every dashboard; dashboards and bytes of one run."""
    times = []
    count = size = 0
    for _ in range(runs):
        start = time.perf_counter()
        built = build(platform, ROOT / "dashboards")
        size = sum(len(render(d.model)) for d in built)
        times.append(time.perf_counter() - start)
        count = len(built)
    return statistics.median(times), count, size


def main() -> None:
    services = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    seed = load_platform(ROOT / "platform.yaml")
    build(seed, ROOT / "dashboards")  # warm imports and caches for both
    base, base_n, base_bytes = timed(seed, 5)
    big, big_n, big_bytes = timed(synthetic(seed, services), 3)
    print(
        f"seed platform:      {len(seed.services):4d} services, {base_n:4d} dashboards, "
        f"{base_bytes / 1e6:6.1f} MB, {base * 1000:8.1f} ms ({base / base_n * 1000:.2f} ms per dashboard)"
    )
    print(
        f"synthetic platform: {services:4d} services, {big_n:4d} dashboards, "
        f"{big_bytes / 1e6:6.1f} MB, {big * 1000:8.1f} ms ({big / big_n * 1000:.2f} ms per dashboard)"
    )
    print(
        f"ratio: {big / base:.1f}x the seed's build time for {big_n / base_n:.1f}x the dashboards "
        f"({(big / big_n) / (base / base_n):.2f}x per dashboard)"
    )


if __name__ == "__main__":
    main()

"""A platform with many services, for benchmarks that compare it against the seed platform."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from sre.platform.model import Platform


def synthetic(seed: Platform, services: int) -> Platform:
    """`services` services cycling through the seed's (same zones, kinds, tiers, SLOs and PII)."""
    originals = list(seed.services.items())
    made = {}
    for i in range(services):
        sid, service = originals[i % len(originals)]
        made[f"{sid}_{i:04d}"] = service.model_copy(update={"name": f"{service.name} {i}"})
    return seed.model_copy(update={"services": made, "edges": [], "environments": {}})


def synthetic_file(seed_file: Path, services: int, dest: Path) -> Path:
    """The same platform as `synthetic`, written as a platform.yaml a command can read."""
    data = yaml.safe_load(seed_file.read_text(encoding="utf-8"))
    originals = list(data["services"].items())
    made = {}
    for i in range(services):
        sid, service = originals[i % len(originals)]
        made[f"{sid}_{i:04d}"] = {**service, "name": f"{service['name']} {i}"}
    data.update(services=made, edges=[], environments={})
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / "platform.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Timing:
    wall: float  # median seconds from start to exit
    cpu: float  # median user + system seconds of the process: less disturbed by a busy machine


def median_run(argv: Sequence[str], runs: int, before: object = None) -> Timing:
    """Median wall and CPU seconds of a command (a fresh process each time, as a user or CI runs it)."""
    walls, cpus = [], []
    for _ in range(runs):
        if callable(before):
            before()
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(list(argv), check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime)
    return Timing(statistics.median(walls), statistics.median(cpus))


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"

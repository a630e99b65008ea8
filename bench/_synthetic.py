"""A platform with many services, for benchmarks that compare it against the seed platform."""

from __future__ import annotations

from sre.platform.model import Platform


def synthetic(seed: Platform, services: int) -> Platform:
    """`services` services cycling through the seed's (same zones, kinds, tiers, SLOs and PII)."""
    originals = list(seed.services.items())
    made = {}
    for i in range(services):
        sid, service = originals[i % len(originals)]
        made[f"{sid}_{i:04d}"] = service.model_copy(update={"name": f"{service.name} {i}"})
    return seed.model_copy(update={"services": made, "edges": [], "environments": {}})

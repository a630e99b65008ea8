"""One probe run, from the platform file to ordered results: what `sre probe`, `sre probe serve` and
`sre serve` share. Front ends parse their input, open a session, run it and render its results.

    session = Session.planned(Selection(services=["db"]), env="prod")   # or Session.adhoc(url, kind)
    results = loop.run(session.run(concurrency=32, budget=60))          # skipped ones included, ordered
    tiers, topology = session.tiers(results), session.topology

Bad input (an unknown service, a malformed --target, an invalid vantage) is an InputError.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sre.errors import InputError
from sre.platform import DEFAULT_ENVIRONMENT
from sre.platform.model import Platform
from sre.probes.context import RunContext
from sre.probes.definitions import Definitions
from sre.probes.model import Result, Target
from sre.probes.runner import OnResult
from sre.probes.verdict import Topology

VANTAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,62}")


def vantage_name(option: str | None) -> str:
    """The vantage labels every result and goes into the X-SRE-Probe-Id header: a plain name only.

    --vantage, else $SRE_VANTAGE, else the host name (made plain).
    """
    for source, value in (("--vantage", option), ("SRE_VANTAGE", os.environ.get("SRE_VANTAGE"))):
        if value:
            if not VANTAGE.fullmatch(value):
                expected = "a name of letters, digits and . _ : - (at most 63)"
                raise InputError(f"{source}: expected {expected}; got {value[:40]!r}")
            return value
    host = socket.gethostname()
    return host if VANTAGE.fullmatch(host) else re.sub(r"[^A-Za-z0-9._:-]", "-", host)[:63] or "local"


@dataclass(frozen=True)
class Selection:
    """Which probes of the model to run; empty means every one."""

    services: Sequence[str] = ()
    tiers: Sequence[str] = ()
    zones: Sequence[str] = ()


@dataclass
class Session:
    """A planned run: the targets to probe, the probes skipped by the plan, and what judges them."""

    platform: Platform | None  # None: an ad hoc target with no platform file
    definitions: Definitions
    context: RunContext
    environment: str  # "" for an ad hoc target
    targets: list[Target] = field(default_factory=list)
    skipped: list[Result] = field(default_factory=list)

    @classmethod
    def planned(
        cls,
        selection: Selection = Selection(),
        *,
        env: str = DEFAULT_ENVIRONMENT,
        platform_file: Path | None = None,
        probes: Path | None = None,
        vantage: str | None = None,
    ) -> Session:
        """The probes of the environment's endpoints that `selection` picks."""
        from sre.platform.loader import load_environment, load_platform, resolve_platform_path
        from sre.probes.plan import make_plan

        platform = load_platform(resolve_platform_path(platform_file))
        environment = load_environment(platform, env)
        defs = _definitions(platform, probes)
        context = _context(platform, defs, vantage)
        plan = make_plan(
            platform,
            environment,
            defs,
            vantage=context.vantage,
            services=list(selection.services),
            tiers=list(selection.tiers),
            zones=list(selection.zones),
        )
        return cls(platform, defs, context, env, plan.targets, plan.skipped)

    @classmethod
    def adhoc(
        cls,
        url: str,
        kind: str | None,
        *,
        platform_file: Path | None = None,
        probes: Path | None = None,
        vantage: str | None = None,
    ) -> Session:
        """One address outside the model, probed with its kind's defaults (the platform file is optional)."""
        from sre.platform.loader import load_platform, resolve_platform_path
        from sre.probes.checks import REGISTRY
        from sre.probes.plan import adhoc_target
        from sre.probes.targets import parse_target

        if kind is None:
            raise InputError("--target needs --kind (one of: " + ", ".join(sorted(REGISTRY)) + ")")
        if kind not in REGISTRY:
            raise InputError(f"--kind: unknown check {kind!r}; expected one of {', '.join(sorted(REGISTRY))}")
        path = resolve_platform_path(platform_file)
        platform = load_platform(path) if path.exists() else None
        defs = _loose_definitions(path, probes, platform)
        try:
            parsed = parse_target(url, kind, remote=False)
            target = adhoc_target(parsed if isinstance(parsed, str) else parsed.url, defs.for_kind(kind))
        except ValueError as exc:
            raise InputError(f"--target: {exc}") from None
        return cls(platform, defs, _context(platform, defs, vantage), "", [target])

    @classmethod
    def unmodelled(
        cls, platform_path: Path, *, probes: Path | None = None, vantage: str | None = None
    ) -> Session:
        """No platform file: no model endpoints, only what probes/ (beside where the platform file would
        be) says, if it is there. What `sre probe serve --config.file` stands on for a blackbox user."""
        defs = _loose_definitions(platform_path, probes, None)
        return cls(None, defs, _context(None, defs, vantage), "", [])

    async def run(
        self, *, concurrency: int = 32, budget: float = 60.0, on_result: OnResult | None = None
    ) -> list[Result]:
        """Probe the targets; every result, the plan's skipped ones too, in the model's order."""
        from sre.probes.runner import run_probes

        results = await run_probes(
            self.targets, self.context, concurrency=concurrency, budget=budget, on_result=on_result
        )
        return self.ordered([*results, *self.skipped])

    def ordered(self, results: list[Result]) -> list[Result]:
        """By tier, then service, as platform.yaml lists them (as given without a platform)."""
        if self.platform is None:
            return results
        tiers = {t: i for i, t in enumerate(self.platform.tiers)}
        services = {s: i for i, s in enumerate(self.platform.services)}
        return sorted(
            results, key=lambda r: (tiers.get(r.tier, len(tiers)), services.get(r.service, len(services)))
        )

    def tiers(self, results: Sequence[Result]) -> list[str]:
        """The model's tiers, then any other tier the results name (an ad hoc target's)."""
        tiers = list(self.platform.tiers) if self.platform else []
        return tiers + [t for t in dict.fromkeys(r.tier for r in results) if t not in tiers]

    @property
    def zones(self) -> list[str]:
        return list(self.platform.zones) if self.platform else []

    @property
    def topology(self) -> Topology | None:
        return Topology.of(self.platform) if self.platform else None


def _loose_definitions(path: Path, probes: Path | None, platform: Platform | None) -> Definitions:
    """probes/ beside a platform file that may not exist (or --probes); none when there is no folder."""
    from sre.probes.definitions import DEFAULT_DIR, load_definitions

    folder = probes if probes is not None else path.parent / DEFAULT_DIR
    return load_definitions(folder, platform) if folder.is_dir() else Definitions()


def _definitions(platform: Platform, probes: Path | None) -> Definitions:
    from sre.probes.definitions import definitions_dir, load_definitions

    return load_definitions(definitions_dir(platform.source, probes), platform)


def _context(platform: Platform | None, defs: Definitions, vantage: str | None) -> RunContext:
    return RunContext(
        vantage=vantage_name(vantage),
        tls_min_version=platform.policies.tls.min_version if platform else "1.3",
        cert_warn_seconds=defs.policy.cert_warn,
    )

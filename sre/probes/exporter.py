"""`sre probe serve`: a blackbox_exporter-compatible exporter, `/probe?target=&module=` and `/metrics`.

Prometheus in each zone scrapes it with the usual relabelling. It is not an
open proxy: a module must be a kind defined in probes/, and a target must be
one of the environment's endpoints or match the `exporter.allow` patterns.
A target that is a model endpoint is probed with its service's definition
(conditions, tier expectation); any other allowed target with the module's defaults.
"""

from __future__ import annotations

import asyncio
import fnmatch
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiohttp import web
from prometheus_client import REGISTRY, CollectorRegistry, Counter, generate_latest

from sre.probes import runner
from sre.probes.context import RunContext
from sre.probes.definitions import Definitions
from sre.probes.model import Target
from sre.probes.output import prometheus
from sre.probes.plan import adhoc_target
from sre.probes.sd import Discovery

SCRAPE_TIMEOUT_HEADER = "X-Prometheus-Scrape-Timeout-Seconds"
TIMEOUT_OFFSET = 0.5  # finish before Prometheus gives up, as blackbox_exporter does
DEFAULT_SCRAPE_TIMEOUT = 120.0
TEXT = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class Exporter:
    defs: Definitions
    run: RunContext
    known: dict[tuple[str, str], Target] = field(default_factory=dict)  # (module, target) -> model target
    registry: CollectorRegistry = field(default_factory=lambda: REGISTRY)
    discovery: Discovery | None = None  # GET /sd: the model's endpoints for Prometheus

    def __post_init__(self) -> None:
        self.requests = Counter(
            "sre_probe_requests",
            "Probe requests answered, by module and outcome",
            ["module", "outcome"],
            registry=self.registry,
        )

    def add_targets(self, targets: list[Target]) -> None:
        for t in targets:
            for name in _names(t.endpoint.url):
                self.known.setdefault((t.check, name), t)

    def resolve(self, module: str, target: str) -> Target | str:
        """The Target to probe, or why the request is refused."""
        if module not in self.defs.modules:
            return (
                f"unknown module {module!r}; this exporter serves: {', '.join(self.defs.modules) or 'none'}"
            )
        found = self.known.get((module, target))
        if found is not None:
            return found
        if not any(
            fnmatch.fnmatchcase(name, pattern)
            for name in _names(target)
            for pattern in self.defs.exporter.allow
        ):
            return (
                f"target {target!r} is neither an endpoint of the environment nor allowed by exporter.allow"
            )
        try:
            return adhoc_target(target, self.defs.for_kind(module))
        except ValueError as exc:
            return f"target {exc}"

    async def handle_probe(self, request: web.Request) -> web.Response:
        target = request.query.get("target", "")
        module = request.query.get("module", "")
        if not target or not module:
            self.requests.labels(module or "-", "bad_request").inc()
            return web.Response(status=400, text="give both target and module parameters\n")
        found = self.resolve(module, target)
        if isinstance(found, str):
            self.requests.labels(module if module in self.defs.modules else "-", "refused").inc()
            return web.Response(status=403 if "allowed" in found else 400, text=found + "\n")
        budget = _scrape_timeout(request.headers.get(SCRAPE_TIMEOUT_HEADER)) - TIMEOUT_OFFSET
        deadline = asyncio.get_running_loop().time() + max(budget, 0.1)
        result = await runner.probe(found, self.run, deadline)
        self.requests.labels(module, "success" if result.passed else "failure").inc()
        return web.Response(
            body=prometheus.render([result], labelled=False).encode(),
            content_type=None,
            headers={"Content-Type": TEXT},
        )

    async def handle_metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(self.registry), headers={"Content-Type": TEXT})

    async def handle_index(self, request: web.Request) -> web.Response:
        modules = ", ".join(self.defs.modules)
        return web.Response(
            text=f"sre probe exporter\nmodules: {modules}\n/probe?target=...&module=...\n/metrics\n"
        )

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self.handle_index)
        app.router.add_get("/probe", self.handle_probe)
        app.router.add_get("/metrics", self.handle_metrics)
        if self.discovery is not None:
            self.discovery.mount(app)
        return app


def _names(target: str) -> list[str]:
    """The forms a target may be given in: the URL as written, host:port and host."""
    parts = urlsplit(target if "://" in target else f"tcp://{target}")
    names = [target]
    if parts.hostname:
        try:
            port = parts.port
        except ValueError:
            port = None
        if port is not None:
            names.append(f"{parts.hostname}:{port}")
        names.append(parts.hostname)
    return names


def _scrape_timeout(header: str | None) -> float:
    try:
        return float(header) if header else DEFAULT_SCRAPE_TIMEOUT
    except ValueError:
        return DEFAULT_SCRAPE_TIMEOUT

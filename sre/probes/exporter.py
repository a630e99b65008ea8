"""`sre probe serve`: a blackbox_exporter-compatible exporter, `/probe?target=&module=` and `/metrics`.

Prometheus in each zone scrapes it with the usual relabelling. It is not an
open proxy: a module must be a kind defined in probes/, and a target must be
one of the environment's endpoints or, parsed by `sre.probes.targets`, match
an `exporter.allow` pattern; the probe goes to the URL rebuilt from what was
matched, never to the text as given.
A target that is a model endpoint is probed with its service's definition
(conditions, tier expectation); any other allowed target with the module's defaults.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import platform
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, generate_latest

from sre.errors import InputError
from sre.probes import memory, runner
from sre.probes.context import RunContext
from sre.probes.definitions import Definitions
from sre.probes.httpserver import HttpServer, Reply, Request
from sre.probes.httpserver import log as httpserver_log
from sre.probes.model import Target
from sre.probes.output import prometheus
from sre.probes.plan import adhoc_target
from sre.probes.sd import PATH, Discovery, groups
from sre.probes.session import Session
from sre.probes.targets import AllowPattern, ParsedTarget, TargetError, parse_target
from sre.scrub import patterns

if TYPE_CHECKING:
    from sre.probes.blackbox.modules import Served

SCRAPE_TIMEOUT_HEADER = "x-prometheus-scrape-timeout-seconds"  # as the server gives names
TIMEOUT_OFFSET = 0.5  # finish before Prometheus gives up, as blackbox_exporter does
DEFAULT_SCRAPE_TIMEOUT = 120.0
TEXT = "text/plain; version=0.0.4; charset=utf-8"
VERDICT_LIMIT, VERDICT_TEXT = 256, 512  # allow answers remembered, and the longest target remembered
UNKNOWN = "-"  # the module label of a request for a module this exporter does not serve


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request is not probed, and the HTTP status that says so."""

    status: int
    message: str


@dataclass
class Exporter:
    defs: Definitions
    run: RunContext
    known: dict[tuple[str, str], Target] = field(default_factory=dict)  # (module, target) -> model target
    registry: CollectorRegistry = field(default_factory=lambda: REGISTRY)
    discovery: Discovery | None = None  # GET /sd: the model's endpoints for Prometheus
    # blackbox_exporter's modules (its standard ones, or --config.file's) beside the kinds of probes/.
    blackbox: dict[str, Served] | None = None
    _meta: bool = False
    _names: set[str] = field(default_factory=set)
    _names_of: int = -1  # len(known) when _names was made
    # (module, target text) -> allowed()'s answer: Prometheus asks for the same targets again and
    # again. Emptied when the endpoints or the modules change, and when full.
    _verdicts: dict[tuple[str, str], str | None] = field(default_factory=dict)
    unknown_modules: Counter | None = None
    # Builds the blackbox modules again from their file (SIGHUP, POST /-/reload); raises InputError.
    reloader: Callable[[], dict[str, Served]] | None = None
    _reloaded: tuple[Gauge, Gauge] | None = None

    def __post_init__(self) -> None:
        # Labels come from fixed sets only (modules served, four outcomes): junk requests add no series.
        self.requests = Counter(
            "sre_probe_requests",
            "Probe requests answered, by module and outcome",
            ["module", "outcome"],
            registry=self.registry,
        )
        self.allow = [AllowPattern.parse(p) for p in self.defs.exporter.allow]
        if self.blackbox is not None:
            self.meta_series()

    def meta_series(self) -> None:
        """blackbox_exporter's own series, once blackbox modules are served."""
        if not self._meta:
            self._reloaded = _meta_series(self.registry)
            self.unknown_modules = Counter(
                "blackbox_module_unknown",
                "Count of unknown modules requested by probes",
                registry=self.registry,
            )
            self._meta = True

    @property
    def modules(self) -> list[str]:
        """blackbox modules first: a module of --config.file named like a kind of probes/ wins."""
        blackbox = self.blackbox or {}
        return [*blackbox, *(m for m in self.defs.modules if m not in blackbox)]

    def _model_names(self) -> set[str]:
        # Kept with `known` (the endpoints are set at start), not rebuilt per request.
        if self._names_of != len(self.known):
            self._names = {name for _, name in self.known}
            self._names_of = len(self.known)
            self._verdicts.clear()
        return self._names

    def allowed(self, parsed: ParsedTarget, text: str) -> str | None:
        """Why a blackbox module may not probe this target (None: it may)."""
        names = self._model_names()
        if text in names or parsed.authority in names or parsed.url in names:
            return None
        if any(pattern.matches(parsed) for pattern in self.allow):
            return None
        return (
            f"target {parsed.url!r} is neither an endpoint of the environment nor allowed by exporter.allow"
        )

    def _allowed_once(self, module: str, parsed: ParsedTarget, text: str) -> str | None:
        key = (module, text)
        if key in self._verdicts and self._names_of == len(self.known):
            return self._verdicts[key]
        verdict = self.allowed(parsed, text)
        if len(text) <= VERDICT_TEXT:
            if len(self._verdicts) >= VERDICT_LIMIT:
                self._verdicts.clear()
            self._verdicts[key] = verdict
        return verdict

    def _redirect_allowed(self, url: str) -> str | None:
        try:
            parsed = parse_target(url, "http", remote=True)
        except TargetError as exc:
            return str(exc)
        assert not isinstance(parsed, str)
        return self.allowed(parsed, url)

    @classmethod
    def for_session(cls, session: Session) -> Exporter:
        """An exporter for the session's modules that knows its targets (and, with a platform, serves /sd)."""
        exporter = cls(session.definitions, session.context)
        exporter.add_targets(session.targets)
        if session.platform is not None:
            exporter.discovery = Discovery(groups(session.platform, session.targets, session.context.vantage))
        return exporter

    def add_targets(self, targets: list[Target]) -> None:
        for t in targets:
            for name in _names(t.endpoint.url):
                self.known.setdefault((t.check, name), t)

    def resolve(self, module: str, target: str) -> Target | Refusal:
        """The Target to probe, or why the request is refused."""
        if module not in self.defs.modules:
            served = ", ".join(self.modules) or "none"
            return Refusal(400, f"unknown module {module[:64]!r}; this exporter serves: {served}")
        found = self.known.get((module, target))
        if found is not None:
            return found
        try:
            parsed = parse_target(target, module, remote=True)
        except TargetError as exc:
            return Refusal(400, f"target: {exc}")
        assert not isinstance(parsed, str)  # remote: local schemes are refused above
        if not any(pattern.matches(parsed) for pattern in self.allow):
            why = "is neither an endpoint of the environment nor allowed by exporter.allow"
            return Refusal(403, f"target {parsed.url!r} {why}")
        try:
            return adhoc_target(parsed.url, self.defs.for_kind(module))
        except ValueError as exc:
            return Refusal(400, f"target {exc}")

    async def handle_probe(self, request: Request) -> Reply:
        target = request.query.get("target", "")
        module = request.query.get("module", "")
        if self.blackbox is not None and module in self.blackbox:
            return await self.handle_blackbox(request, self.blackbox, target, module)
        label = module if module in self.defs.modules else UNKNOWN
        if label == UNKNOWN and self.unknown_modules is not None:
            self.unknown_modules.inc()
        if not target or not module:
            self.requests.labels(label, "bad_request").inc()
            return Reply.text("give both target and module parameters\n", 400)
        found = self.resolve(module, target)
        if isinstance(found, Refusal):
            self.requests.labels(label, "refused").inc()
            return Reply.text(found.message + "\n", found.status)
        budget = _scrape_timeout(request.headers.get(SCRAPE_TIMEOUT_HEADER)) - TIMEOUT_OFFSET
        deadline = asyncio.get_running_loop().time() + max(budget, 0.1)
        result = await runner.probe(found, self.run, deadline)
        self.requests.labels(module, "success" if result.passed else "failure").inc()
        return Reply(200, prometheus.render([result], labelled=False).encode(), TEXT)

    async def handle_blackbox(
        self, request: Request, served: dict[str, Served], target: str, module: str
    ) -> Reply:
        from sre.probes.blackbox import render

        found = served.get(module)
        label = module if found is not None else UNKNOWN
        if not target or not module:
            self.requests.labels(label, "bad_request").inc()
            return Reply.text("give both target and module parameters\n", 400)
        if found is None:
            self.requests.labels(label, "refused").inc()
            names = ", ".join(served)
            return Reply.text(f"unknown module {module[:64]!r}; this exporter serves: {names}\n", 400)
        try:
            parsed, probe_target = found.target(target, self._redirect_allowed)
        except TargetError as exc:
            self.requests.labels(label, "refused").inc()
            return Reply.text(f"target: {exc}\n", 400)
        refused = self._allowed_once(module, parsed, target)
        if refused is not None:
            self.requests.labels(label, "refused").inc()
            return Reply.text(refused + "\n", 403)
        model = self._model_names()
        run = found.model if target in model or parsed.authority in model else found.adhoc
        budget = max(_scrape_timeout(request.headers.get(SCRAPE_TIMEOUT_HEADER)) - TIMEOUT_OFFSET, 0.1)
        timeout = min(found.module.timeout, budget) if found.module.timeout > 0 else budget
        deadline = asyncio.get_running_loop().time() + timeout
        result = await runner.probe(probe_target, run, deadline)
        self.requests.labels(module, "success" if result.passed else "failure").inc()
        text = render.render(found.module.prober, result, timeout)
        if request.query.get("debug", "").lower() == "true":
            text = render.debug(found.module, result, text, run.scrubber.text)
        return Reply(200, text.encode(), TEXT)

    def reload(self) -> str | None:
        """Read the module file again, as blackbox does on SIGHUP or POST /-/reload. A file that does
        not load keeps the modules served so far; the error is returned and
        blackbox_exporter_config_last_reload_successful says 0 until a reload succeeds."""
        if self.reloader is None:
            return None
        try:
            served = self.reloader()
        except InputError as exc:
            if self._reloaded is not None:
                self._reloaded[0].set(0)
            return str(exc)
        self.blackbox = served
        self._verdicts.clear()
        if self._reloaded is not None:
            self._reloaded[0].set(1)
            self._reloaded[1].set(time.time())
        return None

    async def handle_reload(self, request: Request) -> Reply:
        if request.method != "POST":
            return Reply.text("This endpoint requires a POST request.\n", 405)
        error = self.reload()
        if error is not None:
            return Reply.text(f"failed to reload config: {error}\n", 500)
        return Reply.text("reloaded\n")

    async def handle_metrics(self, request: Request) -> Reply:
        return Reply(200, generate_latest(self.registry), TEXT)

    async def handle_index(self, request: Request) -> Reply:
        modules = ", ".join(self.modules)
        return Reply.text(f"sre probe exporter\nmodules: {modules}\n/probe?target=...&module=...\n/metrics\n")

    async def handle_sd(self, request: Request) -> Reply:
        assert self.discovery is not None
        return Reply(200, self.discovery.body(), "application/json; charset=utf-8")

    async def answer(self, request: Request) -> Reply:
        """The one entry of the HTTP server: a path and its methods (GET and HEAD; /-/reload any)."""
        path = request.path
        if path == "/probe" and request.method == "GET":  # what Prometheus asks all the time
            return await self.handle_probe(request)
        if path == "/-/reload":
            return await self.handle_reload(request)
        handler = {
            "/probe": self.handle_probe,
            "/metrics": self.handle_metrics,
            "/": self.handle_index,
            PATH: self.handle_sd if self.discovery is not None else None,
        }.get(path)
        if handler is None:
            return Reply.text("404: Not Found\n", 404)
        if request.method not in ("GET", "HEAD"):
            return Reply(405, b"405: Method Not Allowed\n", headers=(("Allow", "GET, HEAD"),))
        return await handler(request)

    async def start(self, host: str, port: int) -> asyncio.Server:
        """Listen on host:port (0: any free port); raises OSError when it cannot be bound."""
        return await HttpServer(self.answer).start(host, port)


async def serve(exporter: Exporter, host: str, port: int, ready: Callable[[], None]) -> None:
    """Listen, call `ready` once the port is bound (so the announcement is true), serve until
    SIGINT or SIGTERM. Raises OSError when the port cannot be bound."""
    quiet_server_errors()
    server = await exporter.start(host, port)
    try:
        # What start-up made lives as long as the process: the collector need not walk it again.
        gc.collect()
        gc.freeze()
        memory.settle()
        ready()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGHUP, _reload_logged, exporter)
        await stop.wait()
    finally:
        server.close()


class OneLine(logging.Handler):
    """The server's lines (a malformed request, a handler's bug) go to stderr one line each, at most
    `burst` lines per `window` seconds, then one line saying how many were left out."""

    def __init__(
        self, burst: int = 10, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.burst, self.window, self.clock = burst, window, clock
        self.started = -math.inf
        self.shown = self.dropped = 0
        self.write: Callable[[str], None] = _stderr

    def emit(self, record: logging.LogRecord) -> None:
        now = self.clock()
        if now - self.started >= self.window:
            if self.dropped:
                self.write(f"sre probe exporter: {self.dropped} more bad requests not logged\n")
            self.started, self.shown, self.dropped = now, 0, 0
        if self.shown >= self.burst:
            self.dropped += 1
            return
        self.shown += 1
        self.write(f"sre probe exporter: {_describe(record)}\n")


def quiet_server_errors(handler: logging.Handler | None = None) -> None:
    handler = handler or OneLine()
    logger = logging.getLogger(httpserver_log.name)
    logger.handlers = [handler]
    logger.propagate = False


def _describe(record: logging.LogRecord) -> str:
    exc = record.exc_info[1] if record.exc_info else None
    text = record.getMessage()
    if exc is not None:
        detail = " ".join(str(getattr(exc, "message", exc)).split())[:200]
        text = f"{text}: {type(exc).__name__}: {detail}"
    return patterns("".join(ch if ch.isprintable() else "?" for ch in text))


def _stderr(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


def _reload_logged(exporter: Exporter) -> None:
    error = exporter.reload()
    if error is not None:
        _stderr(f"sre probe exporter: config reload failed, the previous modules stay: {error}\n")
    elif exporter.reloader is not None:
        _stderr(f"sre probe exporter: config reloaded (modules: {', '.join(exporter.modules)})\n")


def _meta_series(registry: CollectorRegistry) -> tuple[Gauge, Gauge]:
    """blackbox_exporter's own series, so its meta-alerts (config reload failed, exporter down) have
    data; returns the two reload gauges."""
    from sre import __version__

    build = Gauge(
        "blackbox_exporter_build_info",
        "A metric with a constant '1' value labeled by version, revision, branch, and goversion",
        ["version", "revision", "branch", "goversion", "goos", "goarch"],
        registry=registry,
    )
    python = f"python{sys.version_info.major}.{sys.version_info.minor}"
    build.labels(__version__, "sre", "sre", python, sys.platform, platform.machine()).set(1)
    successful = Gauge(
        "blackbox_exporter_config_last_reload_successful",
        "Blackbox exporter config loaded successfully.",
        registry=registry,
    )
    successful.set(1)
    when = Gauge(
        "blackbox_exporter_config_last_reload_success_timestamp_seconds",
        "Timestamp of the last successful configuration reload.",
        registry=registry,
    )
    when.set(time.time())
    return successful, when


def _names(target: str) -> list[str]:
    """The forms a model endpoint may be asked for in: the URL as written, host:port and host."""
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

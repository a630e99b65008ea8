"""blackbox modules as sre targets: one SSL context and one run context per module, built once at start."""

from __future__ import annotations

import functools
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from sre.errors import InputError
from sre.platform.model import Endpoint
from sre.probes.context import RunContext
from sre.probes.model import Expectation, Target
from sre.probes.plan import ADHOC_TIER
from sre.probes.targets import ParsedTarget, TargetError, parse_target

from .checks import CHECKS, http_headers
from .config import Module, TlsConfig

TLS_MIN = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
TLS_NAMES = {"TLS10": "1.0", "TLS11": "1.1", "TLS12": "1.2", "TLS13": "1.3"}
NO_TIMEOUT = 120.0  # blackbox's bound when neither the module nor the scrape says one
# Which sre target grammar reads each prober's target (http: a URL, the others host:port).
KINDS = {"http": "http", "tcp": "tcp", "dns": "dns", "grpc": "grpc"}
MADE_LIMIT, MADE_TEXT = 256, 512  # targets remembered per module, and the longest remembered


def ssl_context(tls: TlsConfig, where: str, *, h2: bool = False) -> ssl.SSLContext:
    """The module's client context: its CA, client certificate, floor and verification, once.

    `h2`: offer HTTP/2 by ALPN before HTTP/1.1, as Go's transport does when prometheus/common's
    `enable_http2` is on (blackbox's http prober; a plain http:// target stays HTTP/1.1 there too).
    """
    try:
        context = ssl.create_default_context(cafile=tls.ca_file)
        if tls.cert_file and tls.key_file:
            context.load_cert_chain(tls.cert_file, tls.key_file)
    except (OSError, ssl.SSLError) as exc:
        raise InputError(
            f"{where}.tls_config: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}"
        ) from None
    context.minimum_version = TLS_MIN[tls.min_version] if tls.min_version else ssl.TLSVersion.TLSv1_2
    if tls.insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if h2:
        context.set_alpn_protocols(["h2", "http/1.1"])
    return context


def _deferred(tls: TlsConfig, where: str, h2: bool) -> Callable[[], ssl.SSLContext]:
    """The module's context, made at its first probe and kept: a module nobody probes holds no trust
    store (the system's roots cost about a megabyte a context). One that names files is made once now
    and dropped, so a CA or key file that cannot be read is still an error at start."""
    if tls.ca_file or tls.cert_file or tls.key_file:
        ssl_context(tls, where, h2=h2)
    return functools.cache(lambda: ssl_context(tls, where, h2=h2))


@dataclass
class Served:
    """One blackbox module, ready to probe: the module, its run contexts and its request headers."""

    name: str
    module: Module
    adhoc: RunContext  # blackbox semantics: no TLS policy beyond the module's min_version
    model: RunContext  # a model endpoint: the platform's TLS policy and certificate warning
    headers: dict[str, str] = field(default_factory=dict)
    # target text -> what target() made of it: Prometheus asks for the same few targets again and
    # again, and parsing and validating one costs a tenth of a probe. Bounded: emptied when full.
    _made: dict[str, tuple[ParsedTarget, Target]] = field(default_factory=dict, repr=False)

    def target(self, text: str, allowed: Callable[[str], str | None]) -> tuple[ParsedTarget, Target]:
        """The parsed target and the sre Target that probes it. Raises TargetError."""
        made = self._made.get(text)
        if made is None or made[1].settings["allow"] != allowed:
            made = self._make(text, allowed)
            if len(text) <= MADE_TEXT:  # any text may come here (before the allow check): stay small
                if len(self._made) >= MADE_LIMIT:
                    self._made.clear()
                self._made[text] = made
        return made

    def _make(self, text: str, allowed: Callable[[str], str | None]) -> tuple[ParsedTarget, Target]:
        prober = self.module.prober
        if prober == "dns" and "://" not in text:
            text = f"dns://{text}"
        parsed = parse_target(text, KINDS[prober], remote=True)
        assert not isinstance(parsed, str)
        if prober != "http" and (parsed.path not in ("", "/") or parsed.query):
            raise TargetError(f"a {prober} target is host:port; got a path or query in {text[:60]!r}")
        tls = self._tls()
        url = parsed.url if prober == "http" else f"{parsed.scheme}://{parsed.authority}"
        target = Target(
            service=parsed.host,
            check=CHECKS[prober][0],
            zone="-",
            tier=ADHOC_TIER,
            dc="-",
            endpoint=Endpoint(url=url, ca_file=tls.ca_file, server_name=tls.server_name),
            expect=Expectation(standby="active"),
            settings={
                "module": self.module,
                "allow": allowed,
                "headers": self.headers,
                "scrubber": self.adhoc.scrubber,
            },
            timeout=self.module.timeout or NO_TIMEOUT,
        )
        return parsed, target

    def _tls(self) -> TlsConfig:
        prober = self.module.prober
        return (
            self.module.http.tls_config
            if prober == "http"
            else getattr(self.module, prober).tls_config
            if prober in ("tcp", "grpc")
            else TlsConfig()
        )


def serve_modules(modules: dict[str, Module], run: RunContext, source: Path | None) -> dict[str, Served]:
    """Build every module once; a CA or key file that cannot be read is an error at start (a bearer
    token file is read by each probe, as blackbox reads it)."""
    out: dict[str, Served] = {}
    contexts: dict[tuple[TlsConfig, bool], Callable[[], ssl.SSLContext]] = {}  # same tls_config and ALPN: one
    for name, module in modules.items():
        where = f"{source or 'the standard modules'}: modules.{name}"
        prober = module.prober
        tls = (
            module.http.tls_config
            if prober == "http"
            else getattr(module, prober).tls_config
            if prober in ("tcp", "grpc")
            else TlsConfig()
        )
        if prober == "grpc" and (tls.cert_file or tls.insecure_skip_verify or tls.min_version):
            raise InputError(f"{where}.grpc.tls_config: sre's gRPC probe takes ca_file and server_name only")
        key = (tls, prober == "http" and module.http.enable_http2)
        context = contexts.get(key) or contexts.setdefault(key, _deferred(tls, f"{where}.{prober}", key[1]))
        floor = TLS_NAMES.get(tls.min_version or "", "1.0")
        adhoc = replace(run, tls_min_version=floor, cert_warn_seconds=0.0, ssl_preset=context, _ssl={})
        model = replace(run, ssl_preset=context, _ssl={})
        headers: dict[str, str] = {}
        if prober == "http":
            # bearer_token_file is read by each probe, as blackbox does (a rotated token is picked up)
            headers = http_headers(module.http)
            auth = module.http.basic_auth
            for value in (module.http.bearer_token, auth.password if auth else None):
                if value:
                    run.scrubber.add(value)
        out[name] = Served(name, module, adhoc, model, headers)
    return out

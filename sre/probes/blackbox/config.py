"""blackbox_exporter's module file (`--config.file blackbox.yml`), read strictly.

The http, tcp, dns and grpc probers with the options `sre probe serve` honours.
Any other key, including blackbox options sre does not implement, is an error
at start naming the file, the line, the module and the key: an option that is
silently ignored would make a probe pass that blackbox_exporter fails.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sre.errors import InputError
from sre.probes.regex import compile_regex
from sre.yamlfile import Problem, pydantic_problems, read_document

# blackbox_exporter options this implementation refuses (known, but not implemented): the error
# says so, so a reader does not hunt for a typo.
NOT_IMPLEMENTED = frozenset(
    {
        "icmp", "unix", "websocket", "body_file", "body_size_limit", "compression", "oauth2",
        "proxy_url", "no_proxy", "proxy_from_environment", "proxy_connect_header", "authorization",
        "enable_http3", "fail_if_body_json_matches_cel",
        "fail_if_body_json_not_matches_cel", "ip_protocol_fallback", "source_ip_address",
        "http_headers", "follow_redirects_limit", "max_version", "dns_over_tls", "query_class",
        "recursion_desired", "validate_authority_rrs", "validate_additional_rrs", "metadata",
        "expect_bytes", "starttls", "labels", "ca", "cert", "key", "server_name_extension",
        "password_file", "username_file", "bearer_token_file_", "cipher_suites", "curve_preferences",
    }
)  # fmt: skip
CREDENTIALS = frozenset({"bearer_token", "basic_auth", "password", "headers"})  # values not quoted
DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)(ms|s|m|h))+$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
TLS_VERSIONS = {"TLS10": "1.0", "TLS11": "1.1", "TLS12": "1.2", "TLS13": "1.3"}
DNS_TYPES = ("A", "AAAA", "CNAME", "MX", "NS", "TXT", "SRV", "SOA", "PTR", "CAA", "ANY")
RCODES = ("NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED")


def seconds(text: str | float) -> float:
    """blackbox's (Prometheus') durations: 5s, 500ms, 1m30s."""
    if isinstance(text, int | float):
        return float(text)
    found = DURATION.fullmatch(text.strip())
    if not found:
        raise ValueError(f"expected a duration such as 5s or 500ms; got {text!r}")
    return sum(float(n) * _UNITS[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text))


def _regexes(values: list[str]) -> list[str]:
    for value in values:
        compile_regex(value)  # RE2, as blackbox's Go regexp: linear time, no backreferences
    return values


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TlsConfig(Strict):
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    server_name: str | None = None
    insecure_skip_verify: bool = False
    min_version: Literal["TLS10", "TLS11", "TLS12", "TLS13"] | None = None

    @model_validator(mode="after")
    def _pair(self) -> TlsConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together (a client certificate and its key)")
        return self


class BasicAuth(Strict):
    username: str
    password: str | None = None


class HeaderMatch(Strict):
    header: str
    regexp: str
    allow_missing: bool = False

    @field_validator("regexp")
    @classmethod
    def _re(cls, value: str) -> str:
        compile_regex(value)
        return value


class HttpProbe(Strict):
    valid_status_codes: list[Annotated[int, Field(ge=100, le=599)]] = []  # empty: any 2xx
    # blackbox compares Go's resp.Proto as written: HTTP/1.0, HTTP/1.1 or HTTP/2.0.
    valid_http_versions: list[Literal["HTTP/1.0", "HTTP/1.1", "HTTP/2.0"]] = []
    preferred_ip_protocol: Literal["ip4", "ip6"] = "ip6"
    method: Literal["GET", "HEAD", "POST", "PUT", "OPTIONS"] = "GET"
    headers: dict[str, str] = {}
    body: str | None = None
    follow_redirects: bool = True
    fail_if_ssl: bool = False
    fail_if_not_ssl: bool = False
    fail_if_body_matches_regexp: list[str] = []
    fail_if_body_not_matches_regexp: list[str] = []
    fail_if_header_matches: list[HeaderMatch] = []
    fail_if_header_not_matches: list[HeaderMatch] = []
    tls_config: TlsConfig = TlsConfig()
    basic_auth: BasicAuth | None = None
    bearer_token: str | None = None
    bearer_token_file: str | None = None
    enable_http2: bool = True  # prometheus/common's default: h2 offered by ALPN over TLS

    _body = field_validator("fail_if_body_matches_regexp", "fail_if_body_not_matches_regexp")(
        classmethod(lambda cls, v: _regexes(v))
    )

    @field_validator("valid_http_versions", mode="before")
    @classmethod
    def _versions(cls, value: Any) -> Any:
        if isinstance(value, list) and "HTTP/2" in value:
            # blackbox accepts it, then fails every probe: Go names the protocol HTTP/2.0
            raise ValueError(
                "HTTP/2 matches no answer in blackbox_exporter (Go says HTTP/2.0); write HTTP/2.0"
            )
        return value

    @model_validator(mode="after")
    def _one_auth(self) -> HttpProbe:
        given = [self.basic_auth, self.bearer_token, self.bearer_token_file]
        if sum(v is not None for v in given) > 1:
            raise ValueError("basic_auth, bearer_token and bearer_token_file exclude each other")
        return self


class QueryStep(Strict):
    expect: str | None = None
    send: str | None = None

    @field_validator("expect")
    @classmethod
    def _re(cls, value: str | None) -> str | None:
        if value is not None:
            compile_regex(value)
        return value


class TcpProbe(Strict):
    preferred_ip_protocol: Literal["ip4", "ip6"] = "ip6"
    query_response: list[QueryStep] = []
    tls: bool = False
    tls_config: TlsConfig = TlsConfig()


class RRValidator(Strict):
    fail_if_matches_regexp: list[str] = []
    fail_if_all_match_regexp: list[str] = []
    fail_if_not_matches_regexp: list[str] = []
    fail_if_none_matches_regexp: list[str] = []

    _all = field_validator(
        "fail_if_matches_regexp",
        "fail_if_all_match_regexp",
        "fail_if_not_matches_regexp",
        "fail_if_none_matches_regexp",
    )(classmethod(lambda cls, v: _regexes(v)))


class DnsProbe(Strict):
    preferred_ip_protocol: Literal["ip4", "ip6"] = "ip6"
    transport_protocol: Literal["udp", "tcp"] = "udp"
    query_name: str
    query_type: Literal[DNS_TYPES] = "ANY"  # type: ignore[valid-type]
    valid_rcodes: list[Literal[RCODES]] = ["NOERROR"]  # type: ignore[valid-type]
    validate_answer_rrs: RRValidator = RRValidator()


class GrpcProbe(Strict):
    preferred_ip_protocol: Literal["ip4", "ip6"] = "ip6"
    service: str = ""
    tls: bool = False
    tls_config: TlsConfig = TlsConfig()


Prober = Literal["http", "tcp", "dns", "grpc"]


class Module(Strict):
    prober: Prober
    timeout: float = 0.0  # 0: only the scrape timeout bounds the probe, as in blackbox
    http: HttpProbe = HttpProbe()
    tcp: TcpProbe = TcpProbe()
    dns: DnsProbe | None = None
    grpc: GrpcProbe = GrpcProbe()

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> float:
        return seconds(value)

    @model_validator(mode="after")
    def _dns(self) -> Module:
        if self.prober == "dns" and self.dns is None:
            raise ValueError("a dns module needs dns.query_name")
        return self


class ModuleFile(Strict):
    modules: dict[str, Module]


def standard_modules() -> dict[str, Module]:
    """The modules of blackbox_exporter's example blackbox.yml, served when no file is given."""
    return {
        "http_2xx": Module(prober="http", http=HttpProbe(preferred_ip_protocol="ip4")),
        "http_post_2xx": Module(prober="http", http=HttpProbe(method="POST")),
        "tcp_connect": Module(prober="tcp"),
        "grpc": Module(prober="grpc", grpc=GrpcProbe(tls=True, preferred_ip_protocol="ip4")),
        "grpc_plain": Module(prober="grpc", grpc=GrpcProbe(tls=False)),
        "dns_udp": Module(prober="dns", dns=DnsProbe(query_name="example.com", query_type="A")),
        "dns_tcp": Module(
            prober="dns", dns=DnsProbe(query_name="example.com", query_type="A", transport_protocol="tcp")
        ),
    }


def load_modules(path: Path) -> dict[str, Module]:
    """The modules of a blackbox.yml; InputError (file:line: modules.NAME.KEY: why) on anything wrong."""
    doc = read_document(path)
    try:
        parsed = ModuleFile.model_validate(doc.data)
    except ValidationError as exc:
        problems = []
        for found, err in zip(pydantic_problems(exc), exc.errors(include_url=False), strict=True):
            key = found.path[-1] if found.path else ""
            if err["type"] == "extra_forbidden":
                why = (
                    "a blackbox_exporter option sre probe serve does not support"
                    if key in NOT_IMPLEMENTED
                    else "unsupported key (not a blackbox_exporter option sre knows)"
                )
                found = Problem(found.path, why)  # noqa: PLW2901
            elif CREDENTIALS.intersection(map(str, found.path)):
                # the value is a secret: say what was expected, never what was given (a reload's
                # error is the answer to any client of POST /-/reload)
                found = Problem(found.path, found.message.split("; got ", 1)[0])  # noqa: PLW2901
            problems.append(found)
        raise doc.fail(problems) from None
    if not parsed.modules:
        raise InputError(f"{path}:1: modules: no module defined")
    return dict(parsed.modules)

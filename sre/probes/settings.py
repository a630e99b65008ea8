"""Typed settings of the checks, validated when probes/ loads (so a typo is a load error, not a failed probe).

A check name missing here takes any mapping: its check reads what it knows.
The models are imported without the checks themselves, so loading stays cheap.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sre.probes.regex import compile_regex

_STATUS = re.compile(r"^([1-5])xx$")


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpSettings(Settings):
    method: Literal["GET", "HEAD", "POST", "PUT", "OPTIONS"] = "GET"
    path: str = "/"  # used when the endpoint URL has no path of its own
    headers: dict[str, str] = {}
    body: str | None = None
    valid_status_codes: list[int | str] = ["2xx"]  # numbers or classes such as 2xx
    bearer_secret: str | None = None  # the name of a secret sent as `Authorization: Bearer ...`
    max_body_bytes: Annotated[int, Field(ge=0)] = 1 << 20  # kept for conditions; the rest is counted
    # aiohttp's limits: a bigger answer head is not a health answer, and is refused as `protocol`.
    max_headers: Annotated[int, Field(ge=1)] = 128
    max_header_bytes: Annotated[int, Field(ge=256)] = 8190  # one header line, name and value

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"expected a path starting with /; got {value!r}")
        return value

    @field_validator("headers")
    @classmethod
    def _one_line(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if any(c in name + text for c in "\r\n") or not name or ":" in name:
                raise ValueError(f"header {name!r}: names and values are one line, names without ':'")
        return value

    @field_validator("valid_status_codes")
    @classmethod
    def _codes(cls, value: list[int | str]) -> list[int | str]:
        for code in value:
            if isinstance(code, int) and not 100 <= code <= 599:
                raise ValueError(f"expected HTTP status codes 100..599; got {code}")
            if isinstance(code, str) and not _STATUS.match(code):
                raise ValueError(f"expected a status code or a class such as 2xx; got {code!r}")
        return value


def status_allowed(status: int, valid: list[int | str]) -> bool:
    for code in valid:
        if isinstance(code, int) and code == status:
            return True
        if isinstance(code, str) and str(status)[0] == code[0]:
            return True
    return False


class TcpSettings(Settings):
    send: str | None = None  # written after connecting
    expect: str | None = None  # a regular expression the first bytes must match
    max_read_bytes: Annotated[int, Field(ge=1)] = 4096

    @field_validator("expect")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            compile_regex(value)  # the check runs it with RE2: refused patterns are a load error
        return value


class TlsSettings(Settings):
    pass


class DnsSettings(Settings):
    name: str | None = None  # the name to ask for; default: the path of the endpoint URL
    type: Literal["A", "AAAA", "CNAME", "MX", "NS", "TXT", "SRV", "SOA", "PTR", "CAA"] = "A"
    transport: Literal["udp", "tcp"] = "udp"
    rcode: Literal["NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED"] = "NOERROR"
    require_answer: bool = True


class GrpcSettings(Settings):
    service: str = ""  # the health service name; "" asks about the server as a whole
    tls: bool | None = None  # default: from the scheme (grpcs:// or port 443)


# Datastores and APIs: each of these checks holds its protocol logic; these are its options.
class PostgresSettings(Settings):
    database: str | None = None  # instead of the database named in the URL
    user: str | None = None  # instead of the user named in the URL
    write_check: bool = True  # on a primary: write in a transaction that is rolled back


class RedisSettings(Settings):
    # Where a replica's master is read for the offset lag; by default the address ROLE reports.
    master_url: str | None = None
    compare_master: bool = True


class NatsSettings(Settings):
    stream: str | None = None  # publish to it (or, for a mirror, read its lag)
    subject: str | None = None  # default: <stream>.sre-probe
    create_stream: bool = False  # create the stream when missing (memory storage, 100 messages)


class KafkaSettings(Settings):
    topic: str | None = None  # must exist with a leader for every partition
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None


class MongoSettings(Settings):
    replication_lag: bool = True  # on a secondary, read replSetGetStatus (needs clusterMonitor)


class ClickHouseSettings(Settings):
    database: str | None = None
    replicas_status: bool = True  # GET /replicas_status (replicated tables behind their peers)


class S3Access(Settings):
    region: str | None = None
    addressing_style: Literal["auto", "path", "virtual"] = "auto"


class S3Settings(S3Access):
    bucket: str | None = None  # when the endpoint's params name none
    key_prefix: str = "sre-probe/"
    write: bool = True  # false: list only (a replica bucket that must not be written)


class DeltaLakeSettings(S3Access):
    table: str | None = None  # a path under the endpoint URL
    endpoint_url: str | None = None  # an S3-compatible API for s3:// tables (else AWS)


class KubernetesSettings(Settings):
    nodes: bool = True  # list nodes and count the Ready ones (needs `list nodes`)


class NoSettings(Settings):
    pass


SETTINGS: dict[str, type[Settings]] = {
    "http": HttpSettings,
    "https": HttpSettings,
    "tcp": TcpSettings,
    "tls": TlsSettings,
    "dns": DnsSettings,
    "grpc": GrpcSettings,
    "postgres": PostgresSettings,
    "redis": RedisSettings,
    "nats": NatsSettings,
    "kafka": KafkaSettings,
    "mongodb": MongoSettings,
    "clickhouse": ClickHouseSettings,
    "s3": S3Settings,
    "delta_lake": DeltaLakeSettings,
    "kubernetes": KubernetesSettings,
    "vault": NoSettings,
    "elasticsearch": NoSettings,
    "mlflow": NoSettings,
}

"""Kind-specific probe settings (the `settings:` of a probe definition), one model per check.

Only pydantic here, so a definition loader can validate settings at load
time (`validate_settings`) without importing any protocol driver.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError


class Settings(BaseModel):
    """Unknown keys are a mistake in the definition, not something to ignore."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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


def validate_settings(check: str, settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Problems of `settings` for `check` as (field path, message); empty when they are valid.

    Checks without a model here (http, tls, ...) are validated by whoever defines them.
    """
    model = SETTINGS.get(check)
    if model is None:
        return []
    try:
        model.model_validate(dict(settings))
    except ValidationError as exc:
        return [(".".join(str(p) for p in err["loc"]), err["msg"]) for err in exc.errors()]
    return []

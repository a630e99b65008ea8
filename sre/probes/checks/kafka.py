"""Kafka: cluster metadata through the admin API (brokers, controller, cluster id, one topic).

aiokafka reports every failure to bootstrap as one "Unable to bootstrap"
error, so the check first opens one TCP (and TLS) connection itself to tell
refused, unresolvable and bad-certificate apart, and to record the TLS facts.
A peer that accepts the connection but does not answer Kafka is `protocol`.
Metadata of all topics is read before the named topic is described, because
describing a missing topic makes a broker with auto-creation create it.

URLs: `kafka://host:port` (PLAINTEXT) or `kafka+ssl://host:port` (SSL).
Secrets: `username` and `password` switch on SASL (`sasl_mechanism`).
"""

from __future__ import annotations

import logging
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from sre.errors import one_line
from sre.probes.checks._support import Secrets, load_settings, reach, split_url
from sre.probes.context import ProbeContext
from sre.probes.model import ProbeError, Reason, Target
from sre.probes.settings import KafkaSettings

# aiokafka logs each failed connection at ERROR; the probe result already says it.
logging.getLogger("aiokafka").addHandler(logging.NullHandler())

SCHEMES = {"kafka": False, "kafka+ssl": True}


async def check_kafka(target: Target, ctx: ProbeContext) -> None:
    opts = load_settings(KafkaSettings, target.settings)
    secrets = Secrets(ctx)
    parts = split_url(target.endpoint.url)
    if parts.scheme not in SCHEMES or parts.hostname is None:
        raise ProbeError(
            Reason.unsupported, f"kafka: expected kafka:// or kafka+ssl://host:port, got {parts.scheme}://"
        )
    tls = SCHEMES[parts.scheme]
    port = parts.port or (9093 if tls else 9092)
    await reach(ctx, parts.hostname, port, tls=tls)
    admin = AIOKafkaAdminClient(
        **client_options(
            f"{parts.hostname}:{port}", tls=tls, target=target, ctx=ctx, opts=opts, secrets=secrets
        )
    )
    try:
        with ctx.phase("metadata"):
            await admin.start()
            cluster = await admin.describe_cluster()
            topics = await admin.list_topics()
        record_cluster(cluster, topics, ctx)
        if opts.topic is not None:
            if opts.topic not in topics:
                raise ProbeError(Reason.not_ready, f"topic {opts.topic}: does not exist")
            with ctx.phase("topic"):
                described = await admin.describe_topics([opts.topic])
            record_topic(opts.topic, described, ctx)
    except KafkaError as exc:
        text = secrets.scrub(one_line(exc))
        reason = Reason.auth if "auth" in text.lower() or "sasl" in text.lower() else Reason.protocol
        raise ProbeError(reason, f"metadata: {text}") from None
    finally:
        await admin.close()


def client_options(
    bootstrap: str, *, tls: bool, target: Target, ctx: ProbeContext, opts: KafkaSettings, secrets: Secrets
) -> dict[str, Any]:
    timeout_ms = int(target.timeout * 1000)
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "client_id": "sre-probe",
        "request_timeout_ms": timeout_ms,
        "connections_max_idle_ms": max(timeout_ms * 2, 10_000),
        "security_protocol": "SSL" if tls else "PLAINTEXT",
    }
    if tls:
        options["ssl_context"] = ctx.ssl_context()
    password = secrets.get("password")
    if password is not None:
        options["security_protocol"] = "SASL_SSL" if tls else "SASL_PLAINTEXT"
        options["sasl_mechanism"] = opts.sasl_mechanism or "PLAIN"
        options["sasl_plain_username"] = secrets.get("username") or ""
        options["sasl_plain_password"] = password
    return options


def record_cluster(cluster: dict[str, Any], topics: list[str], ctx: ProbeContext) -> None:
    brokers = cluster.get("brokers") or []
    ctx.fact("kafka_brokers", len(brokers))
    ctx.fact("kafka_cluster_id", cluster.get("cluster_id"))
    ctx.fact("kafka_topics", len(topics))
    controller = cluster.get("controller_id")
    ctx.fact("kafka_controller_id", controller)
    if not brokers:
        raise ProbeError(Reason.not_ready, "metadata: the cluster lists no brokers")
    if controller is None or controller < 0:
        raise ProbeError(Reason.not_ready, "metadata: the cluster has no active controller")


def record_topic(topic: str, described: list[dict[str, Any]], ctx: ProbeContext) -> None:
    found = next((t for t in described if t.get("topic") == topic), None)
    if found is None or found.get("error_code"):
        code = None if found is None else found.get("error_code")
        raise ProbeError(Reason.not_ready, f"topic {topic}: not described (error code {code})")
    partitions = found.get("partitions") or []
    leaderless = [p["partition"] for p in partitions if p.get("leader", -1) < 0]
    under = [p["partition"] for p in partitions if len(p.get("isr") or []) < len(p.get("replicas") or [])]
    ctx.fact("kafka_topic_partitions", len(partitions))
    ctx.fact("kafka_under_replicated_partitions", len(under))
    ctx.fact("kafka_leaderless_partitions", len(leaderless))
    if leaderless:
        raise ProbeError(Reason.not_ready, f"topic {topic}: partitions without a leader: {leaderless[:10]}")

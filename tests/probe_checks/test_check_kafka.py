"""Kafka check against Tansu, a Kafka-wire-compatible broker used as a substitute (Apache Kafka needs a JVM
download that is not available here)."""

from __future__ import annotations

import pytest
from checkrun import probe
from checkservers import GarbageServer, TansuBroker

from sre.probes.model import Reason

pytestmark = pytest.mark.integration


def test_cluster_metadata(kafka_broker: TansuBroker) -> None:
    seen = probe("kafka", kafka_broker.url).ok()
    assert seen.facts["kafka_brokers"] == 1
    assert seen.facts["kafka_cluster_id"] == "sre-test"
    assert seen.facts["kafka_controller_id"] >= 0
    assert seen.facts["kafka_topics"] >= 1
    assert {"connect", "metadata"} <= seen.phases.keys()


def test_topic_partitions_have_leaders(kafka_broker: TansuBroker) -> None:
    seen = probe("kafka", kafka_broker.url, settings={"topic": "probe"}).ok()
    assert seen.facts["kafka_topic_partitions"] >= 1
    assert seen.facts["kafka_leaderless_partitions"] == 0


def test_missing_topic_is_not_ready_and_not_created(kafka_broker: TansuBroker) -> None:
    seen = probe("kafka", kafka_broker.url, settings={"topic": "never_made"})
    assert seen.reason is Reason.not_ready
    again = probe("kafka", kafka_broker.url, settings={"topic": "never_made"})
    assert again.reason is Reason.not_ready  # the probe did not auto-create it


def test_tls_handshake_with_a_broker_that_never_answers_it_times_out(kafka_broker: TansuBroker) -> None:
    seen = probe("kafka", f"kafka+ssl://127.0.0.1:{kafka_broker.port}", timeout=1)
    assert seen.reason is Reason.timeout, seen.message


def test_tls_to_a_port_that_does_not_speak_tls_is_protocol(garbage: GarbageServer) -> None:
    seen = probe("kafka", f"kafka+ssl://127.0.0.1:{garbage.port}", timeout=3)
    assert seen.reason is Reason.protocol, seen.message
    assert "does not speak TLS" in seen.message

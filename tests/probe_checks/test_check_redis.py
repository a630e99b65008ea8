"""Redis check against a real master and replica (redis-server on free ports)."""

from __future__ import annotations

import pytest
from checkrun import probe
from checkservers import RedisPair, wait_until

from sre.probes.model import Reason

pytestmark = pytest.mark.integration
SECRET = {"password": RedisPair.PASSWORD}


def test_master_role_and_replica_count(redis_pair: RedisPair) -> None:
    seen = probe("redis", f"redis://127.0.0.1:{redis_pair.master_port}", secrets=SECRET).ok()
    assert seen.facts["role"] == "primary"
    assert seen.facts["redis_role"] == "master"
    assert seen.facts["redis_replicas"] == 1
    assert {"connect", "role"} <= seen.phases.keys()


def test_replica_link_up_and_offset_lag_against_master(redis_pair: RedisPair) -> None:
    redis_pair.client(redis_pair.master_port).set("k", "v")
    master = redis_pair.client(redis_pair.master_port)
    replica = redis_pair.client(redis_pair.replica_port)
    wait_until(
        lambda: replica.execute_command("ROLE")[4] == master.info("replication")["master_repl_offset"],
        "replica caught up",
    )
    seen = probe("redis", f"redis://127.0.0.1:{redis_pair.replica_port}", secrets=SECRET).ok()
    assert seen.facts["role"] == "replica"
    assert seen.facts["redis_link_state"] == "connected"
    assert seen.facts["redis_master_link_up"] is True
    assert seen.facts["lag_bytes"] == 0
    assert seen.facts["lag_seconds"] == 0.0
    assert "master" in seen.phases


def test_replica_with_master_down_reports_link_down_time(redis_pair: RedisPair) -> None:
    assert redis_pair.master is not None
    redis_pair.master.stop()
    try:
        wait_until(lambda: not redis_pair.link_up(), "replica notices the master is gone")
        seen = probe("redis", f"redis://127.0.0.1:{redis_pair.replica_port}", secrets=SECRET).ok()
    finally:
        redis_pair.start_master()
        wait_until(redis_pair.link_up, "replica link back")
    assert seen.facts["role"] == "replica"
    assert seen.facts["redis_master_link_up"] is False
    assert seen.facts["lag_seconds"] >= 0
    assert "lag_bytes" not in seen.facts


def test_wrong_password_is_auth_and_not_echoed(redis_pair: RedisPair) -> None:
    seen = probe("redis", f"redis://127.0.0.1:{redis_pair.master_port}", secrets={"password": "bad-secret-5"})
    assert seen.reason is Reason.auth
    assert "bad-secret-5" not in seen.message


def test_missing_password_is_auth(redis_pair: RedisPair) -> None:
    seen = probe("redis", f"redis://127.0.0.1:{redis_pair.master_port}")
    assert seen.reason is Reason.auth

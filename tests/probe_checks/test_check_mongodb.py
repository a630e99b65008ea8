"""MongoDB check: against nx-27017, a MongoDB-wire-protocol server used as a substitute (no mongod can be
installed here), and the role and lag logic against `hello` and `replSetGetStatus` answers shaped as the
MongoDB manual documents them for replica-set members."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from checkrun import probe, target
from checkservers import MongoSubstitute

from sre.probes.checks.mongodb import interpret_hello, replication_lag
from sre.probes.context import ProbeContext, RunContext
from sre.probes.model import ProbeError, Reason

T0 = datetime(2026, 1, 1, 12, 0, 0)


def ctx() -> ProbeContext:
    return ProbeContext(run=RunContext(), target=target("mongodb", "mongodb://127.0.0.1:1/"))


@pytest.mark.integration
def test_standalone_substitute_is_a_writable_primary(mongo: MongoSubstitute) -> None:
    seen = probe("mongodb", mongo.url).ok()
    assert seen.facts["role"] == "primary"
    assert seen.facts["writable"] is True
    assert seen.facts["mongo_set_name"] is None
    assert seen.facts["mongo_max_wire_version"] >= 17
    assert "replication" not in seen.phases


def test_secondary_hello_is_a_replica() -> None:
    c = ctx()
    hello = {
        "isWritablePrimary": False,
        "secondary": True,
        "setName": "rs-ams1",
        "hosts": ["a:27017", "b:27017", "c:27017"],
        "primary": "a:27017",
        "maxWireVersion": 21,
        "ok": 1,
    }
    assert interpret_hello(hello, c) == "replica"
    facts = c.observation.facts
    assert facts["role"] == "replica"
    assert facts["writable"] is False
    assert facts["mongo_set_name"] == "rs-ams1"
    assert facts["mongo_hosts"] == 3


def test_legacy_ismaster_primary() -> None:
    c = ctx()
    assert interpret_hello({"ismaster": True, "setName": "rs0", "ok": 1}, c) == "primary"
    assert c.observation.facts["writable"] is True


@pytest.mark.parametrize(
    ("hello", "words"),
    [
        ({"isWritablePrimary": False, "secondary": False, "arbiterOnly": True, "setName": "rs0"}, "arbiter"),
        ({"isWritablePrimary": False, "secondary": False, "setName": "rs0"}, "recovering"),
    ],
)
def test_member_that_cannot_serve_is_not_ready(hello: dict[str, object], words: str) -> None:
    with pytest.raises(ProbeError) as raised:
        interpret_hello(hello, ctx())
    assert raised.value.reason is Reason.not_ready
    assert words in raised.value.message


def test_lag_is_primary_optime_minus_own() -> None:
    status = {
        "set": "rs0",
        "members": [
            {"name": "a:27017", "state": 1, "stateStr": "PRIMARY", "optimeDate": T0},
            {
                "name": "b:27017",
                "state": 2,
                "stateStr": "SECONDARY",
                "optimeDate": T0 - timedelta(seconds=7),
                "self": True,
            },
        ],
        "ok": 1,
    }
    assert replication_lag(status) == 7.0


def test_lag_unknown_without_a_visible_primary() -> None:
    status = {"members": [{"state": 2, "optimeDate": T0, "self": True}, {"state": 8, "optimeDate": T0}]}
    assert replication_lag(status) is None

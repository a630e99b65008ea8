"""The registry of runbook actions, by the name a step's `action:` gives.

Drivers are imported by the action when it runs, so loading definitions stays cheap.
"""

from __future__ import annotations

from sre.runbooks.actions.base import Action, ActionFailed, Check, Context, Scrubber, Settings
from sre.runbooks.actions.datastores import NatsPublish, PostgresSql, RedisCommand
from sre.runbooks.actions.dr_gates import ControlPlaneGate, PgCandidate, PgFenced
from sre.runbooks.actions.gates import Probe, WaitUntil
from sre.runbooks.actions.gateway import GatewayRoute, GatewayWrite
from sre.runbooks.actions.haproxy import HaproxyRuntime
from sre.runbooks.actions.kubernetes import KubernetesRolloutRestart, KubernetesScale
from sre.runbooks.actions.nats_move import NatsMove
from sre.runbooks.actions.postgres_dr import PgCatchUp, PgPromote, PgReadOnly, PgRecordLoss, PgRejoin
from sre.runbooks.actions.redis_failover import RedisFailover
from sre.runbooks.actions.redis_promote import RedisPromote
from sre.runbooks.actions.web import HttpCall, Notify, Silence

REGISTRY: dict[str, Action] = {
    a.name: a
    for a in (
        Probe(),
        WaitUntil(),
        PostgresSql(),
        RedisCommand(),
        RedisFailover(),
        RedisPromote(),
        NatsPublish(),
        NatsMove(),
        HaproxyRuntime(),
        KubernetesScale(),
        KubernetesRolloutRestart(),
        HttpCall(),
        Silence(),
        Notify(),
        ControlPlaneGate(),
        PgCandidate(),
        PgFenced(),
        PgReadOnly(),
        PgCatchUp(),
        PgPromote(),
        PgRejoin(),
        PgRecordLoss(),
        GatewayRoute(),
        GatewayWrite(),
    )
}

__all__ = ["REGISTRY", "Action", "ActionFailed", "Check", "Context", "Scrubber", "Settings"]

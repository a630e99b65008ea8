"""MongoDB: `hello` on the node of the endpoint, its replica-set role, and a secondary's lag.

A single-host URL is first reached with one plain TCP (or TLS) connection,
which tells refused and bad certificates apart at once and records the TLS
facts; then it is probed with a direct connection, so the answer is that
node's own (a secondary says secondary); a multi-host URL goes through
replica-set discovery and reaches the primary. On a secondary the lag is the
primary's last optime minus this member's, from `replSetGetStatus` (needs
the clusterMonitor role; without it the lag is left out, with the reason).

Secrets: `username` and `password` (else the URL's user, if any).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from pymongo import AsyncMongoClient
from pymongo.errors import ConfigurationError, OperationFailure, PyMongoError, ServerSelectionTimeoutError

from sre.errors import one_line
from sre.probes.checks._support import Secrets, load_settings, login, reach, reason_from_text, split_url
from sre.probes.context import ProbeContext
from sre.probes.model import ProbeError, Reason, Target
from sre.probes.settings import MongoSettings

AUTH_CODES = {13, 18}  # Unauthorized, AuthenticationFailed
PRIMARY_STATE = 1


async def check_mongodb(target: Target, ctx: ProbeContext) -> None:
    opts = load_settings(MongoSettings, target.settings)
    secrets = Secrets(ctx)
    parts = split_url(target.endpoint.url)
    if parts.scheme == "mongodb" and "," not in parts.netloc and parts.hostname:
        # pymongo waits out its whole selection timeout on a refused port; one connection tells at once.
        query = parse_qs(parts.query.lower())
        tls = "true" in query.get("tls", []) + query.get("ssl", [])
        await reach(ctx, parts.hostname, parts.port or 27017, tls=tls)
    client = make_client(target, secrets)
    try:
        with ctx.phase("hello"):
            hello = await command(client, "hello", secrets)
        role = interpret_hello(hello, ctx)
        if role == "replica" and opts.replication_lag:
            with ctx.phase("replication"):
                await observe_lag(client, ctx)
    finally:
        await client.close()


def make_client(target: Target, secrets: Secrets) -> AsyncMongoClient[dict[str, Any]]:
    parts = split_url(target.endpoint.url)
    if parts.scheme not in ("mongodb", "mongodb+srv"):
        raise ProbeError(Reason.unsupported, f"mongodb: expected a mongodb:// URL, got {parts.scheme}://")
    ms = int(target.timeout * 1000)
    options: dict[str, Any] = {
        "serverSelectionTimeoutMS": ms,
        "connectTimeoutMS": ms,
        "socketTimeoutMS": ms,
        "appname": "sre-probe",
        "retryReads": False,  # the runner decides about retries
        "retryWrites": False,
    }
    single = parts.scheme == "mongodb" and "," not in parts.netloc
    if single and "directconnection" not in parts.query.lower():
        options["directConnection"] = True
    options.update(login(secrets))
    if target.endpoint.ca_file:
        options["tlsCAFile"] = target.endpoint.ca_file
    try:
        return AsyncMongoClient(target.endpoint.url, **options)
    except ConfigurationError as exc:
        raise ProbeError(Reason.internal, f"mongodb: {secrets.scrub(one_line(exc))}") from None


def interpret_hello(hello: dict[str, Any], ctx: ProbeContext) -> str:
    """Record the role facts of a `hello` answer; raise when the node cannot serve. Returns the role."""
    writable = bool(hello.get("isWritablePrimary", hello.get("ismaster", False)))
    secondary = bool(hello.get("secondary", False))
    ctx.fact("mongo_writable_primary", writable)
    ctx.fact("mongo_secondary", secondary)
    ctx.fact("mongo_set_name", hello.get("setName"))
    if isinstance(hello.get("maxWireVersion"), int):
        ctx.fact("mongo_max_wire_version", hello["maxWireVersion"])
    if isinstance(hello.get("hosts"), list):
        ctx.fact("mongo_hosts", len(hello["hosts"]))
    if hello.get("msg") == "isdbgrid":
        ctx.fact("mongo_mongos", True)
    if writable:
        ctx.fact("role", "primary")
        ctx.fact("writable", True)
        return "primary"
    ctx.fact("writable", False)
    if secondary:
        ctx.fact("role", "replica")
        return "replica"
    state = (
        "an arbiter" if hello.get("arbiterOnly") else "neither primary nor secondary (recovering or starting)"
    )
    raise ProbeError(Reason.not_ready, f"hello: the node is {state}")


async def observe_lag(client: AsyncMongoClient[dict[str, Any]], ctx: ProbeContext) -> None:
    try:
        status = await client.admin.command("replSetGetStatus")
    except OperationFailure as exc:
        ctx.fact("mongo_lag_error", one_line(exc))
        return
    lag = replication_lag(status)
    if lag is None:
        ctx.fact("mongo_primary_visible", False)
        return
    ctx.fact("mongo_primary_visible", True)
    ctx.fact("lag_seconds", lag)


def replication_lag(status: dict[str, Any]) -> float | None:
    """Seconds this member's optime trails the primary's, from a replSetGetStatus answer."""
    members = status.get("members")
    if not isinstance(members, list):
        return None
    primary = next((m for m in members if m.get("state") == PRIMARY_STATE), None)
    me = next((m for m in members if m.get("self")), None)
    if primary is None or me is None:
        return None
    newest, mine = primary.get("optimeDate"), me.get("optimeDate")
    if not isinstance(newest, datetime) or not isinstance(mine, datetime):
        return None
    return max(0.0, (newest - mine).total_seconds())


async def command(client: AsyncMongoClient[dict[str, Any]], name: str, secrets: Secrets) -> dict[str, Any]:
    try:
        return await client.admin.command(name)
    except OperationFailure as exc:
        reason = Reason.auth if exc.code in AUTH_CODES else Reason.protocol
        raise ProbeError(reason, f"{name}: {secrets.scrub(one_line(exc))}") from None
    except ServerSelectionTimeoutError as exc:
        # pymongo folds the socket error into the text: "host:port: [Errno 111] Connection refused ..."
        text = re.sub(r" \(configured timeouts:[^)]*\)", "", secrets.scrub(one_line(exc))).split(
            ", Timeout:"
        )[0]
        raise ProbeError(reason_from_text(text) or Reason.protocol, f"{name}: {text}") from None
    except PyMongoError as exc:
        text = secrets.scrub(one_line(exc))
        raise ProbeError(reason_from_text(text) or Reason.protocol, f"{name}: {text}") from None

"""A NATS connection for a runbook action, from the model's endpoint and its secrets.

One attempt, no reconnects: an action that cannot reach its server fails with a
scrubbed one-line reason naming the service and tier, never a traceback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sre.errors import one_line
from sre.runbooks.actions.base import ActionFailed, Context

CONNECT_TIMEOUT = 5


@asynccontextmanager
async def connected(ctx: Context, service: str, tier: str) -> AsyncIterator[Any]:
    """The nats-py client of `service`/`tier`, closed on leaving."""
    import nats
    from nats.errors import Error as NatsError

    endpoint = ctx.endpoint(service, tier)
    options: dict[str, Any] = {
        "connect_timeout": CONNECT_TIMEOUT,
        "max_reconnect_attempts": 0,
        "allow_reconnect": False,
    }
    password = ctx.secret(endpoint, "password")
    if password:
        options["password"] = password
        options["user"] = ctx.secret(endpoint, "username") or ""
    token = ctx.secret(endpoint, "token")
    if token:
        options["token"] = token

    async def quiet(_: Exception) -> None:
        return None  # nats-py logs every error callback; the failure is raised to us instead

    try:
        nc = await nats.connect(endpoint.url, error_cb=quiet, **options)
    except (NatsError, OSError, TimeoutError) as exc:
        raise ActionFailed(ctx.scrub(f"{service}/{tier}: {one_line(exc)}")) from None
    try:
        yield nc
    finally:
        await nc.close()

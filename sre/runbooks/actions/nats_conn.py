"""A NATS connection for a runbook action, from the model's endpoint and its secrets.

One attempt, no reconnects: an action that cannot reach its server fails with a
scrubbed one-line reason naming the service and tier, never a traceback.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sre.errors import one_line
from sre.runbooks.actions.base import ActionFailed, Context

CONNECT_TIMEOUT = 5


class _FirstAttemptFailed(Exception):
    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


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

    connecting = True

    async def on_error(exc: Exception) -> None:
        if connecting:  # nats-py would keep trying the server; one attempt is what an action makes
            raise _FirstAttemptFailed(exc)

    try:
        nc = await asyncio.wait_for(
            nats.connect(endpoint.url, error_cb=on_error, **options), CONNECT_TIMEOUT * 2
        )
    except _FirstAttemptFailed as exc:
        raise ActionFailed(ctx.scrub(f"{service}/{tier}: {one_line(exc.cause)}")) from None
    except (NatsError, OSError, TimeoutError) as exc:
        raise ActionFailed(ctx.scrub(f"{service}/{tier}: {one_line(exc)}")) from None
    finally:
        connecting = False
    try:
        yield nc
    finally:
        await nc.close()

"""ClickHouse over its HTTP interface: `GET /ping`, then a query, then `/replicas_status`.

/ping needs no credentials and answers `Ok.`; the query (`SELECT 1, version()`)
proves the credentials and the query path. /replicas_status answers 503
when a replicated table lags its peers, recorded as `clickhouse_replicas_ok`.
Auth: `username` (default `default`) and `password` secrets, HTTP basic.
"""

from __future__ import annotations

import re

from sre.probes.checks._http_api import HttpApi, Reply, basic_auth, expect_status, expect_text
from sre.probes.checks._support import Secrets, load_settings
from sre.probes.context import ProbeContext
from sre.probes.model import ProbeError, Reason, Target
from sre.probes.settings import ClickHouseSettings

QUERY = b"SELECT 1, version() FORMAT TabSeparated"
# UNKNOWN_USER, WRONG_PASSWORD, REQUIRED_PASSWORD, AUTHENTICATION_FAILED (old servers answer 500 with these).
AUTH_CODES = re.compile(r"\bCode: (192|193|194|516)\b")


async def check_clickhouse(target: Target, ctx: ProbeContext) -> None:
    opts = load_settings(ClickHouseSettings, target.settings)
    secrets = Secrets(ctx)
    async with HttpApi(target, ctx, secrets, headers=basic_auth(secrets, default_user="default")) as api:
        expect_text(await api.checked("/ping", phase="ping"), "Ok.")
        with ctx.phase("query"):
            params = None if opts.database is None else {"database": opts.database}
            reply = await api.post("/", data=QUERY, params=params)
        ctx.fact("http_status", reply.status)
        ctx.fact("clickhouse_version", check_query(reply))
        if opts.replicas_status:
            with ctx.phase("replicas"):
                replicas = await api.get("/replicas_status")
            if replicas.status not in (200, 503):
                expect_status(replicas, 200)
            ctx.fact("clickhouse_replicas_ok", replicas.status == 200)


def check_query(reply: Reply) -> str:
    """The server version from the answer to QUERY."""
    if reply.status in (401, 403, 516) or AUTH_CODES.search(reply.text()):
        raise ProbeError(Reason.auth, f"{reply.request} (query): credentials refused: {reply.snippet()}")
    expect_status(reply, 200)
    one, _, version = reply.text().strip().partition("\t")
    if one != "1" or not version:
        raise ProbeError(Reason.protocol, f"{reply.request} (query): unexpected answer {reply.snippet()}")
    return version

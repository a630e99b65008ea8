"""Datastore actions: SQL on PostgreSQL, Redis commands, a NATS publish (the JetStream DR move is nats_move).

Values reach the server as bind parameters or as single arguments of a command,
never spliced into SQL or a command line.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from sre.errors import one_line
from sre.runbooks.actions.base import Action, ActionFailed, Args, Check, Context
from sre.runbooks.actions.nats_conn import connected

SqlParams = dict[str, str | int]


class PostgresArgs(Args):
    service: str
    tier: str
    check_sql: str | None = None  # one row: the first column true means done; the others are facts
    apply_sql: str
    verify_sql: str | None = None  # one row whose first column must be true
    compensate_sql: str | None = None
    params: SqlParams = Field(default_factory=dict)  # bound as %(name)s
    database: str | None = None


class PostgresSql(Action):
    name = "postgres_sql"
    Args = PostgresArgs
    reversible = True

    async def _query(self, a: PostgresArgs, ctx: Context, sql: str, *, write: bool) -> dict[str, Any] | None:
        import psycopg

        endpoint = ctx.endpoint(a.service, a.tier)
        extra: dict[str, Any] = {}
        password = ctx.secret(endpoint, "password")
        if password:
            extra["password"] = password
        if a.database:
            extra["dbname"] = a.database
        try:
            async with await psycopg.AsyncConnection.connect(
                endpoint.url, connect_timeout=10, autocommit=False, **extra
            ) as conn:
                if not write:
                    await conn.set_read_only(True)
                async with conn.cursor() as cur:
                    await cur.execute(sql.encode(), a.params or None)
                    row = await cur.fetchone() if cur.description else None
                    names = [c.name for c in cur.description or []]
                await conn.commit()
        except psycopg.Error as exc:
            raise ActionFailed(ctx.scrub(f"{a.service}/{a.tier}: {one_line(exc)}")) from None
        except OSError as exc:
            raise ActionFailed(ctx.scrub(f"{a.service}/{a.tier}: {one_line(exc)}")) from None
        if row is None:
            return None
        return {name: _plain(value) for name, value in zip(names, row, strict=True)}

    def reverses(self, args: Any) -> bool:
        return args.compensate_sql is not None

    async def check(self, args: Any, ctx: Context) -> Check:
        if not args.check_sql:
            return Check(done=False)
        row = await self._query(args, ctx, args.check_sql, write=False)
        if row is None:
            return Check(done=False)
        first, *_ = row.values()
        return Check(done=bool(first), facts=dict(list(row.items())[1:]))

    async def apply(self, args: Any, ctx: Context) -> dict[str, Any]:
        row = await self._query(args, ctx, args.apply_sql, write=True)
        return row or {}

    async def verify(self, args: Any, ctx: Context) -> None:
        if not args.verify_sql:
            return
        row = await self._query(args, ctx, args.verify_sql, write=False)
        if row is None or not next(iter(row.values())):
            raise ActionFailed(f"{args.service}/{args.tier}: verify_sql did not return true")

    async def compensate(self, args: Any, ctx: Context) -> None:
        if args.compensate_sql:
            await self._query(args, ctx, args.compensate_sql, write=True)


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


class RedisExpect(Args):
    command: list[str] = Field(min_length=1)
    equals: str


class RedisArgs(Args):
    service: str
    tier: str
    command: list[str] = Field(min_length=1)  # an argument list: ["SET", "key", "value"]
    check: RedisExpect | None = None  # done when this command answers `equals`
    verify: RedisExpect | None = None
    compensate: list[str] | None = None


class RedisCommand(Action):
    name = "redis_command"
    Args = RedisArgs
    reversible = True

    async def _call(self, a: RedisArgs, ctx: Context, command: list[str]) -> str:
        import redis.asyncio as aioredis
        from redis.exceptions import RedisError

        endpoint = ctx.endpoint(a.service, a.tier)
        password = ctx.secret(endpoint, "password")
        client = aioredis.from_url(
            endpoint.url,
            password=password,
            socket_timeout=10,
            socket_connect_timeout=10,
            decode_responses=True,
        )
        try:
            answer = await client.execute_command(*command)  # type: ignore[no-untyped-call]
        except (RedisError, OSError) as exc:
            raise ActionFailed(ctx.scrub(f"{a.service}/{a.tier}: {command[0]}: {one_line(exc)}")) from None
        finally:
            await client.aclose()
        return "" if answer is None else str(answer)

    def reverses(self, args: Any) -> bool:
        return args.compensate is not None

    async def check(self, args: Any, ctx: Context) -> Check:
        if args.check is None:
            return Check(done=False)
        got = await self._call(args, ctx, args.check.command)
        return Check(done=got == args.check.equals, facts={"answer": got})

    async def apply(self, args: Any, ctx: Context) -> dict[str, Any]:
        return {"answer": await self._call(args, ctx, args.command)}

    async def verify(self, args: Any, ctx: Context) -> None:
        if args.verify is None:
            return
        got = await self._call(args, ctx, args.verify.command)
        if got != args.verify.equals:
            raise ActionFailed(f"{args.service}/{args.tier}: expected {args.verify.equals!r}; got {got!r}")

    async def compensate(self, args: Any, ctx: Context) -> None:
        if args.compensate:
            await self._call(args, ctx, args.compensate)


class NatsArgs(Args):
    service: str
    tier: str
    subject: str = Field(pattern=r"^[A-Za-z0-9_.>*-]{1,200}$")
    payload: str = ""
    jetstream: bool = False  # wait for the stream's acknowledgement


class NatsPublish(Action):
    """At least once: nothing to check, so a resumed run may publish again (the Sre-Run-Id header tells)."""

    name = "nats_publish"
    Args = NatsArgs

    async def apply(self, args: Any, ctx: Context) -> dict[str, Any]:
        from nats.errors import Error as NatsError

        async with connected(ctx, args.service, args.tier) as nc:
            try:
                headers = {"Sre-Run-Id": ctx.run_id}
                if args.jetstream:
                    ack = await nc.jetstream().publish(args.subject, args.payload.encode(), headers=headers)
                    return {"stream": ack.stream, "seq": ack.seq}
                await nc.publish(args.subject, args.payload.encode(), headers=headers)
                await nc.flush(timeout=5)
                return {}
            except (NatsError, OSError, TimeoutError) as exc:
                why = f"{args.service}/{args.tier}: publish: {one_line(exc)}"
                raise ActionFailed(ctx.scrub(why)) from None

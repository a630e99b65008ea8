"""S3: put, get and delete of a small canary object in the configured bucket.

The canary has a fresh random name and content under `key_prefix`, so
probes from several vantages never collide, and the content read back must
be the content written. With `write: false` (a replica bucket nobody may
write) the check lists one key instead. The bucket comes from the
endpoint's `params.bucket`, else the `bucket` setting.
"""

from __future__ import annotations

import secrets as random
import uuid
from typing import Any

from sre.probes.checks._s3 import S3_ERRORS, s3_client, s3_fail, warm  # noqa: F401 - the runner calls warm()
from sre.probes.checks._support import Secrets, load_settings, split_url
from sre.probes.context import ProbeContext
from sre.probes.model import ProbeError, Reason, Target
from sre.probes.settings import S3Settings


async def check_s3(target: Target, ctx: ProbeContext) -> None:
    opts = load_settings(S3Settings, target.settings)
    secrets = Secrets(ctx)
    if split_url(target.endpoint.url).scheme not in ("http", "https"):
        raise ProbeError(Reason.unsupported, "s3: the endpoint URL is the S3 API, http(s)://")
    bucket = target.endpoint.params.get("bucket") or opts.bucket
    if not bucket:
        raise ProbeError(Reason.internal, "s3: no bucket (endpoint params.bucket or the bucket setting)")
    ctx.fact("s3_bucket", bucket)
    async with s3_client(target, secrets, opts, endpoint_url=target.endpoint.url) as client:
        if opts.write:
            await canary(client, bucket, opts, ctx, secrets)
        else:
            await call(client.list_objects_v2(Bucket=bucket, MaxKeys=1), ctx, "list", bucket, secrets)


async def canary(client: Any, bucket: str, opts: S3Settings, ctx: ProbeContext, secrets: Secrets) -> None:
    key = f"{opts.key_prefix}{ctx.run.vantage}-{uuid.uuid4().hex}"
    body = random.token_hex(16).encode()
    await call(client.put_object(Bucket=bucket, Key=key, Body=body), ctx, "put", key, secrets)
    try:
        got = await call(client.get_object(Bucket=bucket, Key=key), ctx, "get", key, secrets)
        with ctx.phase("get"):
            async with got["Body"] as stream:
                data = await stream.read()
        if data != body:
            raise ProbeError(
                Reason.protocol, f"get {key}: read back {len(data)} bytes that differ from the canary"
            )
    finally:
        await call(client.delete_object(Bucket=bucket, Key=key), ctx, "delete", key, secrets)
    ctx.fact("s3_canary_bytes", len(body))
    ctx.fact("writable", True)


async def call(awaitable: Any, ctx: ProbeContext, phase: str, name: str, secrets: Secrets) -> Any:
    try:
        with ctx.phase(phase):
            return await awaitable
    except S3_ERRORS as exc:
        s3_fail(exc, f"{phase} {name}", secrets)

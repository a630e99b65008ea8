"""An S3 client for the s3 and delta_lake checks: aiobotocore, no retries, credentials by reference.

Credentials come from the `access_key_id`, `secret_access_key` (and optional
`session_token`) secrets; with none named, requests go unsigned. botocore's
default chain is not used: it can wait on an instance-metadata service that
a probe must never depend on.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, NoReturn

import aiohttp

from sre.probes.checks._imports import without

# httpx is only for aiobotocore's optional httpx backend; probes use its aiohttp one.
with without("httpx", "httpx2"):
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session
from botocore import UNSIGNED  # type: ignore[import-untyped]
from botocore.exceptions import (  # type: ignore[import-untyped]
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionClosedError as BotoConnectionClosed
from botocore.parsers import ResponseParserError  # type: ignore[import-untyped]

from sre.errors import one_line
from sre.probes.checks._http_api import NOT_HTTP
from sre.probes.checks._support import Secrets, fail
from sre.probes.model import ProbeError, Reason, Target
from sre.probes.settings import S3Access

_SESSION: list[Any] = []


def session() -> Any:
    """One botocore session per process: each new one loads S3's service model again (a few hundred
    milliseconds of JSON parsing, on the event loop)."""
    if not _SESSION:
        _SESSION.append(get_session())
    return _SESSION[0]


def warm() -> None:
    """Load S3's models before the run's clock starts (the runner calls it), not inside a probe."""
    loader = session().get_component("data_loader")
    for service_file in ("service-2", "endpoint-rule-set-1"):
        loader.load_service_model("s3", service_file)
    loader.load_data("endpoints")
    loader.load_data("partitions")


AUTH_CODES = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"}
MISSING_CODES = {"NoSuchBucket"}


def s3_client(
    target: Target, secrets: Secrets, opts: S3Access, *, endpoint_url: str | None
) -> AbstractAsyncContextManager[Any]:
    config = AioConfig(
        connect_timeout=target.timeout,
        read_timeout=target.timeout,
        retries={"total_max_attempts": 1},  # the runner decides about retries
        s3={"addressing_style": opts.addressing_style},
        user_agent_extra="sre-probe",
    )
    key_id = secrets.get("access_key_id")
    secret = secrets.get("secret_access_key")
    credentials: dict[str, Any] = {}
    if key_id is not None and secret is not None:
        credentials = {"aws_access_key_id": key_id, "aws_secret_access_key": secret}
        token = secrets.get("session_token")
        if token is not None:
            credentials["aws_session_token"] = token
    else:
        config = config.merge(AioConfig(signature_version=UNSIGNED))
    region = opts.region or target.endpoint.params.get("region") or "us-east-1"
    client: AbstractAsyncContextManager[Any] = session().create_client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        verify=target.endpoint.ca_file or True,
        config=config,
        **credentials,
    )
    return client


S3_ERRORS = (BotoCoreError, ClientError, aiohttp.ClientError, OSError, TimeoutError)


def s3_fail(exc: Exception, what: str, secrets: Secrets) -> NoReturn:
    """The ProbeError for a failed S3 call."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        text = f"{what}: {code or 'error'} (HTTP {status}): {error.get('Message', '')}".rstrip(": ")
        if code in AUTH_CODES or status in (401, 403):
            raise ProbeError(Reason.auth, secrets.scrub(text)) from None
        if code in MISSING_CODES:
            raise ProbeError(Reason.not_ready, secrets.scrub(text)) from None
        raise ProbeError(Reason.status_code, secrets.scrub(text)) from None
    if isinstance(exc, ConnectTimeoutError | ReadTimeoutError):
        raise ProbeError(Reason.timeout, f"{what}: {one_line(exc)}") from None
    # botocore wraps the transport's own error (refused, TLS, a bad HTTP answer) in kwargs["error"].
    inner = getattr(exc, "kwargs", {}).get("error") if isinstance(exc, BotoCoreError) else None
    cause = inner if isinstance(inner, BaseException) else exc
    if isinstance(exc, ResponseParserError | BotoConnectionClosed) or isinstance(cause, NOT_HTTP):
        raise ProbeError(Reason.protocol, f"{what}: {secrets.scrub(one_line(cause))}") from None
    fail(cause, what, secrets)

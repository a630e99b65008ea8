"""A small HTTP client for the API kinds (Vault, Elasticsearch, MLflow, ClickHouse).

One aiohttp session per probe, closed with it; TLS through the run's shared
SSLContext; the facts of the TLS link recorded from the first response; a
bounded body; every failure turned into a `ProbeError` naming the request.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from sre.errors import one_line
from sre.probes import tlsinfo
from sre.probes.checks._support import Secrets, fail, login, reason_for, split_url
from sre.probes.context import ProbeContext
from sre.probes.model import ProbeError, Reason, Target

MAX_BODY = 1 << 20  # an API health answer is small; a bigger one is not the API
NOT_HTTP = (aiohttp.ClientResponseError, aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)


@dataclass(frozen=True)
class Reply:
    method: str
    path: str
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    @property
    def request(self) -> str:
        return f"{self.method} {self.path}"

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            message = f"{self.request}: answer is not JSON: {self.snippet()}"
            raise ProbeError(Reason.protocol, message) from None

    def json_object(self) -> dict[str, Any]:
        found = self.json()
        if not isinstance(found, dict):
            raise ProbeError(Reason.protocol, f"{self.request}: expected a JSON object, got {self.snippet()}")
        return found

    def snippet(self, size: int = 80) -> str:
        text = " ".join(self.text().split())
        return repr(text[:size] + ("..." if len(text) > size else ""))


def basic_auth(secrets: Secrets, default_user: str = "") -> dict[str, str]:
    """HTTP basic auth from the `username` and `password` secrets, when the definition names them."""
    found = login(secrets)
    if "password" not in found:
        return {}
    pair = f"{found.get('username') or default_user}:{found['password']}".encode()
    encoded = base64.b64encode(pair).decode("ascii")
    secrets.remember(encoded)
    return {"Authorization": f"Basic {encoded}"}


def token_or_basic(secrets: Secrets, token_secret: str, scheme: str) -> dict[str, str]:
    """`Authorization: <scheme> <token>` when the token secret is named, else basic auth."""
    token = secrets.get(token_secret)
    if token:
        return {"Authorization": f"{scheme} {token}"}
    return basic_auth(secrets)


class HttpApi:
    """`async with HttpApi(target, ctx, secrets) as api: reply = await api.get("/path")`."""

    def __init__(
        self,
        target: Target,
        ctx: ProbeContext,
        secrets: Secrets,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        parts = split_url(target.endpoint.url)
        if parts.scheme not in ("http", "https"):
            raise ProbeError(
                Reason.unsupported, f"{target.check}: expected an http(s) URL, got {parts.scheme}://"
            )
        self._base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self._tls = parts.scheme == "https"
        self._target = target
        self._ctx = ctx
        self._secrets = secrets
        self._headers = {"User-Agent": ctx.run.user_agent, "X-SRE-Probe-Id": ctx.probe_id, **(headers or {})}
        self._session: aiohttp.ClientSession | None = None
        self._tls_seen = False

    async def __aenter__(self) -> HttpApi:
        connector = aiohttp.TCPConnector(ssl=self._ctx.ssl_context() if self._tls else False)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self._target.timeout),
            headers=self._headers,
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def checked(self, path: str, *, phase: str, method: str = "GET", json_body: Any = None) -> Reply:
        """A request timed as `phase`, its status recorded as `http_status` and required to be 200."""
        with self._ctx.phase(phase):
            reply = await self.request(method, path, json_body=json_body)
        self._ctx.fact("http_status", reply.status)
        self.evidence(reply)
        expect_status(reply, 200)
        return reply

    def evidence(self, reply: Reply) -> None:
        """Keep this answer's body and headers for the definition's conditions (`body.$.status`)."""
        self._ctx.observation.body = reply.body
        self._ctx.observation.headers = {k.lower(): v for k, v in reply.headers.items()}

    async def get(
        self, path: str, *, params: dict[str, str] | None = None, max_body: int = MAX_BODY
    ) -> Reply:
        return await self.request("GET", path, params=params, max_body=max_body)

    async def post(
        self,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        params: dict[str, str] | None = None,
    ) -> Reply:
        return await self.request("POST", path, json_body=json_body, data=data, params=params)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        max_body: int = MAX_BODY,
    ) -> Reply:
        assert self._session is not None, "use HttpApi as an async context manager"
        what = f"{method} {path}"
        try:
            async with self._session.request(
                method,
                self._base + path,
                params=params,
                json=json_body,
                data=data,
                server_hostname=self._target.endpoint.server_name if self._tls else None,
                allow_redirects=False,
            ) as resp:
                self._record_tls(resp)
                body = await read_body(resp, max_body, what)
                return Reply(method, path, resp.status, resp.headers, body)
        except ProbeError:
            raise
        except aiohttp.ClientConnectorCertificateError as exc:
            raise ProbeError(reason_for(exc.certificate_error), f"{what}: {exc.certificate_error}") from None
        except aiohttp.ClientConnectorError as exc:
            fail(exc.os_error, what, self._secrets)
        except NOT_HTTP as exc:
            # The peer spoke, but not HTTP (or hung up mid-answer).
            message = self._secrets.scrub(one_line(exc))
            raise ProbeError(Reason.protocol, f"{what}: {message}") from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            fail(exc, what, self._secrets)

    def _record_tls(self, resp: aiohttp.ClientResponse) -> None:
        if not self._tls or self._tls_seen:
            return
        # A small answer is read whole before the response is handed over, and its connection
        # released to the pool; the protocol still holds the transport it came on.
        holder: Any = resp.connection or getattr(resp, "_protocol", None)
        transport = getattr(holder, "transport", None)
        if transport is not None:
            self._tls_seen = True
            ssl_object = transport.get_extra_info("ssl_object")
            if ssl_object is not None:
                tlsinfo.record_session(self._ctx, ssl_object)


async def read_body(resp: aiohttp.ClientResponse, limit: int, what: str) -> bytes:
    """The whole body, or `protocol` once it grows past `limit`: never more than that in memory."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await resp.content.read(65536):
        size += len(chunk)
        if size > limit:
            raise ProbeError(Reason.protocol, f"{what}: answer over {limit} bytes, more than this API sends")
        chunks.append(chunk)
    return b"".join(chunks)


def expect_text(reply: Reply, text: str) -> None:
    """A plain-text health answer (`OK`, `Ok.`); anything else is not the expected server."""
    if reply.text().strip() != text:
        raise ProbeError(Reason.protocol, f"{reply.request}: expected {text!r}, got {reply.snippet()}")


def expect_status(reply: Reply, *ok: int) -> None:
    """401/403 are auth failures; any other status outside `ok` is a status_code failure."""
    if reply.status in ok:
        return
    if reply.status in (401, 403):
        raise ProbeError(Reason.auth, f"{reply.request}: HTTP {reply.status} (credentials refused)")
    raise ProbeError(Reason.status_code, f"{reply.request}: HTTP {reply.status}: {reply.snippet()}")

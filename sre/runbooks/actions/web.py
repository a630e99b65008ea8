"""HTTP actions: a call to an API, a notification webhook, Alertmanager silences (API v2)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from sre.errors import one_line
from sre.runbooks.actions.base import Action, ActionFailed, Args, Check, Context

CLIENT_ERROR = range(400, 500)


async def http_request(ctx: Context, method: str, url: str, **kwargs: Any) -> Any:
    import httpx

    try:
        async with httpx.AsyncClient(timeout=10, follow_redirects=False) as client:
            return await client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise ActionFailed(ctx.scrub(f"{method} {url}: {one_line(exc)}")) from None


def _url(ctx: Context, url: str, service: str | None, tier: str | None, param: str | None = None) -> str:
    if service is None:
        if not url.startswith(("http://", "https://")):
            raise ActionFailed(
                f"url {url!r}: expected http(s)://... or a path with service and tier", permanent=True
            )
        return url
    endpoint = ctx.endpoint(service, tier or "")
    base = endpoint.url if param is None else endpoint.params.get(param)
    if not base or not base.startswith(("http://", "https://")):
        raise ActionFailed(
            f"{service}/{tier}: no http(s) URL in endpoint {'url' if param is None else 'params.' + param}",
            permanent=True,
        )
    return base.rstrip("/") + "/" + url.lstrip("/")


class HttpCheck(Args):
    method: str = "GET"
    url: str
    expect_status: tuple[int, ...] = (200,)


class HttpArgs(Args):
    method: str = Field("POST", pattern=r"^(GET|POST|PUT|PATCH|DELETE)$")
    url: str  # absolute, or a path on the endpoint of service/tier
    service: str | None = None
    tier: str | None = None
    endpoint_param: str | None = None  # the base URL is this param of the endpoint, not its URL
    json_body: dict[str, Any] | None = Field(None, alias="json")
    expect_status: tuple[int, ...] = (200, 201, 202, 204)
    check: HttpCheck | None = None  # done when this request answers one of its statuses


class HttpCall(Action):
    name = "http"
    Args = HttpArgs

    async def check(self, args: Any, ctx: Context) -> Check:
        if args.check is None:
            return Check(done=False)
        url = _url(ctx, args.check.url, args.service, args.tier, args.endpoint_param)
        response = await http_request(ctx, args.check.method, url)
        return Check(
            done=response.status_code in args.check.expect_status, facts={"status": response.status_code}
        )

    async def apply(self, args: Any, ctx: Context) -> dict[str, Any]:
        url = _url(ctx, args.url, args.service, args.tier, args.endpoint_param)
        response = await http_request(
            ctx, args.method, url, json=args.json_body, headers={"Sre-Run-Id": ctx.run_id}
        )
        if response.status_code not in args.expect_status:
            raise ActionFailed(
                f"{args.method} {url}: HTTP {response.status_code}",
                permanent=response.status_code in CLIENT_ERROR,
            )
        return {"status": response.status_code}


class NotifyArgs(Args):
    message: str
    url: str | None = None  # default: the --notify-url of `sre runbook` / `sre serve`


class Notify(Action):
    """At least once: a resumed run may notify again."""

    name = "notify"
    Args = NotifyArgs

    async def apply(self, args: Any, ctx: Context) -> dict[str, Any]:
        url = args.url or ctx.settings.notify_url
        if not url:
            return {"sent": False}  # no webhook configured: the journal holds the message
        response = await http_request(ctx, "POST", url, json={"run_id": ctx.run_id, "message": args.message})
        if response.status_code >= 300:
            raise ActionFailed(f"notify {url}: HTTP {response.status_code}")
        return {"sent": True}


class SilenceArgs(Args):
    matchers: dict[str, str] = Field(min_length=1)  # label: value (equality)
    duration: float = Field(3600, gt=0, le=7 * 86400)  # seconds; expired at the end of the run anyway
    comment: str


def _marker(ctx: Context) -> str:
    return f"[sre run {ctx.run_id}]"


class Silence(Action):
    """A silence with the run id in its comment; found again by it (check), expired at the end."""

    name = "alertmanager_silence"
    Args = SilenceArgs
    reversible = True

    def _base(self, ctx: Context) -> str:
        url = ctx.settings.alertmanager_url
        if not url:
            raise ActionFailed(
                "no Alertmanager URL (--alertmanager-url or $SRE_ALERTMANAGER_URL)", permanent=True
            )
        return url.rstrip("/")

    async def _ours(self, ctx: Context) -> list[str]:
        response = await http_request(ctx, "GET", f"{self._base(ctx)}/api/v2/silences")
        if response.status_code != 200:
            raise ActionFailed(f"Alertmanager silences: HTTP {response.status_code}")
        return [
            s["id"]
            for s in response.json()
            if _marker(ctx) in s.get("comment", "")
            and s.get("status", {}).get("state") in ("active", "pending")
        ]

    async def check(self, args: Any, ctx: Context) -> Check:
        if not ctx.settings.alertmanager_url:
            # Nothing to silence with: the step has nothing to do (the plan shows it).
            return Check(done=True, facts={"alertmanager": "not configured"})
        ours = await self._ours(ctx)
        return Check(done=bool(ours))

    async def apply(self, args: Any, ctx: Context) -> dict[str, Any]:
        now = dt.datetime.now(dt.UTC)
        body = {
            "matchers": [
                {"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in args.matchers.items()
            ],
            "startsAt": now.isoformat(),
            "endsAt": (now + dt.timedelta(seconds=args.duration)).isoformat(),
            "createdBy": "sre runbook",
            "comment": f"{args.comment} {_marker(ctx)}",
        }
        response = await http_request(ctx, "POST", f"{self._base(ctx)}/api/v2/silences", json=body)
        if response.status_code != 200:
            raise ActionFailed(
                f"Alertmanager refused the silence: HTTP {response.status_code}",
                permanent=response.status_code in CLIENT_ERROR,
            )
        return {"silence_id": response.json().get("silenceID")}

    async def compensate(self, args: Any, ctx: Context) -> None:
        await self.finish(args, ctx)

    async def finish(self, args: Any, ctx: Context) -> None:
        for sid in await self._ours(ctx):
            response = await http_request(ctx, "DELETE", f"{self._base(ctx)}/api/v2/silence/{sid}")
            if response.status_code != 200:
                raise ActionFailed(f"Alertmanager: cannot expire silence {sid}: HTTP {response.status_code}")

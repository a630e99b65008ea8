"""The status page at `/`: server-rendered HTML over the same data the JSON API returns.

Signing in takes an API token (the same --api-token-file names and tokens as the API);
the browser then holds only a random session id (HttpOnly, SameSite=Strict cookie),
never the token. Approve and abort are forms that carry the session's CSRF token;
approve also carries the plan hash it was shown, and the engine approves exactly
that plan (facts that drifted since give a new hash, which this approval does not
cover). Without JavaScript everything works; with it the grid refreshes itself.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from sre.errors import InputError
from sre.runbooks.db import StoreError
from sre.runbooks.store import FINAL
from sre.server import status

if TYPE_CHECKING:
    from sre.server.app import Receiver

COOKIE = "sre_session"
SESSION_SECONDS = 12 * 3600
MAX_FORM = 4096
REFRESH_SECONDS = 5


@dataclass
class Session:
    user: str
    csrf: str
    expires: float


def _when(value: float | None) -> str:
    if not value:
        return "-"
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


class Page:
    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.sessions: dict[str, Session] = {}
        self.templates = Environment(
            loader=PackageLoader("sre.server", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
        )
        self.templates.filters["when"] = _when
        self.templates.filters["seconds"] = _seconds

    # --- sessions --------------------------------------------------------------------------------

    def session(self, request: Request) -> Session | None:
        sid = request.cookies.get(COOKIE, "")
        found = self.sessions.get(sid)
        if found is None or found.expires < time.time():
            self.sessions.pop(sid, None)
            return None
        return found

    def user(self, request: Request) -> str | None:
        """Who asks: an API bearer token, or a signed-in page session."""
        by_token = self.receiver._api_user(request)
        if by_token is not None:
            return by_token
        found = self.session(request)
        return found.user if found else None

    async def _form(self, request: Request) -> dict[str, str] | None:
        body = await request.body()
        if len(body) > MAX_FORM:
            return None
        fields = parse_qs(body.decode(errors="replace"), max_num_fields=20)
        return {k: v[0] for k, v in fields.items()}

    def render(self, name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        html = self.templates.get_template(name).render(refresh=REFRESH_SECONDS, **values)
        headers = {
            "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; form-action 'self'; frame-ancestors 'none'",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        }
        return HTMLResponse(html, status_code=status_code, headers=headers)

    # --- pages -----------------------------------------------------------------------------------

    async def login_form(self, request: Request) -> Response:
        configured = bool(self.receiver.config.api_tokens)
        return self.render("login.html.j2", configured=configured, error=None)

    async def login(self, request: Request) -> Response:
        form = await self._form(request)
        token = ((form or {}).get("token") or "").strip().encode()
        user = None
        for name, known in self.receiver.config.api_tokens.items():
            if token and hmac.compare_digest(token, known):
                user = name
        if user is None:
            configured = bool(self.receiver.config.api_tokens)
            return self.render("login.html.j2", 401, configured=configured, error="unknown token")
        sid = secrets.token_urlsafe(32)
        self.sessions[sid] = Session(user, secrets.token_urlsafe(24), time.time() + SESSION_SECONDS)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, sid, max_age=SESSION_SECONDS, httponly=True, samesite="strict")
        return response

    async def logout(self, request: Request) -> Response:
        self.sessions.pop(request.cookies.get(COOKIE, ""), None)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    def _views(self) -> dict[str, Any]:
        store = self.receiver.engine.store
        platform = self.receiver.engine.platform
        runs = [r.as_json() for r in store.runs(30)]
        active = [r for r in runs if r["state"] not in FINAL]
        waiting = [
            status.run_view(r, store.plan(r["plan_hash"])) for r in active if r["state"] == "waiting_approval"
        ]
        running = [status.run_view(r, None) for r in active if r["state"] != "waiting_approval"]
        finished = [
            status.run_view(found.as_json(), None)
            for r in runs
            if r["state"] in FINAL and (found := store.run(r["id"])) is not None
        ][:10]
        alerts = [e | {"fate": status.fate(e)} for e in store.episodes(20)]
        return {
            "grid": status.grid(platform, self.receiver.probes.latest()),
            "platform": platform.platform.name,
            "waiting": waiting,
            "running": running,
            "finished": finished,
            "alerts": alerts,
        }

    async def index(self, request: Request) -> Response:
        found = self.session(request)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        try:
            views = await run_in_threadpool(self._views)
        except StoreError as exc:
            return self.render("error.html.j2", 503, message=str(exc))
        name = "live.html.j2" if request.query_params.get("part") == "status" else "index.html.j2"
        return self.render(name, user=found.user, csrf=found.csrf, **views)

    async def service_page(self, request: Request) -> Response:
        found = self.session(request)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        sid = request.path_params["service"]
        recent = await run_in_threadpool(self.receiver.probes.recent, 10)
        view = status.service(self.receiver.engine.platform, sid, recent)
        if view is None:
            return self.render("error.html.j2", 404, message=f"no service {sid!r} in the platform")
        return self.render("service.html.j2", user=found.user, csrf=found.csrf, svc=view)

    async def run_page(self, request: Request) -> Response:
        found = self.session(request)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        store = self.receiver.engine.store
        run = await run_in_threadpool(store.run, request.path_params["run_id"])
        if run is None:
            return self.render("error.html.j2", 404, message="no such run")
        plan = await run_in_threadpool(store.plan, run.plan_hash)
        view = status.run_view(run.as_json(), plan)
        return self.render("run.html.j2", user=found.user, csrf=found.csrf, run=view)

    # --- actions ---------------------------------------------------------------------------------

    async def _checked(self, request: Request) -> tuple[Session, dict[str, str]] | Response:
        found = self.session(request)
        if found is None:
            return self.render("error.html.j2", 401, message="sign in first")
        form = await self._form(request)
        if form is None or not hmac.compare_digest(form.get("csrf", ""), found.csrf):
            return self.render("error.html.j2", 403, message="the form is stale or not from this page")
        return found, form

    async def approve(self, request: Request) -> Response:
        checked = await self._checked(request)
        if isinstance(checked, Response):
            return checked
        found, form = checked
        plan_hash = request.path_params["plan_hash"]
        if form.get("plan_hash") != plan_hash:
            return self.render("error.html.j2", 400, message="the form's plan hash is not the one approved")
        try:
            await run_in_threadpool(self.receiver.engine.approve, plan_hash, found.user)
        except InputError as exc:
            return self.render("error.html.j2", 403, message=str(exc))
        self.receiver.wake.set()
        back = form.get("run_id", "")
        return RedirectResponse(f"/runs/{back}" if back.isascii() and back else "/", status_code=303)

    async def abort(self, request: Request) -> Response:
        checked = await self._checked(request)
        if isinstance(checked, Response):
            return checked
        found, _ = checked
        run_id = request.path_params["run_id"]
        try:
            await run_in_threadpool(self.receiver.engine.abort, run_id, found.user)
        except InputError as exc:
            return self.render("error.html.j2", 409, message=str(exc))
        return RedirectResponse(f"/runs/{run_id}", status_code=303)

    # --- JSON ------------------------------------------------------------------------------------

    async def status_json(self, request: Request) -> Response:
        if self.user(request) is None:
            return JSONResponse({"error": "the API needs its own bearer token (--api-token-file)"}, 401)
        latest = await run_in_threadpool(self.receiver.probes.latest)
        return JSONResponse(status.grid(self.receiver.engine.platform, latest))

    async def service_json(self, request: Request) -> Response:
        if self.user(request) is None:
            return JSONResponse({"error": "the API needs its own bearer token (--api-token-file)"}, 401)
        recent = await run_in_threadpool(self.receiver.probes.recent, 10)
        view = status.service(self.receiver.engine.platform, request.path_params["service"], recent)
        return JSONResponse(view) if view else JSONResponse({"error": "no such service"}, 404)

    async def script(self, request: Request) -> Response:
        source = self.templates.get_template("refresh.js").render()
        return Response(source, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


def routes(page: Page) -> list[Route]:
    return [
        Route("/", page.index, methods=["GET"]),
        Route("/login", page.login_form, methods=["GET"]),
        Route("/login", page.login, methods=["POST"]),
        Route("/logout", page.logout, methods=["POST"]),
        Route("/services/{service}", page.service_page, methods=["GET"]),
        Route("/runs/{run_id}", page.run_page, methods=["GET"]),
        Route("/ui/plans/{plan_hash}/approve", page.approve, methods=["POST"]),
        Route("/ui/runs/{run_id}/abort", page.abort, methods=["POST"]),
        Route("/api/v1/status", page.status_json, methods=["GET"]),
        Route("/api/v1/services/{service}", page.service_json, methods=["GET"]),
        Route("/static/refresh.js", page.script, methods=["GET"]),
    ]

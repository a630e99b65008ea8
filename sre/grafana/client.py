"""Talk to Grafana's HTTP API through grafana-client, with every failure as one clear line.

grafana-client raises its own exceptions for HTTP errors, lets niquests' connection errors
through, and returns a plain string for a text/* answer: all of that is turned into
`GrafanaError` here, so callers only see decoded JSON objects or a message to print.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sre.errors import InputError, SreError, flat, one_line
from sre.scrub import header_safe
from sre.urls import check_http_url, without_credentials

URL_ENV = "GRAFANA_URL"
# Names of environment variables, not secrets.
TOKEN_FILE_ENV = "GRAFANA_TOKEN_FILE"  # noqa: S105
DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 600.0


class GrafanaError(SreError):
    """Grafana refused or failed a request; `status` is the HTTP status (0 when there was no answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class GrafanaTarget:
    url: str
    token: str = field(repr=False)  # never printed
    timeout: float = DEFAULT_TIMEOUT

    @property
    def shown(self) -> str:
        """The URL without any user:password part, for messages."""
        return without_credentials(self.url)


def resolve_target(
    url: str | None, token_file: Path | None, token_env: str, timeout: float = DEFAULT_TIMEOUT
) -> GrafanaTarget:
    """URL from --url or $GRAFANA_URL; the token from --token-file, $GRAFANA_TOKEN_FILE, or the
    environment variable named by --token-env (default GRAFANA_TOKEN). Never from the command line."""
    what = "--url" if url else f"${URL_ENV}"
    url = url or os.environ.get(URL_ENV)
    if not url:
        raise InputError(f"no Grafana URL: give --url or set {URL_ENV}")
    check_http_url(url, what=what)
    if not 0 < timeout <= MAX_TIMEOUT:
        raise InputError(f"--timeout: expected seconds from 0 to {MAX_TIMEOUT:g}; got {timeout}")
    path = token_file or (Path(os.environ[TOKEN_FILE_ENV]) if os.environ.get(TOKEN_FILE_ENV) else None)
    if path is not None:
        from sre.safefile import read_secret

        where = "--token-file" if token_file else f"${TOKEN_FILE_ENV}"
        token = read_secret(path, what=where)
        where = f"{where}: {path}"
    else:
        token = os.environ.get(token_env, "").strip()
        if not token:
            raise InputError(
                f"no Grafana token: set {token_env}, or give --token-file (a service-account token file)"
            )
        where = f"${token_env}"
    if not header_safe(token):
        raise InputError(f"{where}: the Grafana token is not one line of printable ASCII (a line break?)")
    return GrafanaTarget(url, token, timeout)


class Grafana:
    """The few calls publishing needs, each returning decoded JSON or raising GrafanaError."""

    def __init__(self, target: GrafanaTarget) -> None:
        from grafana_client.api import GrafanaApi

        self.target = target
        url = target.url
        # grafana-client appends "api" to the path as it is: a sub-path needs its trailing slash.
        if urlsplit(url).path not in ("", "/") and not url.endswith("/"):
            url += "/"
        self._api = GrafanaApi.from_url(url, credential=target.token, timeout=target.timeout)
        self._no_redirects()

    def _no_redirects(self) -> None:
        """A redirect is never followed: a 307 would re-post the dashboard (and, to the same host,
        the token) wherever the answer points. It is reported, with where it pointed."""
        session = self._api.client.s
        send = session.request

        def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            kwargs["allow_redirects"] = False
            response = send(method, url, *args, **kwargs)
            if 300 <= response.status_code < 400:
                try:
                    where = without_credentials(response.headers.get("Location", "")) or "nowhere"
                except ValueError:
                    where = "an address that is not a URL"
                raise GrafanaError(
                    f"Grafana {self.target.shown}: {method.upper()} {urlsplit(url).path}: "
                    f"answered {response.status_code} redirecting to {where}; redirects are not "
                    "followed (give the final address as --url or GRAFANA_URL)",
                    response.status_code,
                )
            return response

        session.request = request

    def get_folder(self, uid: str) -> dict[str, Any] | None:
        return self._optional(f"GET /api/folders/{uid}", self._api.folder.get_folder, uid)

    def create_folder(self, uid: str, title: str) -> dict[str, Any]:
        return self._object(f"POST /api/folders ({uid})", self._api.folder.create_folder, title, uid)

    def rename_folder(self, uid: str, title: str) -> dict[str, Any]:
        call = self._api.folder.update_folder
        return self._object(f"PUT /api/folders/{uid}", lambda: call(uid, title=title, overwrite=True))

    def get_dashboard(self, uid: str) -> dict[str, Any] | None:
        return self._optional(f"GET /api/dashboards/uid/{uid}", self._api.dashboard.get_dashboard, uid)

    def save_dashboard(self, payload: dict[str, Any]) -> dict[str, Any]:
        uid = payload["dashboard"].get("uid")
        return self._object(f"POST /api/dashboards/db ({uid})", self._api.dashboard.update_dashboard, payload)

    def get_datasource(self, uid: str) -> dict[str, Any] | None:
        return self._optional(
            f"GET /api/datasources/uid/{uid}", self._api.datasource.get_datasource_by_uid, uid
        )

    def create_datasource(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._object("POST /api/datasources", self._api.datasource.create_datasource, body)

    def update_datasource(self, uid: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._object(
            f"PUT /api/datasources/uid/{uid}", self._api.datasource.update_datasource_by_uid, uid, body
        )

    # --- error translation ----------------------------------------------------------------------

    def _optional(self, what: str, call: Callable[..., Any], *args: Any) -> dict[str, Any] | None:
        try:
            return self._object(what, call, *args)
        except GrafanaError as exc:
            if exc.status == 404:
                return None
            raise

    def _object(self, what: str, call: Callable[..., Any], *args: Any) -> dict[str, Any]:
        answer = self._request(what, call, *args)
        if not isinstance(answer, dict):
            kind = "text" if isinstance(answer, str) else type(answer).__name__
            raise GrafanaError(f"{self._where(what)}: expected a JSON object, got {kind} (is this Grafana?)")
        return answer

    def _request(self, what: str, call: Callable[..., Any], *args: Any) -> Any:
        import niquests
        from grafana_client.client import (
            GrafanaClientError,
            GrafanaException,
            GrafanaServerError,
            GrafanaTimeoutError,
        )

        where = self._where(what)
        try:
            return call(*args)
        except GrafanaTimeoutError:
            raise GrafanaError(f"{where}: no answer within {self.target.timeout:g} s") from None
        except GrafanaServerError as exc:
            raise GrafanaError(
                f"{where}: Grafana failed with {exc.status_code}: {_message(exc.response)}", exc.status_code
            ) from None
        except GrafanaClientError as exc:
            raise GrafanaError(
                f"{where}: {_client_error(exc.status_code, exc.response)}", exc.status_code
            ) from None
        except GrafanaException as exc:
            raise GrafanaError(f"{where}: request failed: {one_line(exc, 200)}") from None
        except niquests.exceptions.JSONDecodeError:
            # A 2xx answer whose body is not JSON (a proxy's error page, say).
            raise GrafanaError(f"{where}: the answer is not JSON (is this Grafana?)") from None
        except niquests.exceptions.Timeout:
            raise GrafanaError(f"{where}: no answer within {self.target.timeout:g} s") from None
        except niquests.exceptions.ConnectionError as exc:
            raise GrafanaError(f"{where}: cannot connect: {one_line(exc, 200)}") from None
        except niquests.exceptions.RequestException as exc:
            raise GrafanaError(f"{where}: request failed: {one_line(exc, 200)}") from None
        except ValueError:
            raise GrafanaError(f"{where}: the answer is not JSON (is this Grafana?)") from None

    def _where(self, what: str) -> str:
        return f"Grafana {self.target.shown}: {what}"


def _client_error(status: int, response: Any) -> str:
    message = _message(response)
    if status == 401:
        return "401 Unauthorized: the token was refused (check GRAFANA_TOKEN or --token-file)"
    if status == 403:
        return f"403 Forbidden: the token may not do this (it needs an Editor or Admin role): {message}"
    if status == 404:
        return f"404 Not found: {message}"
    if status == 409:
        return f"409 Conflict: {message}"
    if status == 412:
        reason = response.get("status") if isinstance(response, dict) else None
        hint = {
            "version-mismatch": "the dashboard was changed by someone else since it was read",
            "name-exists": "another dashboard in that folder already has this title or UID",
            "plugin-dashboard": "a plugin owns this dashboard",
        }.get(str(reason), "")
        return f"412 Precondition failed ({reason or 'no status'}): {message}" + (f"; {hint}" if hint else "")
    return f"{status}: {message}"


def _message(response: Any) -> str:
    if isinstance(response, dict) and "message" in response:
        return flat(str(response["message"]), 200)
    text = flat(str(response or ""), 200) or "(empty body)"
    return text if isinstance(response, dict) else f"not JSON: {text}"

"""A local HTTP server that answers like Grafana's HTTP API, for publishing tests.

Grafana cannot run here, and grafana-client speaks HTTP through niquests, which respx
cannot intercept; so this is a real HTTP server on a free loopback port that keeps folders,
dashboards and datasources in memory. Status codes and bodies follow Grafana's HTTP API
reference (Dashboard, Folder and Data source APIs):

- GET /api/folders/:uid -> 200 folder | 404; POST /api/folders -> 200 | 400 | 409 exists;
  PUT /api/folders/:uid -> 200 | 404 | 412 version-mismatch (unless overwrite).
- GET /api/dashboards/uid/:uid -> 200 {dashboard, meta} | 404.
- POST /api/dashboards/db -> 200 {id, uid, url, status, version, slug} | 400 (bad JSON, no title,
  UID over 40 characters, unknown folderUid) | 412 version-mismatch / name-exists (unless overwrite).
  On save Grafana sets the dashboard's id and bumps its version, as here.
- GET /api/search -> the dashboard hits.
- GET /api/datasources/uid/:uid, POST /api/datasources (409 on a taken name), PUT /api/datasources/uid/:uid.
- 401 without a known bearer token; 403 when a Viewer token writes.

`fail(...)` makes the next matching requests answer with a given status and body, a non-JSON
page, or no answer in time, to test how the client reports each failure.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

EDITOR_TOKEN = "glsa_editor_token_for_tests"
VIEWER_TOKEN = "glsa_viewer_token_for_tests"


@dataclass
class Fault:
    method: str
    path: str  # a regular expression matched against the path (without the prefix)
    status: int = 500
    body: bytes = b'{"message":"internal server error"}'
    content_type: str = "application/json"
    delay: float = 0.0
    times: int = 1
    after: int = 0  # let this many matching requests through first
    headers: dict[str, str] = field(default_factory=dict)  # e.g. a redirect's Location


@dataclass
class GrafanaState:
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)  # uid -> {dashboard, folderUid, ...}
    datasources: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    saves: list[dict[str, Any]] = field(default_factory=list)  # every accepted POST /api/dashboards/db body
    faults: list[Fault] = field(default_factory=list)
    next_id: int = 1


class FakeGrafana:
    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix.rstrip("/")
        self.state = GrafanaState()
        self.lock = threading.Lock()
        handler = _handler_for(self)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.prefix}"

    def start(self) -> FakeGrafana:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def fail(self, method: str, path: str, **kwargs: Any) -> None:
        with self.lock:
            self.state.faults.append(Fault(method, path, **kwargs))

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p in self.state.requests if m in ("POST", "PUT", "DELETE")]

    # --- the API ------------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], token: str | None, body: bytes
    ) -> Any:
        if token not in (EDITOR_TOKEN, VIEWER_TOKEN):
            return 401, {"message": "Unauthorized", "messageId": "auth.unauthorized", "statusCode": 401}
        if method != "GET" and token == VIEWER_TOKEN:
            return 403, {
                "accessErrorId": "ACE0000000001",
                "message": "You'll need additional permissions to perform this action. "
                "Permissions needed: dashboards:write",
                "title": "Access denied",
            }
        data: Any = None
        if method in ("POST", "PUT"):
            try:
                data = json.loads(body or b"null")
            except ValueError:
                return 400, {"message": "bad request data"}
        routes: list[tuple[str, str, Callable[..., tuple[int, Any]]]] = [
            ("GET", r"/api/folders/([^/]+)", self._get_folder),
            ("PUT", r"/api/folders/([^/]+)", self._update_folder),
            ("POST", r"/api/folders", self._create_folder),
            ("GET", r"/api/dashboards/uid/([^/]+)", self._get_dashboard),
            ("POST", r"/api/dashboards/db", self._save_dashboard),
            ("GET", r"/api/search", self._search),
            ("GET", r"/api/datasources/uid/([^/]+)", self._get_datasource),
            ("PUT", r"/api/datasources/uid/([^/]+)", self._update_datasource),
            ("POST", r"/api/datasources", self._create_datasource),
        ]
        for verb, pattern, action in routes:
            found = re.fullmatch(pattern, path)
            if verb == method and found:
                return action(*found.groups(), data=data, query=query)
        return 404, {"message": "Not found"}

    def _get_folder(self, uid: str, **_: Any) -> Any:
        folder = self.state.folders.get(uid)
        if folder is None:
            return 404, {"message": "folder not found", "messageId": "folder.notFound", "statusCode": 404}
        return 200, folder

    def _create_folder(self, *, data: Any, **_: Any) -> Any:
        if not isinstance(data, dict) or not data.get("title"):
            return 400, {"message": "folder title cannot be empty"}
        uid = data.get("uid") or f"f{self.state.next_id}"
        if uid in self.state.folders:
            return 409, {"message": "a folder with the same uid already exists"}
        folder = {
            "id": self._new_id(),
            "uid": uid,
            "title": data["title"],
            "url": f"/dashboards/f/{uid}/{_slug(data['title'])}",
            "hasAcl": False,
            "canSave": True,
            "canEdit": True,
            "canAdmin": True,
            "version": 1,
        }
        self.state.folders[uid] = folder
        return 200, folder

    def _update_folder(self, uid: str, *, data: Any, **_: Any) -> Any:
        folder = self.state.folders.get(uid)
        if folder is None:
            return 404, {"message": "folder not found"}
        if not data.get("overwrite") and data.get("version") != folder["version"]:
            return 412, {
                "message": "The folder has been changed by someone else",
                "status": "version-mismatch",
            }
        folder.update(title=data.get("title", folder["title"]), version=folder["version"] + 1)
        return 200, folder

    def _get_dashboard(self, uid: str, **_: Any) -> Any:
        stored = self.state.dashboards.get(uid)
        if stored is None:
            return 404, {
                "message": "Dashboard not found",
                "messageId": "dashboards.notFound",
                "statusCode": 404,
            }
        dashboard = stored["dashboard"]
        folder = self.state.folders.get(stored["folderUid"], {})
        meta = {
            "type": "db",
            "canSave": True,
            "slug": _slug(dashboard["title"]),
            "url": f"/d/{uid}/{_slug(dashboard['title'])}",
            "version": dashboard["version"],
            "folderId": folder.get("id", 0),
            "folderUid": stored["folderUid"],
            "folderTitle": folder.get("title", "General"),
            "provisioned": False,
        }
        return 200, {"dashboard": json.loads(json.dumps(dashboard)), "meta": meta}

    def _save_dashboard(self, *, data: Any, **_: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("dashboard"), dict):
            return 400, {"message": "bad request data"}
        dashboard = json.loads(json.dumps(data["dashboard"]))
        title = dashboard.get("title")
        if not title:
            return 400, {"message": "Dashboard title cannot be empty", "status": "empty-name"}
        uid = dashboard.get("uid") or f"d{self.state.next_id}"
        if len(uid) > 40:
            return 400, {"message": "uid too long, max 40 characters"}
        folder_uid = data.get("folderUid") or ""
        if folder_uid and folder_uid not in self.state.folders:
            return 400, {"message": "folder not found"}
        overwrite = bool(data.get("overwrite"))
        existing = self.state.dashboards.get(uid)
        if existing and not overwrite and dashboard.get("version") != existing["dashboard"]["version"]:
            return 412, {
                "message": "The dashboard has been changed by someone else",
                "status": "version-mismatch",
            }
        clash = [
            u
            for u, d in self.state.dashboards.items()
            if u != uid and d["folderUid"] == folder_uid and d["dashboard"]["title"] == title
        ]
        if clash and not overwrite:
            return 412, {
                "message": "A dashboard with the same name in the folder already exists",
                "status": "name-exists",
            }
        dashboard["uid"] = uid
        dashboard["id"] = existing["dashboard"]["id"] if existing else self._new_id()
        dashboard["version"] = existing["dashboard"]["version"] + 1 if existing else 1
        self.state.dashboards[uid] = {
            "dashboard": dashboard,
            "folderUid": folder_uid,
            "message": data.get("message"),
        }
        self.state.saves.append(data)
        slug = _slug(title)
        return 200, {
            "id": dashboard["id"],
            "uid": uid,
            "url": f"/d/{uid}/{slug}",
            "status": "success",
            "version": dashboard["version"],
            "slug": slug,
        }

    def _search(self, *, query: dict[str, list[str]], **_: Any) -> Any:
        tags = set(query.get("tag", []))
        hits = []
        for uid, stored in sorted(self.state.dashboards.items()):
            dashboard = stored["dashboard"]
            if tags and not tags <= set(dashboard.get("tags", [])):
                continue
            hits.append(
                {
                    "id": dashboard["id"],
                    "uid": uid,
                    "title": dashboard["title"],
                    "type": "dash-db",
                    "tags": dashboard.get("tags", []),
                    "folderUid": stored["folderUid"],
                    "url": f"/d/{uid}/{_slug(dashboard['title'])}",
                }
            )
        return 200, hits

    def _get_datasource(self, uid: str, **_: Any) -> Any:
        found = self.state.datasources.get(uid)
        return (200, found) if found else (404, {"message": "Data source not found"})

    def _create_datasource(self, *, data: Any, **_: Any) -> Any:
        if any(d["name"] == data.get("name") for d in self.state.datasources.values()):
            return 409, {"message": "data source with the same name already exists"}
        datasource = {**data, "id": self._new_id()}
        self.state.datasources[data["uid"]] = datasource
        return 200, {"datasource": datasource, "id": datasource["id"], "message": "Datasource added"}

    def _update_datasource(self, uid: str, *, data: Any, **_: Any) -> Any:
        if uid not in self.state.datasources:
            return 404, {"message": "Data source not found"}
        self.state.datasources[uid] = {**data, "id": self.state.datasources[uid]["id"]}
        return 200, {"datasource": self.state.datasources[uid], "message": "Datasource updated"}

    def _new_id(self) -> int:
        self.state.next_id += 1
        return self.state.next_id

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.state.faults:
                if fault.method == method and re.fullmatch(fault.path, path) and fault.times > 0:
                    if fault.after > 0:
                        fault.after -= 1
                        return None
                    fault.times -= 1
                    return fault
        return None


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def _handler_for(grafana: FakeGrafana) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            path = parts.path
            if grafana.prefix:
                if not path.startswith(grafana.prefix + "/"):
                    self._send(404, b"404 page not found", "text/plain")
                    return
                path = path[len(grafana.prefix) :]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            auth = self.headers.get("Authorization", "")
            token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
            with grafana.lock:
                grafana.state.requests.append((self.command, path))
            fault = grafana.take_fault(self.command, path)
            if fault is not None:
                if fault.delay:
                    time.sleep(fault.delay)
                self._send(fault.status, fault.body, fault.content_type, fault.headers)
                return
            with grafana.lock:
                status, answer = grafana.handle(self.command, path, parse_qs(parts.query), token, body)
            self._send(status, json.dumps(answer).encode(), "application/json")

        def _send(
            self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
        ) -> None:
            try:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

    return Handler

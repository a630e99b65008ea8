"""The status page over HTTP, in process: signing in, the forms' checks, escaping, the status API.

The browser test against the sandbox is tests/sandbox/test_status_page.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from rb_support import World
from starlette.testclient import TestClient

from sre.server.app import Config, build_app

API = "api-token-alice-0123456789"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    (world.folder / "runbooks" / "rules.yaml").write_text("version: 1\nrules: []\n")
    config = Config(engine=world.engine(), token=None, api_tokens={"alice": API.encode()})
    app = build_app(config)
    with TestClient(app, follow_redirects=False) as c:
        receiver = app.state.receiver
        result = {
            "service": "cache", "check": "redis", "zone": "internal", "tier": "secondary", "dc": "ams1",
            "endpoint": "redis://127.0.0.1:1", "vantage": "t", "status": "failed",
            "reason": "connect_refused", "message": HOSTILE, "facts": {"role": HOSTILE},
        }  # fmt: skip
        verdict = {
            "tier": "secondary", "status": "degraded", "expected": False, "why": "1 of 1 failed",
            "counts": {"failed": 1}, "root_causes": [{"service": "cache", "reason": "connect_refused"}],
        }  # fmt: skip
        body = {"started_at": 1.0, "environment": "test", "results": [result], "tiers": [verdict]}
        receiver.probes.add(body, 1)
        yield c


def signed_in(client: TestClient) -> str:
    answer = client.post("/login", data={"token": API})
    assert answer.status_code == 303, answer.text
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and API.lower() not in cookie
    page = client.get("/")
    assert page.status_code == 200
    found = re.search(r'<meta name="csrf" content="([^"]+)">', page.text)
    assert found, page.text
    return found.group(1)


def test_the_page_needs_a_signed_in_session(client: TestClient) -> None:
    assert client.get("/").headers["location"] == "/login"
    assert client.get("/services/cache").status_code == 303
    assert client.post("/login", data={"token": "wrong-token-0123456789"}).status_code == 401
    assert client.get("/api/v1/status").status_code == 401


def test_the_grid_names_the_cause_and_escapes_what_servers_said(client: TestClient) -> None:
    signed_in(client)
    page = client.get("/").text
    assert 'id="cell-internal-secondary"' in page and 'data-state="failed"' in page
    assert "root cause: cache (connect refused)" in page
    service = client.get("/services/cache").text
    assert "<script>alert" not in service and "&lt;script&gt;" in service
    assert "onerror=alert(1)>" not in service
    assert client.get("/services/nope").status_code == 404


def test_the_status_api_is_the_grid(client: TestClient) -> None:
    grid = client.get("/api/v1/status", headers={"authorization": f"Bearer {API}"}).json()
    [secondary] = [t for t in grid["tiers"] if t["id"] == "secondary"]
    assert (secondary["word"], secondary["css"], secondary["root_causes"]) == (
        "degraded",
        "failed",
        ["cache (connect refused)"],
    )
    [cell] = [c for z in grid["zones"] for c in z["cells"] if c["tier"] == "secondary"]
    assert cell["state"] == "failed" and cell["symbol"] == "✗"


def test_approve_and_abort_need_the_session_csrf_token_and_the_plan_hash(client: TestClient) -> None:
    assert client.post("/ui/plans/abc/approve", data={"plan_hash": "abc"}).status_code == 401
    csrf = signed_in(client)
    answer = client.post("/ui/plans/abc/approve", data={"csrf": "forged", "plan_hash": "abc"})
    assert answer.status_code == 403
    assert client.post("/ui/runs/r1/abort", data={"csrf": "forged"}).status_code == 403
    other = client.post("/ui/plans/abc/approve", data={"csrf": csrf, "plan_hash": "def"})
    assert other.status_code == 400 and "plan hash" in other.text
    unknown = client.post("/ui/plans/abc/approve", data={"csrf": csrf, "plan_hash": "abc"})
    assert unknown.status_code == 403 and "no plan" in unknown.text

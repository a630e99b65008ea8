"""MLflow check against a local HTTP fixture of the tracking server's documented REST API (/health,
/version, experiments/search), so no 70-second MLflow install is needed to run it."""

from __future__ import annotations

import json

from checkrun import probe
from checkservers import HttpFixture, Route

from sre.probes.model import Reason

SEARCH = "POST /api/2.0/mlflow/experiments/search"
EXPERIMENTS = {
    "experiments": [
        {
            "experiment_id": "0",
            "name": "Default",
            "artifact_location": "mlflow-artifacts:/0",
            "lifecycle_stage": "active",
            "last_update_time": 1764150000000,
            "creation_time": 1764150000000,
        }
    ]
}


def serve(api: HttpFixture, search: Route) -> None:
    api.routes["GET /health"] = Route(200, "OK")
    api.routes["GET /version"] = Route(200, "3.17.2")
    api.routes[SEARCH] = search


def test_health_and_a_real_api_call(api: HttpFixture) -> None:
    serve(api, Route(200, EXPERIMENTS))
    seen = probe("mlflow", api.url).ok()
    assert seen.facts["mlflow_experiments_seen"] == 1
    assert seen.facts["mlflow_version"] == "3.17.2"
    assert seen.facts["http_status"] == 200
    search = next(s for s in api.seen if s.method == "POST")
    assert json.loads(search.body) == {"max_results": 1}
    assert {"health", "api"} <= seen.phases.keys()


def test_empty_store_answers_an_empty_object(api: HttpFixture) -> None:
    serve(api, Route(200, {}))  # protobuf JSON leaves out an empty list
    assert probe("mlflow", api.url).ok().facts["mlflow_experiments_seen"] == 0


def test_healthy_process_with_a_broken_store_fails_on_the_api(api: HttpFixture) -> None:
    serve(api, Route(500, {"error_code": "INTERNAL_ERROR", "message": "database is locked"}))
    seen = probe("mlflow", api.url)
    assert seen.reason is Reason.status_code
    assert "database is locked" in seen.message


def test_bearer_token_and_refused_credentials(api: HttpFixture) -> None:
    serve(api, Route(200, EXPERIMENTS))
    probe("mlflow", api.url, secrets={"token": "tok-123"}).ok()
    assert api.seen[0].headers["Authorization"] == "Bearer tok-123"
    api.routes[SEARCH] = Route(401, "You are not authenticated.")
    assert probe("mlflow", api.url, secrets={"token": "tok-123"}).reason is Reason.auth


def test_health_that_is_not_ok_is_protocol(api: HttpFixture) -> None:
    serve(api, Route(200, EXPERIMENTS))
    api.routes["GET /health"] = Route(200, "<html>proxy login</html>")
    assert probe("mlflow", api.url).reason is Reason.protocol

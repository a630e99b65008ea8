"""MLflow tracking server: `GET /health`, then a real API call (`experiments/search`).

/health answers `OK` without touching the backend store; the search reads
the store, so a server whose database is gone fails here. Auth: `token`
secret (Bearer) or `username`/`password` (the basic-auth app).
"""

from __future__ import annotations

from sre.probes.checks._http_api import HttpApi, expect_text, token_or_basic
from sre.probes.checks._support import Secrets
from sre.probes.context import ProbeContext
from sre.probes.model import ProbeError, Reason, Target

SEARCH = "/api/2.0/mlflow/experiments/search"


async def check_mlflow(target: Target, ctx: ProbeContext) -> None:
    secrets = Secrets(ctx)
    headers = token_or_basic(secrets, "token", "Bearer")
    async with HttpApi(target, ctx, secrets, headers=headers) as api:
        expect_text(await api.checked("/health", phase="health"), "OK")
        # POST with a JSON body works on every MLflow 2.x/3.x server (GET takes only query params).
        search = await api.checked(SEARCH, phase="api", method="POST", json_body={"max_results": 1})
        experiments = search.json_object().get("experiments", [])  # protobuf JSON omits empty lists
        if not isinstance(experiments, list):
            raise ProbeError(Reason.protocol, f"{search.request}: 'experiments' is not a list")
        ctx.fact("mlflow_experiments_seen", len(experiments))
        version = await api.get("/version")
        if version.status == 200 and len(version.body) < 64:
            ctx.fact("mlflow_version", version.text().strip())

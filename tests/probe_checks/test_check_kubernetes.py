"""Kubernetes check against a local HTTP fixture of the API server's documented endpoints (/readyz,
/version, GET /api/v1/nodes as a NodeList): no kube-apiserver can run here, and kmock's emulator serves
neither /readyz nor a pytest set-up this project can use."""

from __future__ import annotations

from typing import Any

from checkrun import probe
from checkservers import HttpFixture, Route

from sre.probes.model import Reason

VERSION = {"major": "1", "minor": "31", "gitVersion": "v1.31.2", "platform": "linux/amd64"}


def node(name: str, ready: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory"},
                {
                    "type": "Ready",
                    "status": ready,
                    "reason": "KubeletReady" if ready == "True" else "NodeStatusUnknown",
                },
            ]
        },
    }


def serve(api: HttpFixture, *nodes: dict[str, Any], readyz: Route | None = None) -> None:
    api.routes["GET /readyz"] = readyz or Route(200, "ok")
    api.routes["GET /version"] = Route(200, VERSION)
    api.routes["GET /api/v1/nodes"] = Route(
        200,
        {
            "kind": "NodeList",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": "12345"},
            "items": list(nodes),
        },
    )


def test_ready_api_and_nodes(api: HttpFixture) -> None:
    serve(api, node("w1", "True"), node("w2", "True"))
    seen = probe("kubernetes", api.url, secrets={"token": "sa-token-1"}).ok()
    assert seen.facts["k8s_version"] == "v1.31.2"
    assert seen.facts["k8s_nodes"] == 2
    assert seen.facts["k8s_nodes_ready"] == 2
    assert seen.facts["k8s_nodes_not_ready"] == []
    assert all(s.headers["Authorization"] == "Bearer sa-token-1" for s in api.seen)
    assert {"readyz", "nodes"} <= seen.phases.keys()


def test_some_nodes_not_ready_is_a_fact(api: HttpFixture) -> None:
    serve(api, node("w1", "True"), node("w3", "Unknown"), node("w2", "False"))
    seen = probe("kubernetes", api.url).ok()
    assert seen.facts["k8s_nodes_ready"] == 1
    assert seen.facts["k8s_nodes_not_ready"] == ["w2", "w3"]


def test_no_node_ready_is_not_ready(api: HttpFixture) -> None:
    serve(api, node("w1", "False"))
    assert probe("kubernetes", api.url).reason is Reason.not_ready


def test_readyz_failing_is_not_ready_with_its_checks(api: HttpFixture) -> None:
    body = "[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n"
    serve(api, node("w1", "True"), readyz=Route(500, body))
    seen = probe("kubernetes", api.url)
    assert seen.reason is Reason.not_ready
    assert "etcd failed" in seen.message


def test_refused_token_is_auth(api: HttpFixture) -> None:
    serve(
        api, readyz=Route(401, {"kind": "Status", "status": "Failure", "reason": "Unauthorized", "code": 401})
    )
    assert probe("kubernetes", api.url, secrets={"token": "expired"}).reason is Reason.auth


def test_nodes_forbidden_is_auth(api: HttpFixture) -> None:
    serve(api)
    api.routes["GET /api/v1/nodes"] = Route(403, {"kind": "Status", "reason": "Forbidden", "code": 403})
    assert probe("kubernetes", api.url).reason is Reason.auth


def test_nodes_check_can_be_switched_off(api: HttpFixture) -> None:
    serve(api)
    seen = probe("kubernetes", api.url, settings={"nodes": False}).ok()
    assert "k8s_nodes" not in seen.facts


def test_an_api_that_is_not_kubernetes_is_protocol(api: HttpFixture) -> None:
    serve(api)
    api.routes["GET /api/v1/nodes"] = Route(200, {"status": "ok", "service": "a stand-in"})
    seen = probe("kubernetes", api.url)
    assert seen.reason is Reason.protocol
    assert "not a NodeList (items:" in seen.message

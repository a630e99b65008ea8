"""The graph export redraws the seed diagram: every node in its zone, every edge with its label."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from requirements import need_shared

from sre.platform.graph import dot, mermaid
from sre.platform.loader import load_platform

ROOT = Path(__file__).resolve().parents[2]
SEED_DOC = ROOT.parent / "shared" / "platform-seed.md"

# (source, arrow, label, target) as drawn in the seed; H is the seed's "Notifications" node.
SEED_EDGES = [
    ("ext_api", "<-->", "HTTPS", "cdn"),
    ("ext_api", "<-->", "HTTPS", "push_svc"),
    ("ext_api", "<-->", "HTTPS", "analytics_gw"),
    ("ext_api", "-->", "", "int_api"),
    ("int_api", "-->", "gRPC", "k8s_workers"),
    ("k8s_workers", "-->", "SQL", "db_postgres"),
    ("k8s_workers", "-->", "NoSQL", "mongo"),
    ("k8s_workers", "-->", "Col", "clickhouse"),
    ("k8s_workers", "-->", "Cache", "redis"),
    ("k8s_workers", "-->", "Events", "kafka"),
    ("k8s_workers", "-->", "Messages", "nats_js"),
    ("k8s_workers", "-->", "Data", "s3"),
    ("k8s_workers", "-->", "Models", "mlflow"),
    ("k8s_workers", "-->", "Secrets", "vault"),
    ("kafka", "-->", "Stream", "ai_engine"),
    ("nats_js", "-->", "Realtime", "H"),
    ("ai_engine", "-->", "Store", "s3"),
    ("ai_engine", "-->", "Log", "mlflow"),
    ("delta_lake", "-->", "Features", "ai_engine"),
    ("otel", "-->", "Metrics", "all_services"),
    ("elk", "-->", "Logs", "all_services"),
    ("grafana", "-->", "Visualization", "otel"),
    ("grafana", "-->", "Visualization", "elk"),
]
OUR_NAME = {"H": "notifications"}

EDGE_LINE = re.compile(r"^\s*(\w+)\s*(<-->|-->)\s*(?:\|([^|]*)\|)?\s*(.+?)\s*$")


def seed_edges_from_the_document() -> list[tuple[str, str, str, str]]:
    """Edges of the seed's mermaid block, with `a --> b & c` expanded."""
    block = SEED_DOC.read_text(encoding="utf-8").split("```mermaid", 1)[1].split("```", 1)[0]
    edges = []
    for line in block.splitlines():
        found = EDGE_LINE.match(line)
        if found:
            source, arrow, label, targets = found.groups()
            for target in targets.split("&"):
                name = re.match(r"\s*(\w+)", target)
                assert name
                edges.append((source, arrow, label or "", name.group(1)))
    return edges


def our_edges(text: str) -> set[tuple[str, str, str, str]]:
    out = set()
    for line in text.splitlines():
        found = EDGE_LINE.match(line)
        if found and "[" not in line and "(" not in line:
            source, arrow, label, target = found.groups()
            out.add((source, arrow, label or "", target))
    return out


@pytest.fixture(scope="module")
def drawn() -> str:
    return mermaid(load_platform(ROOT / "platform.yaml"))


def test_the_seed_list_matches_the_seed_document() -> None:
    need_shared("platform-seed.md")
    assert sorted(seed_edges_from_the_document()) == sorted(SEED_EDGES)


def test_mermaid_has_every_seed_edge(drawn: str) -> None:
    got = our_edges(drawn)
    for source, arrow, label, seed_target in SEED_EDGES:
        target = OUR_NAME.get(seed_target, seed_target)
        # The seed leaves ext_api --> int_api unlabelled; any label is accepted there.
        matches = [e for e in got if e[0] == source and e[1] == arrow and e[3] == target]
        assert matches, (source, arrow, label, target)
        if label:
            assert matches[0][2] == label


def test_mermaid_puts_every_service_in_its_zone(drawn: str) -> None:
    p = load_platform(ROOT / "platform.yaml")
    for zid, zone in p.zones.items():
        body = drawn.split(f'subgraph {zid}["{zone.name}"]', 1)[1].split("end", 1)[0]
        assert sorted(re.findall(r"^\s*(\w+)\[\(", body, re.M)) == sorted(p.services_in_zone(zid))


def test_dot_has_every_edge_and_cluster() -> None:
    p = load_platform(ROOT / "platform.yaml")
    text = dot(p)
    assert text.startswith("digraph platform {") and text.rstrip().endswith("}")
    for zid in p.zones:
        assert f"subgraph cluster_{zid} {{" in text
    assert 'ext_api -> cdn [label="HTTPS", dir=both];' in text
    assert 'otel -> all_services [label="Metrics"];' in text
    assert len(re.findall(r"^  \w+ -> \w+", text, re.M)) == len(SEED_EDGES)

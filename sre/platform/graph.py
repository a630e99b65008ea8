"""Draw the platform model as Mermaid or Graphviz dot: every node in its zone, every edge labelled."""

from __future__ import annotations

from sre.platform.model import EVERY_SERVICE, Edge, Platform

ALL_SERVICES_NODE = "all_services"


def _node(target: str) -> str:
    return ALL_SERVICES_NODE if target == EVERY_SERVICE else target


def _cloud_title(p: Platform) -> str:
    tiers = ", ".join(f"{tid} {t.dc} ({t.provider} {t.region}, {t.standby})" for tid, t in p.tiers.items())
    return f"Cloud Provider: {tiers}"


def _mermaid_text(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def _mermaid_edge(edge: Edge) -> str:
    arrow = "<-->" if edge.both else "-->"
    label = f"|{edge.label}|" if edge.label else ""
    return f"{edge.source} {arrow}{label} {_node(edge.target)}"


def mermaid(p: Platform) -> str:
    lines = ["graph LR", f"    subgraph cloud[{_mermaid_text(_cloud_title(p))}]"]
    for zid, zone in p.zones.items():
        lines.append(f"        subgraph {zid}[{_mermaid_text(zone.name)}]")
        lines += [
            f"            {sid}[({_mermaid_text(s.name)})]" for sid, s in p.services_in_zone(zid).items()
        ]
        lines.append("        end")
    lines += [f"        {xid}[{_mermaid_text(x.name)}]" for xid, x in p.externals.items()]
    if any(e.target == EVERY_SERVICE for e in p.edges):
        lines.append(f'        {ALL_SERVICES_NODE}(["every service"])')
    lines += [f"        {_mermaid_edge(e)}" for e in p.edges]
    lines.append("    end")
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot(p: Platform) -> str:
    lines = [
        "digraph platform {",
        "  rankdir=LR;",
        "  node [shape=cylinder];",
        "  subgraph cluster_cloud {",
        f"    label={_dot_text(_cloud_title(p))};",
    ]
    for zid, zone in p.zones.items():
        lines += [f"    subgraph cluster_{zid} {{", f"      label={_dot_text(zone.name)};"]
        lines += [f"      {sid} [label={_dot_text(s.name)}];" for sid, s in p.services_in_zone(zid).items()]
        lines.append("    }")
    lines += [f"    {xid} [shape=box, label={_dot_text(x.name)}];" for xid, x in p.externals.items()]
    if any(e.target == EVERY_SERVICE for e in p.edges):
        lines.append(f'    {ALL_SERVICES_NODE} [shape=box, style=dashed, label="every service"];')
    lines.append("  }")
    for e in p.edges:
        attrs = []
        if e.label:
            attrs.append(f"label={_dot_text(e.label)}")
        if e.both:
            attrs.append("dir=both")
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"  {e.source} -> {_node(e.target)}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"

"""The baseline of bench_dashboards_build: grafana-foundation-sdk alone building the same dashboards.

It reads a compact description of each dashboard (title, uid, variables, and per panel its type,
title, unit, position and queries, as `sre dashboards build` made them), builds every dashboard
with the SDK's builders and writes it with the SDK's JSONEncoder, as a script using the SDK
directly would. No platform model, no definitions, no lint: the floor the SDK itself sets.
Usage: python bench/_bare_sdk.py SPEC.json OUT_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders.dashboard import Dashboard, DatasourceVariable, QueryVariable, Row
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.builders.stat import Panel as StatPanel
from grafana_foundation_sdk.builders.timeseries import Panel as TimeseriesPanel
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef, GridPos

DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")


def dashboard(spec: dict[str, Any]) -> Dashboard:
    board = Dashboard(spec["title"]).uid(spec["uid"]).tags(spec["tags"]).description(spec["description"])
    board.with_variable(DatasourceVariable("datasource").type("prometheus"))
    for name, query in spec["variables"]:
        board.with_variable(QueryVariable(name).datasource(DATASOURCE).query(query).multi(True))
    for panel in spec["panels"]:
        grid = GridPos(**panel["gridPos"])
        if panel["type"] == "row":
            board.with_row(Row(panel["title"]).id(panel["id"]).grid_pos(grid))
            continue
        built = TimeseriesPanel() if panel["type"] == "timeseries" else StatPanel()
        built.id(panel["id"]).title(panel["title"]).description(panel["description"])
        built.unit(panel["unit"]).datasource(DATASOURCE).grid_pos(grid)
        for ref, expr, legend in panel["targets"]:
            built.with_target(Dataquery().ref_id(ref).expr(expr).legend_format(legend))
        board.with_panel(built)
    return board


def main(spec_file: str, out: str) -> None:
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    for spec in json.loads(Path(spec_file).read_text(encoding="utf-8")):
        text = json.dumps(dashboard(spec).build(), cls=JSONEncoder, sort_keys=True, indent=2)
        (folder / f"{spec['uid']}.json").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

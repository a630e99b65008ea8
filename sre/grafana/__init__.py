"""Grafana dashboards as code: the prose layer that definitions in dashboards/ use.

    from sre.grafana import Board, q, now, rate, selector

Importing this package loads grafana-foundation-sdk; CLI modules import it inside functions.
"""

from sre.grafana.board import JOB_VARIABLE, Board, DefinitionError, Folder, PanelLink, Query, now, q, rate
from sre.grafana.context import Context
from sre.grafana.promql import selector

# What a probe query selects, `selector("probe_success", labels, job=JOB)`: the board's `job` variable.
JOB = f"${JOB_VARIABLE}"

__all__ = [
    "JOB",
    "Board",
    "Context",
    "DefinitionError",
    "Folder",
    "PanelLink",
    "Query",
    "now",
    "q",
    "rate",
    "selector",
]

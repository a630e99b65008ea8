"""Grafana dashboards as code: the prose layer that definitions in dashboards/ use.

    from sre.grafana import Board, q, now, rate, selector

Importing this package loads grafana-foundation-sdk; CLI modules import it inside functions.
"""

from sre.grafana.board import Board, DefinitionError, Folder, Query, now, q, rate
from sre.grafana.context import Context
from sre.grafana.promql import selector

__all__ = ["Board", "Context", "DefinitionError", "Folder", "Query", "now", "q", "rate", "selector"]

"""A thin layer over grafana-foundation-sdk so that a dashboard definition reads like prose.

It owns the conventions the SDK leaves open: every panel gets an id (the SDK emits
none, and Grafana needs them), every query goes to the `${datasource}` variable,
every panel states its unit, every graph states its legend, and the grid is laid
out by width and height only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Self

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders.dashboard import (
    Dashboard,
    DashboardLink,
    DatasourceVariable,
    QueryVariable,
    Row,
    ThresholdsConfig,
)
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.builders.stat import Panel as StatPanel
from grafana_foundation_sdk.builders.timeseries import Panel as TimeseriesPanel
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DashboardLinkType,
    DataSourceRef,
    GridPos,
    Threshold,
    ThresholdsMode,
    ValueMap,
    ValueMappingResult,
    VariableRefresh,
    VariableSort,
)

from sre.grafana.uids import UID_PATTERN
from sre.jsontext import plain

DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
GRID_WIDTH = 24
REF_IDS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# (from value, colour); the first step's value is None: the base, below every other value.
Steps = Sequence[tuple[float | None, str]]
# Grafana treats the first step as minus infinity and saves it as null, but the published schema
# wants a number there; a finite value far below every metric satisfies both.
BASE_STEP = -1e12
Calc = Literal["lastNotNull", "mean", "max", "min", "sum"]


class DefinitionError(ValueError):
    """A dashboard definition breaks a convention (a bad UID, a panel wider than the grid, ...)."""


@dataclass(frozen=True)
class Folder:
    uid: str
    title: str


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str
    instant: bool = False


def q(expr: str, legend: str) -> Query:
    """A range query with its legend: `q('sum by (tier) (up)', '{{tier}}')`."""
    return Query(expr, legend)


def now(expr: str, legend: str) -> Query:
    """An instant query (the current value), for stat panels."""
    return Query(expr, legend, instant=True)


def rate(selector: str) -> str:
    """`rate(selector[$__rate_interval])`: the window Grafana sizes to the scrape interval and step."""
    return f"rate({selector}[$__rate_interval])"


class Board:
    """One dashboard: `Board(uid, title, folder=...)`, then rows, panels, variables and links in order."""

    def __init__(
        self,
        uid: str,
        title: str,
        *,
        folder: Folder,
        description: str = "",
        tags: Iterable[str] = (),
        service: str | None = None,
        time_from: str = "now-6h",
        refresh: str = "1m",
    ) -> None:
        if not UID_PATTERN.match(uid):
            raise DefinitionError(f"dashboard UID {uid!r} must be 1 to 40 letters, digits, - or _")
        self.uid = uid
        self.title = title
        self.folder = folder
        # The platform service whose own dashboard this is: `sre dashboards lint` checks coverage with it.
        self.service = service
        self._panels = 0
        # The grid cursor: panels flow left to right and wrap when the next one does not fit.
        self._x = self._y = self._line = 0
        self._sdk = (
            Dashboard(title)
            .uid(uid)
            .description(description)
            .tags(sorted({"sre", *tags, *([f"service:{service}"] if service else [])}))
            .timezone("browser")
            .time(time_from, "now")
            .refresh(refresh)
            .tooltip(DashboardCursorSync.CROSSHAIR)
            .with_variable(DatasourceVariable("datasource").label("Data source").type("prometheus"))
        )

    # --- variables and links ------------------------------------------------------------------

    def variables(self, *labels: str, source: str = "probe_success") -> Self:
        """Multi-value filters (`tier`, `zone`, `service`, ...) whose values come from `source`'s labels."""
        for label in labels:
            self._sdk.with_variable(
                QueryVariable(label)
                .label(label.capitalize())
                .datasource(DATASOURCE)
                .query(f"label_values({source}, {label})")
                .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
                .sort(VariableSort.ALPHABETICAL_ASC)
                .multi(True)
                .include_all(True)
                .all_value(".*")
            )
        return self

    def link(self, title: str, url: str, *, tooltip: str = "") -> Self:
        """A link in the dashboard's header, opening in a new tab with the current time range."""
        self._sdk.link(
            DashboardLink(title)
            .type(DashboardLinkType.LINK)
            .url(url)
            .tooltip(tooltip)
            .target_blank(True)
            .keep_time(False)
        )
        return self

    def related(self, title: str, tag: str) -> Self:
        """A drop-down of the dashboards carrying `tag`, keeping time range and variables."""
        self._sdk.link(
            DashboardLink(title)
            .type(DashboardLinkType.DASHBOARDS)
            .tags([tag])
            .as_dropdown(True)
            .keep_time(True)
            .include_vars(True)
        )
        return self

    # --- rows and panels ----------------------------------------------------------------------

    def row(self, title: str) -> Self:
        self._y += self._line
        self._x = self._line = 0
        self._sdk.with_row(
            Row(title).id(self._next_id()).grid_pos(GridPos(x=0, y=self._y, w=GRID_WIDTH, h=1))
        )
        self._y += 1
        return self

    def graph(
        self,
        title: str,
        *queries: Query,
        unit: str,
        description: str = "",
        width: int = 12,
        height: int = 8,
        calcs: Sequence[Calc] = ("mean", "max"),
        thresholds: Steps | None = None,
        stacked: bool = False,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> Self:
        """A time series with its legend as a table below it (series name plus `calcs`)."""
        panel = (
            TimeseriesPanel()
            .title(title)
            .description(description)
            .unit(unit)
            .legend(
                common_builders.VizLegendOptions()
                .show_legend(True)
                .display_mode(common.LegendDisplayMode.TABLE)
                .placement(common.LegendPlacement.BOTTOM)
                .calcs(list(calcs))
            )
            .tooltip(
                common_builders.VizTooltipOptions()
                .mode(common.TooltipDisplayMode.MULTI)
                .sort(common.SortOrder.DESCENDING)
            )
            .fill_opacity(10 if stacked else 0)
        )
        if stacked:
            panel.stacking(common_builders.StackingConfig().mode(common.StackingMode.NORMAL))
        if thresholds:
            panel.thresholds(_thresholds(thresholds)).thresholds_style(
                common_builders.GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.DASHED)
            )
        if minimum is not None:
            panel.min(minimum)
        if maximum is not None:
            panel.max(maximum)
        return self._add(panel, queries, width, height)

    def stat(
        self,
        title: str,
        *queries: Query,
        unit: str,
        description: str = "",
        width: int = 6,
        height: int = 4,
        thresholds: Steps | None = None,
        mappings: Mapping[int | str, tuple[str, str]] | None = None,
        calc: Calc = "lastNotNull",
        decimals: int | None = None,
        no_value: str | None = None,
    ) -> Self:
        """Current values as big numbers, coloured by `thresholds`; `mappings` turn codes into words."""
        panel = (
            StatPanel()
            .title(title)
            .description(description)
            .unit(unit)
            .color_mode(common.BigValueColorMode.BACKGROUND)
            .graph_mode(common.BigValueGraphMode.NONE)
            .text_mode(common.BigValueTextMode.VALUE_AND_NAME)
            .justify_mode(common.BigValueJustifyMode.AUTO)
            .orientation(common.VizOrientation.AUTO)
            .reduce_options(common_builders.ReduceDataOptions().calcs([calc]).values(False))
        )
        if thresholds:
            panel.thresholds(_thresholds(thresholds))
        if mappings:
            panel.mappings(
                [
                    ValueMap(
                        options={
                            str(value): ValueMappingResult(text=text, color=color, index=i)
                            for i, (value, (text, color)) in enumerate(mappings.items())
                        }
                    )
                ]
            )
        if decimals is not None:
            panel.decimals(decimals)
        if no_value is not None:
            panel.no_value(no_value)
        return self._add(panel, queries, width, height)

    def _add(
        self, panel: TimeseriesPanel | StatPanel, queries: Sequence[Query], width: int, height: int
    ) -> Self:
        if not queries:
            raise DefinitionError(f"{self.uid}: panel {panel.build().title!r} has no query")
        if not 1 <= width <= GRID_WIDTH or height < 1:
            raise DefinitionError(
                f"{self.uid}: panel {panel.build().title!r}: width must be 1..{GRID_WIDTH} and height >= 1"
            )
        if len(queries) > len(REF_IDS):
            raise DefinitionError(f"{self.uid}: at most {len(REF_IDS)} queries per panel")
        if self._x + width > GRID_WIDTH:
            self._y += self._line
            self._x = self._line = 0
        panel.id(self._next_id()).datasource(DATASOURCE)
        panel.grid_pos(GridPos(x=self._x, y=self._y, w=width, h=height))
        self._x += width
        self._line = max(self._line, height)
        for ref, query in zip(REF_IDS, queries, strict=False):
            target = Dataquery().ref_id(ref).expr(query.expr).legend_format(query.legend)
            panel.with_target(target.instant() if query.instant else target.range())
        self._sdk.with_panel(panel)
        return self

    def _next_id(self) -> int:
        self._panels += 1
        return self._panels

    # --- output -------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The classic dashboard model (schemaVersion 41) as plain JSON data."""
        data: dict[str, Any] = plain(self._sdk.build(), _sdk_json)
        return data


def _sdk_json(obj: Any) -> Any:
    """What the SDK's own JSONEncoder does: every model knows its JSON form."""
    return obj.to_json()


def _thresholds(steps: Steps) -> ThresholdsConfig:
    return (
        ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps(
            [Threshold(value=BASE_STEP if value is None else value, color=color) for value, color in steps]
        )
    )

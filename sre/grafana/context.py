"""What a dashboard definition in dashboards/ receives: the platform, the settings, and helpers
for the conventions every definition shares (UIDs, folders, links)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from sre.grafana.board import Board, Folder
from sre.grafana.settings import DashboardSettings
from sre.grafana.uids import stable_uid
from sre.platform.model import Platform, Service


@dataclass(frozen=True)
class Context:
    platform: Platform
    settings: DashboardSettings

    def uid(self, *parts: str) -> str:
        return stable_uid(self.settings.uid_prefix, *parts)

    def board(
        self,
        uid: str,
        title: str,
        *,
        folder: Folder,
        description: str = "",
        tags: Iterable[str] = (),
        service: str | None = None,
    ) -> Board:
        """A Board with the settings' conventions: their timezone, and the `job` variable that every
        probe query selects (`selector(..., job=JOB)`)."""
        selectors = self.settings.selectors
        return Board(
            uid,
            title,
            folder=folder,
            description=description,
            tags=tags,
            service=service,
            timezone=self.settings.timezone,
        ).job_variable("probe_success", jobs=selectors.probe_jobs, default=selectors.probe_job)

    def service_url(self, service: str) -> str:
        """The path of a service's own dashboard, inside Grafana."""
        return f"/d/{self.uid('service', service)}"

    def zone_folder(self, zone: str) -> Folder:
        """One Grafana folder per zone of the platform."""
        return Folder(
            self.uid("zone", zone), f"{self.platform.platform.name} / {self.platform.zones[zone].name}"
        )

    @property
    def platform_folder(self) -> Folder:
        """The folder of the dashboards that span every zone (overview, DR readiness, probes)."""
        return Folder(self.uid("platform"), f"{self.platform.platform.name} / Platform")

    @property
    def stateful(self) -> dict[str, Service]:
        return {sid: s for sid, s in self.platform.services.items() if s.stateful}

    def logs_url(self, service: str) -> str | None:
        """Kibana Discover on the service's data stream (logs-<service>-<namespace>), same time range."""
        base = self.settings.kibana_url
        if base is None:
            return None
        kql = f'data_stream.dataset:"{service}" and data_stream.namespace:"{self.settings.logs_namespace}"'
        app_state = "(query:(language:kuery,query:'" + kql.replace("!", "!!").replace("'", "!'") + "'))"
        # Grafana fills ${__from:date:iso} and ${__to:date:iso} with the dashboard's time range.
        global_state = "(time:(from:'${__from:date:iso}',to:'${__to:date:iso}'))"
        app = quote(app_state, safe=":(),'!")
        return f"{base.rstrip('/')}/app/discover#/?_g={global_state}&_a={app}"

    def runbooks_url(self, service: str) -> str | None:
        template = self.settings.runbooks_url
        return template.format(service=service) if template else None

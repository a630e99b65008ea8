"""The Prometheus scrape job that probes every model endpoint through `sre probe serve`.

Targets come from the exporter's `/sd` (http_sd_configs) with their labels; relabelling turns the
address into `?target=` and points the scrape at the exporter, as for blackbox_exporter.
"""

from __future__ import annotations

from typing import Any

from sre.alerting.definitions import Scrape
from sre.probes.sd import PATH


def scrape_job(s: Scrape, exporter: str | None = None) -> dict[str, Any]:
    address = exporter or s.exporter
    return {
        "job_name": s.job,
        "metrics_path": "/probe",
        "scrape_interval": s.interval,
        "scrape_timeout": s.timeout,
        "http_sd_configs": [{"url": f"http://{address}{PATH}", "refresh_interval": s.sd_refresh}],
        "relabel_configs": [
            {"source_labels": ["__address__"], "target_label": "__param_target"},
            {"source_labels": ["__param_target"], "target_label": "instance"},
            {"target_label": "__address__", "replacement": address},
        ],
    }


def scrape_config(s: Scrape, exporter: str | None = None) -> dict[str, Any]:
    return {"scrape_configs": [scrape_job(s, exporter)]}

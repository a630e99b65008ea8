"""Prometheus service discovery of the model's endpoints, so Prometheus sees every one with its labels.

`GET /sd` on `sre probe serve` answers in the `http_sd_configs` format and `sre probe targets
--format file_sd` writes the same for `file_sd_configs`: one group per endpoint and check. Its
address is what `/probe?target=` takes (the URL, or host:port where the URL holds credentials);
its labels are service, check, kind, zone, tier, dc and vantage, with `__param_module` set to the
check so one scrape job serves every module. The dashboards and alerts select on these labels.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sre.probes.model import Target, public_url

if TYPE_CHECKING:
    from sre.platform.model import Platform

PATH = "/sd"
LABELS = ("service", "check", "kind", "zone", "tier", "dc", "vantage")


def groups(platform: Platform, targets: Iterable[Target], vantage: str) -> list[dict[str, Any]]:
    """Target groups, in model order (service, tier, check): the same model gives the same answer."""
    out = []
    for t in targets:
        labels = {
            "service": t.service,
            "check": t.check,
            "kind": platform.services[t.service].kind if t.service in platform.services else t.check,
            "zone": t.zone,
            "tier": t.tier,
            "dc": t.dc,
            "vantage": vantage,
            "__param_module": t.check,
        }
        out.append({"targets": [address(t.endpoint.url)], "labels": labels})
    return out


def address(url: str) -> str:
    """What `/probe?target=` gets: the URL when it holds no credentials, else its host:port, which the
    exporter knows the endpoint by too, so no user, password or secret parameter reaches Prometheus."""
    shown = public_url(url)
    if shown == url:
        return url
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else parts.hostname
    return f"{host}:{port}" if host and port else shown


def render(found: list[dict[str, Any]]) -> str:
    return json.dumps(found, indent=2, sort_keys=False) + "\n"


@dataclass(frozen=True)
class Discovery:
    """What `/sd` answers: computed once, when the exporter starts (the model does not change under it)."""

    found: list[dict[str, Any]]

    def body(self) -> bytes:
        return render(self.found).encode()

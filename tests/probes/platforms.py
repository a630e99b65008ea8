"""A small platform for planning and CLI tests: three DC tiers, two zones, four services."""

from __future__ import annotations

import re
from pathlib import Path

PLATFORM = """\
version: 1
platform: {name: test}
policies: {tls: {min_version: "1.3"}}
tiers:
  primary: {dc: fra1, standby: active, provider: aws, region: eu-central-1}
  secondary: {dc: ams1, standby: hot, provider: gcp, region: europe-west4}
  tertiary: {dc: dub1, standby: cold, provider: azure, region: northeurope}
zones:
  dmz: {name: DMZ}
  internal: {name: Internal}
teams:
  edge: {name: Edge}
services:
  web: {name: Web, zone: dmz, kind: https, owner: edge, stateful: false}
  db:
    name: DB
    zone: internal
    kind: postgres
    owner: edge
    stateful: true
    tiers:
      primary: {role: primary}
      secondary: {role: replica, max_lag_seconds: 5}
      tertiary: {role: cold, max_backup_age_hours: 26}
  k8s: {name: K8s, zone: internal, kind: kubernetes, owner: edge, stateful: false}
  vault: {name: Vault, zone: internal, kind: vault, owner: edge, stateful: false}
environments:
  test:
    endpoints:
      web:
        primary: {url: "https://localhost:__WEB__", ca_file: "__CA__"}
        secondary: {url: "https://localhost:__WEB12__", ca_file: "__CA__"}
        tertiary: "https://127.0.0.1:__CLOSED__"
      db:
        primary: "postgresql://u:hunter2@db.fra1:5432/app?password=hunter2"
      k8s:
        primary: {url: "https://k8s.fra1:6443", params: {grpc: "127.0.0.1:__GRPC__"}}
        secondary: "https://k8s.ams1:6443"
    unavailable:
      vault: no Vault server in this environment
"""

PROBES = """\
version: 1
kinds:
  https: {timeout: 2s, settings: {path: /healthz}}
  grpc: {timeout: 2s}
services:
  web:
    conditions: ['body.$.status == "ok"']
  k8s:
    extra_checks:
      - {check: grpc, endpoint_param: grpc}
exporter:
  allow: ["127.0.0.1:*"]
"""


def write_platform(folder: Path, **ports: object) -> Path:
    text = PLATFORM
    for name, value in ports.items():
        text = text.replace(f"__{name.upper()}__", str(value))
    # Ports not given are never probed, but must still be ports for the platform file to load.
    text = re.sub(r":__[A-Z0-9]+__", ":9", text)
    path = folder / "platform.yaml"
    path.write_text(text)
    (folder / "probes").mkdir(exist_ok=True)
    (folder / "probes" / "probes.yaml").write_text(PROBES)
    return path

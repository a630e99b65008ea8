"""USE (utilisation, saturation, errors) of the hosts a service runs on, from node_exporter."""

from __future__ import annotations

from sre.grafana import Board, q, rate, selector
from sre.grafana.panels.common import Labels


def use_panels(board: Board, labels: Labels) -> None:
    idle = selector("node_cpu_seconds_total", labels, mode="idle")
    board.graph(
        "CPU utilisation",
        q(f"1 - avg by (instance) ({rate(idle)})", "{{instance}}"),
        unit="percentunit",
        maximum=1,
        description="Share of CPU time not idle, per host (node_exporter).",
        width=6,
    )
    available = selector("node_memory_MemAvailable_bytes", labels)
    total = selector("node_memory_MemTotal_bytes", labels)
    board.graph(
        "Memory utilisation",
        q(f"1 - {available} / {total}", "{{instance}}"),
        unit="percentunit",
        maximum=1,
        description="Share of memory not available to new work, per host.",
        width=6,
    )
    disk = {**labels, "fstype": "!tmpfs"}
    board.graph(
        "Filesystem utilisation",
        q(
            f"1 - {selector('node_filesystem_avail_bytes', disk)}"
            f" / {selector('node_filesystem_size_bytes', disk)}",
            "{{instance}} {{mountpoint}}",
        ),
        unit="percentunit",
        maximum=1,
        description="Share of each filesystem in use, per host and mount point (tmpfs left out).",
        width=6,
    )
    board.graph(
        "Saturation and errors",
        q(
            f"{selector('node_load5', labels)} / on (instance) count by (instance) ({idle})",
            "load per CPU {{instance}}",
        ),
        q(
            f"sum by (instance) ({rate(selector('node_network_receive_errs_total', labels))})",
            "network receive errors/s {{instance}}",
        ),
        unit="short",
        description="Saturation (5-minute load per CPU; above 1 work queues) and network receive errors.",
        width=6,
    )

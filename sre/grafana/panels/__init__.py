"""Panels every platform's dashboards reuse: probe results, RED for request-serving services, USE for
hosts, and what each kind of stateful service shows, with the metric names its exporter emits.

    from sre.grafana.panels.common import UP, probe_panels
    from sre.grafana.panels.kinds import KIND_PANELS
    from sre.grafana.panels.red import RED_PANELS
    from sre.grafana.panels.use import use_panels

Every exporter's series carry the platform's labels service, zone and tier (and dc), added by
the Prometheus scrape configuration; probe series also carry vantage.
"""

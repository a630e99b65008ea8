"""Alerts as code: Prometheus rules, their unit tests, the scrape config and Alertmanager's routing,
generated from platform.yaml and the definitions in alerts/."""

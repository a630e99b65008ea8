"""`sre serve`: the Alertmanager webhook receiver and the runbook API."""

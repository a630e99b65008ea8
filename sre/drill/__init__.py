"""`sre drill`: exercises that prove a runbook does what it claims, measured while it runs."""

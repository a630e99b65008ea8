"""Runbooks: typed definitions, plans bound to approvals, a crash-safe engine and its store."""

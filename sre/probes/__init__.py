"""Synthetic probes: every service, in every zone and DC tier, judged against what its tier should be."""

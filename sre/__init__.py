"""sre: an observability and SRE control plane driven by one platform model."""

__version__ = "0.1.0"

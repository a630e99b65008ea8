"""The platform model (platform.yaml): classes, loader, cross-checks and graph export."""

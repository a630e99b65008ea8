"""The platform model (platform.yaml): classes, loader, cross-checks and graph export."""

# The environment a command uses without --env or $SRE_ENV.
DEFAULT_ENVIRONMENT = "prod"

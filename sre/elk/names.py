"""Names of the Elasticsearch objects generated per service and retention class, in one place."""

from __future__ import annotations

from typing import Literal

Kind = Literal["ilm", "pipelines", "component_templates", "index_templates"]
# Publish order: what an object refers to exists before it (templates name policies and pipelines).
KINDS: tuple[Kind, ...] = ("ilm", "pipelines", "component_templates", "index_templates")

ECS_COMPONENT = "platform-logs@ecs"
# The stack's cluster-wide hook: its own logs template composes it, and so do ours, so a setting
# an operator puts there applies to every logs stream, sre's included.
STACK_CUSTOM = "logs@custom"
SETTINGS_COMPONENT = "platform-logs@settings"


def ilm_policy(retention_class: str) -> str:
    return f"platform-logs-{retention_class}"


def pipeline(service: str) -> str:
    # Elastic reserves `@` in pipeline names for its own (and `@custom`), so no `@` here.
    return f"logs-{service}-ingest"


def mappings_component(service: str) -> str:
    return f"logs-{service}@mappings"


def custom_component(service: str) -> str:
    return f"logs-{service}@custom"


def index_template(service: str) -> str:
    return f"logs-{service}"


def data_stream_pattern(service: str) -> str:
    # logs-<service>-<namespace>; a service id has no `-`, so no two services' patterns overlap.
    return f"logs-{service}-*"


def presence_guard(field: str) -> str:
    """Painless condition that is true when the (dotted) field is present: ctx.user?.email != null."""
    return "ctx." + "?.".join(field.split(".")) + " != null"

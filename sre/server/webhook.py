"""The Alertmanager webhook payload (version 4), checked before anything is stored.

Unknown fields are ignored (newer Alertmanagers add `notification_reason` and
`routeLabels`); known ones must have their documented types. The delivery key
says which notifications are the same delivery: a resend, or the copy an HA
peer sent. It leaves out `notification_reason`, which differs between copies.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

MAX_ALERTS = 1000
MAX_LABELS = 100
Text = Annotated[str, StringConstraints(max_length=4096)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Time = Annotated[
    str, StringConstraints(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")
]
Labels = Annotated[dict[Name, Text], Field(max_length=MAX_LABELS)]


class BadNotification(ValueError):
    """Not a valid notification; the message says which field and why (the 400's body)."""


class Alert(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    status: Literal["firing", "resolved"]
    labels: Labels
    annotations: Labels = {}
    startsAt: Time
    endsAt: Time | Literal[""] = ""
    generatorURL: Text = ""
    fingerprint: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{1,32}$")]


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    version: Literal["4"]
    groupKey: Annotated[str, StringConstraints(max_length=8192)]
    truncatedAlerts: Annotated[int, Field(ge=0)] = 0
    status: Literal["firing", "resolved"]
    receiver: Name
    groupLabels: Labels = {}
    commonLabels: Labels = {}
    commonAnnotations: Labels = {}
    externalURL: Text = ""
    alerts: Annotated[list[Alert], Field(max_length=MAX_ALERTS)]


def parse(body: bytes) -> Message:
    try:
        data: Any = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadNotification("body: not UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        raise BadNotification(f"body: not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise BadNotification("body: JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise BadNotification("body: expected a JSON object (an Alertmanager webhook notification)")
    try:
        return Message.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"]) or "body"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise BadNotification(f"{where}: {err['msg']}{more}") from None
    except RecursionError:
        raise BadNotification("body: JSON nested too deeply") from None


def delivery_key(message: Message) -> str:
    alerts = sorted((a.fingerprint, a.status, a.startsAt, a.endsAt) for a in message.alerts)
    material = json.dumps([message.groupKey, message.receiver, alerts], separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()

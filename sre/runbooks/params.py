"""Parameter values, from a flag or an alert label, checked against the platform model.

A value becomes a parameter only when it names something the model has (a
service, a tier, a DC, a zone) or matches the runbook's pattern in full; every
refusal names the parameter, so a hostile alert label is rejected, never used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sre.errors import InputError
from sre.platform.model import Platform
from sre.runbooks.definitions import Param, Runbook

MAX_VALUE = 200


def _short(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:57] + "...")


def check_value(name: str, param: Param, value: str, platform: Platform) -> str | int:
    """The typed value of one parameter, or InputError naming it."""
    if len(value) > MAX_VALUE:
        raise InputError(f"parameter {name}: longer than {MAX_VALUE} characters")
    if param.type == "service":
        service = platform.services.get(value)
        if service is None:
            raise InputError(f"parameter {name}: {_short(value)} is not a service of the model")
        if param.kinds and service.kind not in param.kinds:
            raise InputError(
                f"parameter {name}: service {value} is a {service.kind}; expected {', '.join(param.kinds)}"
            )
        if param.stateful is not None and service.stateful != param.stateful:
            want = "stateful" if param.stateful else "stateless"
            raise InputError(f"parameter {name}: service {value} is not {want}")
        return value
    if param.type == "tier":
        tier = platform.tiers.get(value)
        if tier is None:
            raise InputError(f"parameter {name}: {_short(value)} is not a tier of the model")
        if param.standby and tier.standby not in param.standby:
            raise InputError(
                f"parameter {name}: tier {value} is {tier.standby}; expected {', '.join(param.standby)}"
            )
        return value
    if param.type == "dc":
        if value not in {t.dc for t in platform.tiers.values()}:
            raise InputError(f"parameter {name}: {_short(value)} is not a DC of the model")
        return value
    if param.type == "zone":
        if value not in platform.zones:
            raise InputError(f"parameter {name}: {_short(value)} is not a zone of the model")
        return value
    if param.type == "integer":
        if not re.fullmatch(r"-?\d{1,12}", value):
            raise InputError(f"parameter {name}: expected an integer; got {_short(value)}")
        number = int(value)
        if (param.minimum is not None and number < param.minimum) or (
            param.maximum is not None and number > param.maximum
        ):
            raise InputError(f"parameter {name}: {number} is outside [{param.minimum}, {param.maximum}]")
        return number
    if param.choices and value not in param.choices:
        raise InputError(f"parameter {name}: expected one of {', '.join(param.choices)}; got {_short(value)}")
    if param.pattern and not re.fullmatch(param.pattern, value):
        raise InputError(f"parameter {name}: {_short(value)} does not match {param.pattern}")
    return value


def check_params(runbook: Runbook, given: Mapping[str, str], platform: Platform) -> dict[str, Any]:
    unknown = sorted(set(given) - set(runbook.spec.params))
    if unknown:
        known = ", ".join(runbook.spec.params) or "none"
        raise InputError(
            f"runbook {runbook.name}: unknown parameter(s) {', '.join(unknown)}; expected: {known}"
        )
    out: dict[str, Any] = {}
    for name, param in runbook.spec.params.items():
        if name in given:
            out[name] = check_value(name, param, given[name], platform)
        elif param.default is not None:
            out[name] = check_value(name, param, str(param.default), platform)
        else:
            raise InputError(f"runbook {runbook.name}: parameter {name} is required (--param {name}=...)")
    return out


def parse_flags(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"--param: expected NAME=VALUE; got {_short(pair)}")
        if key in out:
            raise InputError(f"--param {key}: given twice")
        out[key] = value
    return out

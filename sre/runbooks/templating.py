"""Text in runbooks: jinja2's SandboxedEnvironment with StrictUndefined, templates only from definitions.

Templates come from reviewed runbook files, never from alert data; the values
they see are parameters already checked against the model. Rendered text is an
argument of an action (one element of an argument list, a bind parameter, a
JSON field), never a command line for a shell.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from sre.errors import InputError


class TemplateError(InputError):
    pass


@lru_cache(maxsize=1)
def _env() -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


def check_template(text: str) -> set[str]:
    """The names a template uses; TemplateError when it does not parse."""
    try:
        return set(meta.find_undeclared_variables(_env().parse(text)))
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template error: {exc.message}") from None


def render(text: str, values: dict[str, Any]) -> str:
    if "{" not in text:
        return text
    try:
        return _env().from_string(text).render(values)
    except (UndefinedError, SecurityError, TemplateSyntaxError) as exc:
        raise TemplateError(f"template {text!r}: {exc}") from None


def render_args(value: Any, values: dict[str, Any]) -> Any:
    """Every string inside `value` (mappings and lists too) rendered on its own."""
    if isinstance(value, str):
        return render(value, values)
    if isinstance(value, dict):
        return {k: render_args(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [render_args(v, values) for v in value]
    return value

"""Config files of the sandbox's servers, rendered from the templates beside this module."""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2


@cache
def _environment() -> jinja2.Environment:
    # Server configs, not HTML: nothing to escape, and a missing value must fail loudly.
    return jinja2.Environment(  # noqa: S701
        loader=jinja2.PackageLoader("sre.sandbox", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, **values: Any) -> str:
    return _environment().get_template(template).render(**values)

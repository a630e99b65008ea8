"""Regular expressions of probe definitions (`matches` conditions, tcp `expect`), run by RE2.

Python's `re` backtracks: `^(a+)+$` against a long body of `a`s takes forever,
and nothing can interrupt it. RE2 (google-re2) runs in time linear in the
text, with bounded memory, and refuses what it cannot do that way
(backreferences, lookaround), so such a pattern is a load error, not a hang.
The text it searches is what the probe kept: at most the body limit.
"""

from __future__ import annotations

from typing import Any

MAX_MEM = 8 << 20  # bytes RE2 may use for one compiled pattern


def compile_regex(pattern: str) -> Any:
    """A compiled RE2 pattern; ValueError naming what RE2 refused."""
    import re2  # only where a definition has a pattern: the library and its abseil cost a few MiB

    options = re2.Options()
    options.log_errors = False  # RE2 would print each refusal on stderr
    options.max_mem = MAX_MEM
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(f"{detail} (RE2 syntax: no backreferences or lookaround)") from None

"""Text from servers made safe for a format: control characters and lone surrogates shown as escapes.

A server's body can hold anything; quoted into a message or a fact it must not end
XML (JUnit), move the terminal's cursor (table) or stop a UTF-8 encoder (Prometheus).
Each such character becomes its Python escape (`\\x1b`, `\\ud800`), so nothing is
lost from sight and the output stays well-formed.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, lone surrogates and the two non-characters XML forbids.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_UNSAFE_KEEP_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    return repr(match.group())[1:-1]


def visible(text: str, *, lines: bool = False) -> str:
    """`text` with every unsafe character as its escape; `lines` keeps tabs and line breaks."""
    return (_UNSAFE_KEEP_LINES if lines else _UNSAFE).sub(_escape, text)


def unicode_text(text: str) -> str:
    """`text` as valid Unicode: lone surrogates (undecodable bytes) as escapes, the rest as it is."""
    return _SURROGATE.sub(_escape, text)

"""Errors that the CLI turns into one line on stderr and an exit code, never a traceback."""

from __future__ import annotations


class SreError(Exception):
    """A failure the user can act on; the message is the whole story."""

    exit_code = 1


class InputError(SreError):
    """Bad input: a platform file, a definition, a flag. Exit code 2."""

    exit_code = 2


def flat(text: str, limit: int | None = None) -> str:
    """`text` on one line (runs of white space, newlines included, become one space), cut to `limit`."""
    folded = " ".join(text.split())
    if limit is None or len(folded) <= limit:
        return folded
    return folded[: limit - 3] + "..."


def one_line(exc: BaseException, limit: int | None = 500, *, with_type: bool = False) -> str:
    """An exception's message on one line, for a result or an error line; its type name when it has none.

    A driver's message is folded whole (libpq puts the detail on its second line). `with_type`, for
    failures nobody anticipated, prefixes the type name (the clue there) and keeps the first line only.
    """
    lines = str(exc).strip().splitlines()
    text = flat(lines[0] if with_type and lines else str(exc))
    name = type(exc).__name__
    message = (f"{name}: {text}" if text else name) if with_type else (text or name)
    return flat(message, limit)

"""Errors that the CLI turns into one line on stderr and an exit code, never a traceback."""

from __future__ import annotations


class SreError(Exception):
    """A failure the user can act on; the message is the whole story."""

    exit_code = 1


class InputError(SreError):
    """Bad input: a platform file, a definition, a flag. Exit code 2."""

    exit_code = 2

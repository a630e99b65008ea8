"""Read an input file the same careful way everywhere: regular files only, with a size cap.

Every file `sre` reads on a user's say-so (platform and definition files, environment files,
token and API-key files, secret files, `probe merge` inputs, sandbox state) comes through here,
so a FIFO never blocks, /dev/zero is never read until memory runs out, and a binary file is one
line of error, not a traceback.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sre.errors import InputError

KIB = 1024
MIB = 1024 * KIB

# Definition files are a few kB; 4 MiB leaves room for a platform of thousands of services.
YAML_LIMIT = 4 * MIB
# A token, an API key or a password.
SECRET_LIMIT = 64 * KIB
# `sre probe --format json` of a large platform from one vantage.
RESULTS_LIMIT = 64 * MIB

EXCERPT = 60


class FileProblem(InputError):
    """A file that cannot be used as input; the message names the file and why."""


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """A short, quoted piece of user input for an error message: never the whole of it."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def short_repr(value: object, limit: int = EXCERPT) -> str:
    """repr() of any input value, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def size_text(limit: int) -> str:
    if limit % MIB == 0:
        return f"{limit // MIB} MiB"
    if limit % KIB == 0:
        return f"{limit // KIB} KiB"
    return f"{limit} bytes"


def read_bytes(path: Path, *, limit: int, what: str = "") -> bytes:
    """The bytes of a regular file of at most `limit` bytes; `what` prefixes the message (a flag)."""
    where = f"{what}: {path}" if what else str(path)
    try:
        # O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting forever.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise FileProblem(f"{where}: file not found") from None
    except OSError as exc:
        raise FileProblem(f"{where}: cannot read: {exc.strerror or exc}") from None
    except ValueError:  # an embedded NUL byte in the path
        raise FileProblem(f"{what or 'path'}: {excerpt(str(path))}: not a valid path") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise FileProblem(f"{where}: is a directory, expected a file")
        if not stat.S_ISREG(info.st_mode):
            raise FileProblem(f"{where}: not a regular file ({_kind(info.st_mode)}); expected a file")
        if info.st_size > limit:
            raise FileProblem(f"{where}: larger than {size_text(limit)}, the limit for this file")
        chunks: list[bytes] = []
        total = 0
        # Read to the cap, not to the size stat gave: a file can grow while it is read (/proc has 0).
        while total <= limit:
            chunk = os.read(fd, min(MIB, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise FileProblem(f"{where}: larger than {size_text(limit)}, the limit for this file")
        return b"".join(chunks)
    except OSError as exc:
        raise FileProblem(f"{where}: cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def read_text(path: Path, *, limit: int, what: str = "") -> str:
    """The UTF-8 text of a regular file; a file with NUL bytes or invalid UTF-8 is refused."""
    data = read_bytes(path, limit=limit, what=what)
    where = f"{what}: {path}" if what else str(path)
    nul = data.find(b"\0")
    if nul >= 0:
        raise FileProblem(f"{where}: a binary file (NUL byte at offset {nul}), expected text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileProblem(f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def read_secret(path: Path, *, what: str = "") -> str:
    """A token or key kept in a file: one line of printable text, surrounding whitespace removed.

    The message never quotes the content: it is a secret, even when it is the wrong file.
    """
    value = read_text(path, limit=SECRET_LIMIT, what=what).strip()
    where = f"{what}: {path}" if what else str(path)
    if not value:
        raise FileProblem(f"{where}: the file is empty")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise FileProblem(f"{where}: holds more than one line or control characters; expected one token")
    return value


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"

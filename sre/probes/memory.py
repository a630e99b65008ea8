"""glibc's allocator, set for a long-running server whose connections come and go.

uvloop gives every TLS connection a 256 KiB read buffer. glibc serves such a block with its
own mmap, but once one is freed it raises its mmap threshold above that size (and doubles its
trim threshold) and serves the next ones from the heap, whose pages stay resident once touched:
with 50 probes in flight that was about 4 MiB of the exporter's peak RSS. Fixed thresholds
(mallopt) keep those buffers mapped and unmapped one by one; `malloc_trim` hands back what
start-up freed. Elsewhere than glibc, nothing is changed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
MMAP_THRESHOLD = TRIM_THRESHOLD = 128 * 1024  # glibc's defaults, made fixed


def settle() -> bool:
    """Call once start-up is done; True when glibc took the settings."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt, trim = libc.mallopt, libc.malloc_trim
    except (OSError, AttributeError):  # musl has no mallopt: nothing to set
        return False
    # Both: raising the mmap threshold had doubled the trim threshold too (free heap kept on top).
    done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    trim(0)
    return done

"""A command's time budget counts from its own start, whether it is a process's first command or not."""

from __future__ import annotations

import time

from sre import clock


def test_a_later_command_in_the_same_process_counts_from_its_own_start() -> None:
    clock.start()  # this process (pytest) has run commands before, or this is its first: either way
    time.sleep(0.05)
    spent_before = clock.elapsed()
    clock.start()
    assert clock.elapsed() < spent_before
    assert clock.left(10.0) > 10.0 - spent_before

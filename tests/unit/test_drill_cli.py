"""`sre drill dr`'s refusals: each bad flag is one line naming it, exit 2, before anything runs."""

from __future__ import annotations

import pytest
from sre_cli import run

from sre.drill.dr import percentile
from sre.drill.writers import longest_gap


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--env", "prod"], "--env: sre drill dr runs on the sandbox only"),
        (["--cycles", "0"], "--cycles"),
        (["--writers", "1000"], "--writers"),
        (["--format", "xml"], "--format"),
    ],
)
def test_bad_flags_are_refused_in_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    code, out, err = run(["drill", "dr", *args], capsys)
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1 and not out


def test_rto_is_the_longest_silence_and_p95_the_nearest_rank() -> None:
    acks = [0.0, 0.1, 0.2, 1.7, 1.8, 5.0]
    assert longest_gap(acks, 0.15, 1.75) == pytest.approx(1.5)  # from the ack at 0.2 to the one at 1.7
    assert longest_gap([], 1.0, 3.0) == pytest.approx(2.0)  # nothing acknowledged: the whole window
    assert longest_gap(acks, 1.9, 2.0) == pytest.approx(3.2)  # a window inside one silence: all of it
    rtos = sorted(float(n) for n in range(1, 21))
    assert percentile(rtos, 50) == 10.0 and percentile(rtos, 95) == 19.0 and percentile([], 95) == 0.0


def test_a_store_that_is_down_is_named_by_the_first_line_of_its_error() -> None:
    from sre.drill.dr import _down

    refused = OSError(
        'connection failed: connection to server at "127.0.0.1", port 36673 failed: Connection refused\n'
        "\tIs the server running on that host and accepting TCP/IP connections?"
    )
    assert _down(refused) == "down (Connection refused)"
    assert _down(TimeoutError()) == "down (TimeoutError)"

"""Hypothesis profiles of the fuzz suite, chosen by $HYPOTHESIS_PROFILE.

`default`: a short run, part of every `make test`: derandomized, so every run tries the same examples and a
red CI can be reproduced (no example database, so nothing is written).
`fuzz`: `make fuzz`, many more examples, remembered in .hypothesis/ so a failure found once is
tried first next time.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=60,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "fuzz", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

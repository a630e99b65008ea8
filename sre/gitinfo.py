"""Which commit generated artifacts come from, for messages in the systems they are published to."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

CI_COMMIT_ENV = "CI_COMMIT_SHA"  # GitLab CI sets it, also where the checkout has no .git


def current_commit(root: Path) -> str | None:
    """`git rev-parse HEAD` in `root`, else $CI_COMMIT_SHA, else None."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        done = None
    if done is not None and done.returncode == 0 and done.stdout.strip():
        return done.stdout.strip()
    return os.environ.get(CI_COMMIT_ENV) or None

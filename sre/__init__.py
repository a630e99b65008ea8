"""sre: an observability and SRE control plane driven by one platform model."""

import time

__version__ = "0.1.0"

# The first thing the package does: a command's time budget counts from here (sre.clock).
IMPORTED_AT = time.monotonic()

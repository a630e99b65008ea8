"""What the sandbox's metric bridges (http_metrics, server_metrics) share: their command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def command_line(prog: str, argv: list[str] | None) -> tuple[dict[str, Any], str, int]:
    """`python -m PROG CONFIG.json --listen HOST:PORT`: the configuration (a JSON object), host, port.
    A configuration that cannot be read ends the process with one line naming it."""
    parser = argparse.ArgumentParser(prog=f"python -m {prog}")
    parser.add_argument("config", type=Path)
    parser.add_argument("--listen", required=True, help="HOST:PORT")
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    try:
        config = json.loads(args.config.read_text(encoding="utf-8"))
        if not isinstance(config, dict):
            raise ValueError("expected a JSON object")
    except (OSError, ValueError) as exc:
        sys.exit(f"{args.config}: not a bridge configuration: {exc}")
    return config, host, int(port)

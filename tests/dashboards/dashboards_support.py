"""Helpers the dashboards tests import (a module of its own: every test folder has a conftest)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

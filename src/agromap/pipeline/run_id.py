"""Run identifiers: sortable by start time, unique across concurrent runs."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

__all__ = ["new_run_id"]


def new_run_id() -> str:
    """``<UTC start, second precision>-<8 random hex digits>``, e.g. ``20240601T031500Z-1a2b3c4d``."""
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"

"""Descriptors this process holds open on given files (Linux ``/proc``), for the open-file tests."""

from __future__ import annotations

import os
from pathlib import Path


def fds_on(*paths: Path) -> int:
    """Descriptors of this process open on any of ``paths``."""
    wanted = {str(p.resolve()) for p in paths}
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            n += os.readlink(f"/proc/self/fd/{fd}") in wanted
        except OSError:  # closed meanwhile
            pass
    return n

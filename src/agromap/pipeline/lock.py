"""One writer per output directory (``fcntl.flock``; the lock dies with its process)."""

from __future__ import annotations

import fcntl
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import ConfigError, OutputLockedError, output_error
from ..io.files import RUN_LOCK_NAME

__all__ = ["output_lock"]


@contextmanager
def output_lock(out_dir: Path, *, wait: float = 0.0) -> Iterator[None]:
    """Hold the output directory's lock; wait up to ``wait`` seconds, then exit code 5.

    A crashed or SIGKILLed run releases the lock with its process, so a stale lock file never
    blocks the next run (unlike pid files).
    """
    if not (isinstance(wait, (int, float)) and math.isfinite(wait) and wait >= 0):
        raise ConfigError(f"--wait-lock must be a finite number of seconds >= 0, not {wait!r}.")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(out_dir / RUN_LOCK_NAME, os.O_CREAT | os.O_RDWR | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as exc:
        raise output_error(exc, out_dir) from None
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    hint = "wait for it, pass --wait-lock SECONDS," if wait == 0 else f"waited {wait:g} s;"
                    raise OutputLockedError(
                        f"{out_dir} is being written by another agromap run; {hint} or choose another --out."
                    ) from None
                time.sleep(0.2)
        yield
    finally:
        os.close(fd)

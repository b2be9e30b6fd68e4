"""Acquisition plans: which Sentinel-1 passes and Sentinel-2 dates a scene delivers.

Sentinel-1: every relative orbit passes every ``revisit`` days (6 with S1A + S1B until
December 2021, 12 after); each planned pass is lost with probability ``missing``. Missing
passes are absent from the time axis, as they are from a real catalogue.

Sentinel-2: one acquisition every 5 days; each gets a cloud regime drawn from the scene's
monthly climatology (clear, partly cloudy with a local cover, or whole-scene cloud) and an
optional thin haze. A tile-wide cloud filter drops the worst partly cloudy dates but lets some
whole-cloudy dates through (the tile is partly clear while the scene is not). The draw is
repeated, deterministically from the seed, until the number of clear dates and the longest
gap between them fall in the scene's published ranges (e.g. 8-15 clear dates a year with a
100-130 day monsoon gap).
"""

from __future__ import annotations

import datetime as _dt
import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..synthetic_truth import hash_keys, uniform

__all__ = ["S1Pass", "S2Date", "s1_schedule", "s2_schedule", "clear_dates"]

_S_S1, _S_S2 = 121, 122
CLEAR_COVER = 0.1


@dataclass(frozen=True)
class S1Pass:
    """One Sentinel-1 acquisition: its date, orbit direction and calibration offset in dB."""

    date: str
    orbit: str
    offset_db: float


@dataclass(frozen=True)
class S2Date:
    """One Sentinel-2 acquisition and its weather: cloud cover and haze."""

    date: str
    cover: float
    """Local cloud cover of the scene, 0-1 (1 = whole scene under cloud)."""
    haze: float
    """Mean optical depth-like haze weight (0 = none)."""


def _days(cfg: Any) -> tuple[_dt.date, _dt.date]:
    return _dt.date.fromisoformat(cfg.start), _dt.date.fromisoformat(cfg.end)


@functools.lru_cache(maxsize=64)
def s1_schedule(cfg: Any, seed: int) -> tuple[S1Pass, ...]:
    """The delivered Sentinel-1 passes, in time order (one pass per date)."""
    start, end = _days(cfg)
    plan = cfg.s1
    passes: dict[str, S1Pass] = {}
    for k, (orbit, first, offset) in enumerate(plan.orbits):
        d = start + _dt.timedelta(days=first)
        i = 0
        while d <= end:
            lost = uniform(hash_keys(seed, _S_S1, k, i)) < plan.missing
            if not lost and d.isoformat() not in passes:
                passes[d.isoformat()] = S1Pass(d.isoformat(), orbit, float(offset))
            d += _dt.timedelta(days=plan.revisit)
            i += 1
    return tuple(passes[k] for k in sorted(passes))


def clear_dates(schedule: tuple[S2Date, ...]) -> list[str]:
    """Dates whose local cloud cover is below 10 % (SCL keeps about 90 % of the scene)."""
    return [s.date for s in schedule if s.cover < CLEAR_COVER]


def _max_gap(dates: list[str]) -> int:
    days = [_dt.date.fromisoformat(d).toordinal() for d in dates]
    return int(max(np.diff(days))) if len(days) > 1 else 10_000


def _draw(cfg: Any, seed: int, attempt: int) -> tuple[S2Date, ...]:
    start, end = _days(cfg)
    plan = cfg.s2
    first = start.toordinal() + int(uniform(hash_keys(seed, _S_S2, attempt)) * plan.revisit)
    ords = np.arange(first, end.toordinal() + 1, plan.revisit)
    i = np.arange(ords.size)
    h = hash_keys(seed, _S_S2, attempt, i)
    u1, u2, u3, u4, u5 = (uniform(h, k) for k in range(1, 6))
    months = np.array([_dt.date.fromordinal(int(o)).month for o in ords]) - 1
    pc, pw = np.asarray(plan.clear_prob)[months], np.asarray(plan.whole_prob)[months]
    cover = np.where(u1 < pc, 0.08 * u2, np.where(u1 < pc + pw, 1.0, 0.12 + 0.85 * u2))
    haze = np.where((u3 < plan.haze_prob) & (cover < 1.0), 0.05 + 0.15 * u4, 0.0)
    delivered = (cover <= plan.max_cover) | ((cover >= 1.0) & (u5 < plan.keep_whole))
    return tuple(S2Date(_dt.date.fromordinal(int(o)).isoformat(), float(c), float(z))
                 for o, c, z, keep in zip(ords, cover, haze, delivered, strict=True) if keep)


@functools.lru_cache(maxsize=64)
def s2_schedule(cfg: Any, seed: int) -> tuple[S2Date, ...]:
    """The delivered Sentinel-2 dates with their cloud regime, in time order.

    Raises
    ------
    RuntimeError
        When no draw within 2000 attempts meets the scene's clear-date ranges (a scene
        definition error, never a data condition).
    """
    plan = cfg.s2
    for attempt in range(2000):
        sched = _draw(cfg, seed, attempt)
        clear = clear_dates(sched)
        gap = _max_gap(clear)
        if plan.n_clear[0] <= len(clear) <= plan.n_clear[1] and plan.max_gap[0] <= gap <= plan.max_gap[1]:
            return sched
    raise RuntimeError(f"scene {cfg.name}: no Sentinel-2 schedule meets n_clear={plan.n_clear}, "
                       f"max_gap={plan.max_gap}; widen the ranges or the climatology.")

"""Temporal signatures: the surface components of every cover class on a given day.

Each pixel-date is a linear mixture of ten surface components (open water, rice canopy, grass
and sedge, upland crop canopy, tree canopy, floating/emergent leaves, wet soil, dry soil, straw
and stubble, built surfaces). Reflectance and backscatter (in linear power) are then the
fraction-weighted sums of the component values in :data:`COMPONENTS`, so a mixed pixel at a
field edge is simply a mixture of two fields' fractions.

The class functions below encode each cover's calendar; the figures they use (flood depth
and duration, canopy growth, hydroperiods) are documented in ``docs/scenes.md``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from ..synthetic_truth import hash_keys, smoothstep, uniform
from . import landscape as L

__all__ = ["COMPONENTS", "COMPONENT_NAMES", "S2_BANDS", "Env", "scene_env", "fractions"]

S2_BANDS: tuple[str, ...] = ("blue", "green", "red", "nir", "swir16", "swir22")

#: name -> (reflectance per S2_BANDS, (VH dB, VV dB)).
COMPONENTS: dict[str, tuple[tuple[float, ...], tuple[float, float]]] = {
    "water": ((.070, .090, .080, .055, .030, .020), (-24.5, -18.0)),
    "rice_canopy": ((.030, .080, .035, .420, .200, .100), (-13.5, -8.5)),
    "grass": ((.035, .075, .050, .320, .210, .115), (-17.0, -10.5)),
    "crop_canopy": ((.030, .075, .035, .400, .210, .110), (-12.5, -8.0)),
    "tree": ((.025, .050, .028, .340, .160, .075), (-12.0, -7.0)),
    "floating_veg": ((.030, .085, .040, .380, .170, .085), (-16.0, -10.5)),
    "wet_soil": ((.060, .085, .105, .140, .150, .105), (-15.5, -9.0)),
    "dry_soil": ((.100, .140, .180, .250, .320, .260), (-17.5, -11.5)),
    "straw": ((.070, .100, .130, .280, .330, .220), (-16.5, -10.5)),
    "urban": ((.120, .140, .160, .210, .250, .220), (-8.0, -3.0)),
}  # fmt: skip
COMPONENT_NAMES: tuple[str, ...] = tuple(COMPONENTS)
_C = {n: i for i, n in enumerate(COMPONENT_NAMES)}
W, RC, GR, CR, TR, FL, WS, DS, ST, UR = (_C[n] for n in COMPONENT_NAMES)

_S_RAIN, _S_WIND, _S_DRIFT = 111, 112, 113


class Env:
    """Scene-wide weather on one day: monsoon wetness, rain puddling and wind over water."""

    __slots__ = ("day", "wet", "puddle", "wind_db")

    def __init__(self, day: int, wet: float, puddle: float, wind_db: float) -> None:
        self.day, self.wet, self.puddle, self.wind_db = day, wet, puddle, wind_db


@functools.lru_cache(maxsize=64)
def _rain_days(cfg: Any, seed: int) -> tuple[int, ...]:
    """Heavy-rain days of the year before, the scene's year and the year after (wet months only)."""
    year0 = _dt.date(cfg.year, 1, 1)
    days = []
    for year in (-1, 0, 1):
        for k in range(cfg.n_rain_events):
            d_ev = 1 + int(uniform(hash_keys(seed, _S_RAIN, cfg.year + year, k), 1) * 365) + 365 * year
            if (year0 + _dt.timedelta(days=d_ev - 1)).month in cfg.wet_months:
                days.append(d_ev)
    return tuple(sorted(days))


@functools.lru_cache(maxsize=4096)
def scene_env(cfg: Any, seed: int, day: int) -> Env:
    """Weather of ``day`` (a day number from 1 Jan of the scene's first year).

    Heavy-rain events are drawn in the wet months (``cfg.n_rain_events`` a year); after each,
    standing water on flat, poorly drained ground recedes with an e-folding time of 2.5 days.
    Wind roughens open water on about one date in eight, raising its backscatter.
    """
    year0 = _dt.date(cfg.year, 1, 1)
    month = (year0 + _dt.timedelta(days=day - 1)).month
    prev_m = (year0 + _dt.timedelta(days=day - 16)).month
    next_m = (year0 + _dt.timedelta(days=day + 14)).month
    wet = np.mean([m in cfg.wet_months for m in (prev_m, month, next_m)])
    past = [d for d in _rain_days(cfg, seed) if d <= day]
    puddle = 0.85 * float(np.exp(-(day - max(past)) / 2.5)) if past else 0.0
    wu = float(uniform(hash_keys(seed, _S_WIND, day)))
    wind_db = 4.0 * (wu - 0.875) / 0.125 if wu > 0.875 else 0.0
    return Env(day, float(wet), puddle, wind_db)


def _cycle_days(day: int, start: np.ndarray, period: float) -> np.ndarray:
    """Days since the most recent occurrence of a yearly event (start + k * period)."""
    return np.mod(day - start, period)


class _Pixels:
    """The pixels of one cover class, flattened: per-field uniforms and rice calendar."""

    __slots__ = ("idx", "u", "est", "length", "fid", "n")

    def __init__(self, f: dict[str, np.ndarray], mask: np.ndarray) -> None:
        self.idx = np.flatnonzero(mask)
        self.n = self.idx.size
        self.u = f["u"].reshape(f["u"].shape[0], -1)[:, self.idx]
        self.est = f["est"].reshape(f["est"].shape[0], -1)[:, self.idx]
        self.length = f["length"].reshape(f["length"].shape[0], -1)[:, self.idx]
        self.fid = f["field_id"].reshape(-1)[self.idx]


def class_pixels(f: dict[str, np.ndarray]) -> dict[int, _Pixels]:
    """Group the pixels of a window by cover class (done once per window, reused every date)."""
    cover = f["cover"]
    return {int(c): _Pixels(f, cover == c) for c in np.unique(cover)}


def fractions(cfg: Any, f: dict[str, np.ndarray], day: int, env: Env) -> np.ndarray:
    """Component fractions ``(10, rows, cols)`` of every pixel on ``day``; they sum to 1."""
    groups: Any = f.get("_groups")
    if groups is None:  # grouped once per window and kept in it: every date reuses the grouping
        groups = f["_groups"] = class_pixels(f)  # type: ignore[assignment]  # a cache beside the arrays
    shape = f["cover"].shape
    frac = np.zeros((len(COMPONENT_NAMES), shape[0] * shape[1]))
    for code, px in groups.items():
        frac[:, px.idx] = _CLASS_FUNCS[code](cfg, px, day, env)
    return frac.reshape(len(COMPONENT_NAMES), *shape)


def _new(px: _Pixels) -> np.ndarray:
    return np.zeros((len(COMPONENT_NAMES), px.n))


def _soil(out: np.ndarray, amount: Any, susceptibility: Any, env: Env) -> None:
    """Bare soil, wetter in the monsoon, with puddles after heavy rain on low ground."""
    pw = np.clip(susceptibility * env.puddle, 0, 1)
    wsh = np.clip(0.25 + 0.4 * env.wet + env.puddle, 0, 1)
    out[W] += amount * pw
    out[WS] += amount * (1 - pw) * wsh
    out[DS] += amount * (1 - pw) * (1 - wsh)


def _aquaculture(cfg: Any, px: _Pixels, day: int, env: Env) -> np.ndarray:
    """Ponds hold water all year except one or two drain-and-dry periods of 25-50 days."""
    u, out = px.u, _new(px)
    dyke = 0.06 + 0.1 * u[4]
    drained = np.zeros(px.n)
    for k, offset in enumerate((0.0, 182.0)):
        second = (u[22] < 0.5) if k else np.ones(px.n, bool)
        d = _cycle_days(day, u[19] * 365 + offset, 365.0)
        dur = 25 + 25 * u[20]
        drained = np.maximum(drained, np.where(second & (d < dur), np.where(d < dur / 2, 1.0, 2.0), 0.0))
    out[GR] = dyke
    out[W] = np.where(drained == 0, 1 - dyke, 0.0)
    out[WS] = np.where(drained == 1, 1 - dyke, 0.0)
    out[DS] = np.where(drained == 2, 1 - dyke, 0.0)
    return out


def _orchard(cfg: Any, px: _Pixels, day: int, env: Env) -> np.ndarray:
    """Young to mature trees on raised beds with ditches; the ground between rows is flooded
    for about 4 days every 12-24 days in the dry season (basin/furrow irrigation).
    """
    u, out = px.u, _new(px)
    canopy = 0.08 + 0.62 * u[7]
    ditch = 0.08 + 0.12 * u[8]
    ground = 1 - canopy - ditch
    period = 12 + np.floor(u[18] * 13)
    flooded = (1 - env.wet) * (np.mod(day + np.floor(u[19] * period), period) < 4)
    out[TR] = canopy
    out[W] = ditch + ground * 0.85 * flooded
    out[GR] = ground * (1 - 0.85 * flooded) * (0.3 + 0.4 * u[9])
    _soil(out, ground * (1 - 0.85 * flooded) * (0.7 - 0.4 * u[9]), 0.5, env)
    return out


def _lotus(cfg: Any, px: _Pixels, day: int, env: Env) -> np.ndarray:
    """Leaves emerge from the pond, close over ~45 days, senesce after ~150 days; mud before."""
    u, out = px.u, _new(px)
    e = cfg.lotus_start[0] + u[21] * (cfg.lotus_start[1] - cfg.lotus_start[0])
    d = _cycle_days(day, e - 30, 365.0) - 30
    leaves = np.where(d < 0, 0.0, 0.9 * smoothstep(d / 45.0) * (1 - smoothstep((d - 150) / 40.0)))
    dead = np.where(d > 150, 0.3 * smoothstep((d - 150) / 40.0) * (1 - smoothstep((d - 220) / 40.0)), 0.0)
    out[FL] = leaves
    out[ST] = dead
    out[WS] = np.where(d < 0, 1 - leaves, 0.0)
    out[W] = np.where(d >= 0, 1 - leaves - dead, 0.0)
    return out


def _hyacinth(cfg: Any, px: _Pixels, day: int, env: Env) -> np.ndarray:
    """Floating mats on canals and ponds: larger in the wet season, moved by wind and tide."""
    u, out = px.u, _new(px)
    drift = 0.3 * (uniform(hash_keys(px.fid, _S_DRIFT, day)) - 0.5)
    mats = np.clip(0.15 + 0.3 * u[21] + 0.35 * env.wet + drift, 0.05, 0.95)
    out[FL] = mats
    out[W] = 1 - mats
    return out


def _sugarcane(cfg: Any, px: _Pixels, day: int, env: Env) -> np.ndarray:
    """One planting a year (then ratoons), canopy closes in ~4 months, harvest after 11-12 months."""
    u, out = px.u, _new(px)
    p = cfg.cane_plant[0] + u[21] * (cfg.cane_plant[1] - cfg.cane_plant[0])
    cyc = 335 + np.floor(u[22] * 25)
    d = np.mod(day - p, cyc)
    cane = 0.9 * smoothstep((d - 25) / 130.0) * (1 - 0.15 * smoothstep((d - cyc + 40) / 40.0))
    trash = np.where(d < 60, 0.45 * (1 - d / 60.0), 0.0) * (1 - cane)
    out[CR] = cane
    out[ST] = trash
    _soil(out, 1 - cane - trash, 0.6 * u[4], env)
    return out


def _dryland(cfg: Any, px: _Pixels, day: int, env: Env) -> np.ndarray:
    """Maize/vegetables/beans: one or two crops in the scene's upland windows; bare in between."""
    u, out = px.u, _new(px)
    canopy = np.zeros(px.n)
    straw = np.zeros(px.n)
    for k, (lo, hi) in enumerate(cfg.dryland_windows):
        grown = (k == 0) | (u[23] < 0.6)
        sow = lo + u[24 + k] * (hi - lo)
        length = 95 + np.floor(u[26 + k] * 26)
        for shift in (-365.0, 0.0, 365.0):
            d = day - sow - shift
            on = grown & (d >= 0) & (d <= length + 20)
            g = 0.85 * smoothstep((d - 8) / 50.0)
            sen = smoothstep((d - (length - 30)) / 30.0)
            canopy = np.where(on & (d <= length), g * (1 - sen), canopy)
            straw = np.where(on, np.where(d <= length, g * sen, 0.4), straw)
    out[CR] = canopy
    out[ST] = straw
    out[GR] = 0.08 * (1 - canopy - straw)
    _soil(out, 0.92 * (1 - canopy - straw), 0.2 + 0.5 * u[4], env)
    return out


def _fallow(cfg: Any, px: _Pixels, day: int, env: Env) -> np.ndarray:
    """Idle land: weeds that grow in the monsoon, puddles after heavy rain on low ground."""
    u, out = px.u, _new(px)
    weeds = 0.08 + 0.3 * env.wet * u[5]
    out[GR] = weeds
    _soil(out, 1 - weeds, 0.4 + 0.6 * u[4], env)
    return out


def _built(cfg: Any, px: _Pixels, day: int, env: Env) -> np.ndarray:
    u, out = px.u, _new(px)
    urban = 0.7 + 0.2 * u[5]
    out[UR] = urban
    out[TR] = 0.7 * (1 - urban)
    out[DS] = 0.3 * (1 - urban)
    return out


def _forest(cfg: Any, px: _Pixels, day: int, env: Env) -> np.ndarray:
    """Half the stands are semi-deciduous: part of the canopy sheds leaves in the dry season."""
    u, out = px.u, _new(px)
    shed = np.where(u[5] < 0.5, 0.15 * (1 - env.wet), 0.0)
    out[TR] = 0.95 - shed
    out[ST] = shed
    out[GR] = 0.05
    return out


def _water(cfg: Any, px: _Pixels, day: int, env: Env) -> np.ndarray:
    out = _new(px)
    out[W] = 1.0
    return out


def _prep_days(u: np.ndarray, dsr: bool) -> Any:
    """Days from the first flood to establishment: puddling 8-15 days before transplanting, or the
    direct-seeded field's short levelling flood.
    """
    return 6.0 if dsr else 8.0 + np.floor(u[5] * 8)


def _rice(cfg: Any, px: _Pixels, day: int, env: Env, dsr: bool = False) -> np.ndarray:
    """Rice: puddling flood, transplanting, canopy, drainage, harvest; up to four seasons.

    Transplanted rice stands in 5-10 cm of water from puddling (8-15 days before transplanting)
    until 2-3 weeks before harvest. Direct-seeded rice has only a short flood for land
    levelling, is sown on saturated soil and flooded shallowly once seedlings establish.
    """
    u, out = px.u, _new(px)
    prep = _prep_days(u, dsr)
    d = np.full(px.n, -1e4)
    length = np.ones(px.n)
    active = np.zeros(px.n, dtype=bool)
    ponded = np.zeros(px.n, dtype=bool)
    pond_days = 20 + np.floor(u[27] * 31)
    for s in range(px.est.shape[0]):
        ds = day - px.est[s]
        started = np.isfinite(px.est[s]) & (ds >= -prep)
        ponded |= np.isfinite(px.est[s]) & (ds < -prep) & (ds >= -prep - pond_days)
        d = np.where(started, ds, d)
        length = np.where(started, px.length[s], length)
        active |= started
    ponded &= (u[28] < cfg.preseason_ponding) & (env.wet > 0.5)
    ins = active & (d <= length)
    peak = 0.86 + 0.08 * u[6]
    drain = np.clip((length - 10 - d) / 15.0, 0, 1)
    if dsr:
        g = np.where(d < 0, 0.0, 0.02 + (peak - 0.02) * smoothstep((d - 3) / 50.0))
        w = np.where(d < -1, 0.9, np.where(d < 12, 0.15, 0.7 * drain))
    else:
        g = np.where(d < 0, 0.0, 0.03 + (peak - 0.03) * smoothstep((d - 8) / 47.0))
        w = np.where(d < 0, np.clip((d + prep) / 2.0, 0, 1), drain)
    sen = smoothstep((d - (length - 25)) / 25.0)
    out[RC] = np.where(ins, g * (1 - sen), 0.0)
    out[ST] = np.where(ins, g * sen, 0.3)
    out[W] = np.where(ins, (1 - g) * w, 0.0)
    out[WS] = np.where(ins, (1 - g) * (1 - w), 0.0)
    # Between seasons: stubble, volunteer weeds and soil (with puddles after heavy rain).
    out[GR] = np.where(ins, 0.0, 0.1)
    _soil(out, np.where(ins, 0.0, 0.6), 0.7, env)
    # Rainwater held in the bunded field for weeks before puddling (wet-season crops).
    pond = np.where(ponded & ~ins, 0.75, 0.0)
    out *= 1 - pond
    out[W] += pond
    if cfg.fallow_flood:
        # Fields without a crop in the flood season stand under river water for 2-3 months.
        onset = cfg.flood_onset[0] + u[21] * (cfg.flood_onset[1] - cfg.flood_onset[0])
        h, _ = _hydro(day, onset, 20.0, 50 + 40 * u[7], 30.0, np.zeros(px.n), np.zeros(px.n))
        flood = np.where(ins, 0.0, h * 0.9)
        out *= 1 - flood
        out[W] += flood
    return out


def _rice_shrimp(cfg: Any, px: _Pixels, day: int, env: Env) -> np.ndarray:
    """Rice-shrimp rotation: a brackish shrimp pond in the dry season, then one wet-season rice crop.

    The field is flooded with brackish water and stocked in January-February and kept as a pond
    (0.5-1 m of water) until the shrimp harvest in June-August; it is then drained and flushed
    with the first rains for three to six weeks, and transplanted rice grows until a harvest in
    November-December. A peripheral trench holds water all year and grass grows on the bund.
    The coastal fields lie outside the river flood, so the scene's flood-season fallow is off.
    """
    u = px.u
    out = _rice(dataclasses.replace(cfg, fallow_flood=False, preseason_ponding=0.0), px, day, env)
    prep = _prep_days(u, False)  # the puddling flood of _rice
    lo, hi = cfg.rice_shrimp_stock
    stock = lo + u[19] * (hi - lo)
    lo, hi = cfg.rice_shrimp_flush
    drain = px.est[0] - prep - (lo + u[20] * (hi - lo))
    pond = (day >= stock) & (day < drain)
    flush = (day >= drain) & (day < px.est[0] - prep)
    # The drained field is mud with rainwater let in and drained again (salt flushing).
    flush_water = 0.35 + 0.3 * env.puddle
    cols = (slice(None), pond | flush)
    out[cols] = 0.0
    out[W] = np.where(pond, 1.0, np.where(flush, flush_water, out[W]))
    out[WS] = np.where(flush, 1 - flush_water, out[WS])
    # Trench (10-20 % of the field) and bund grass (4-8 %), all year.
    trench, bund = 0.10 + 0.10 * u[22], 0.04 + 0.04 * u[23]
    out *= 1 - trench - bund
    out[W] += trench
    out[GR] += bund
    return out


def _hydro(day: int, onset: np.ndarray, rise: float, plateau: np.ndarray, recession: float,
           g_dry: np.ndarray, g_flood: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Water level (0-1) and vegetation cover of a yearly flood pulse, over three years."""
    h = np.zeros(np.shape(onset))
    g = np.array(g_dry, dtype=np.float64, copy=True)
    for shift in (-365.0, 0.0, 365.0):
        t = day - onset - shift
        up = smoothstep(t / rise)
        down = 1 - smoothstep((t - rise - plateau) / recession)
        level = np.where(t < 0, 0.0, up * down)
        h = np.maximum(h, level)
        # Vegetation is drowned with the rising water and regrows over ~40 days after it.
        regrow = smoothstep((t - rise - plateau - recession) / 40.0)
        veg = np.where(t < rise + plateau + recession, g_dry + (g_flood - g_dry) * up, g_flood + (g_dry - g_flood) * regrow)
        g = np.minimum(g, np.where(t < 0, g_dry, veg))
    return h, g


def _wetland(cfg: Any, px: _Pixels, day: int, env: Env, grassland: bool = False) -> np.ndarray:
    """Seasonal wetland and flooded grassland: one flood pulse a year with emergent vegetation.

    Calibrated to the failure mode seen on real data: VH dips to about -21 dB during the flood
    while its 90th percentile stays near -16 dB (sedge/grass cover in the rest of the year).
    Flooded grassland floods shallower and shorter, and keeps more cover.
    """
    u, out = px.u, _new(px)
    if grassland:
        plateau, wmax, gdry, gflood = 25 + 25 * u[7], 0.5 + 0.3 * u[8], 0.7 + 0.2 * u[9], 0.2 + 0.15 * u[18]
    else:
        plateau, wmax, gdry, gflood = 60 + 50 * u[7], 0.65 + 0.25 * u[8], 0.65 + 0.2 * u[9], 0.08 + 0.17 * u[18]
    onset = cfg.flood_onset[0] + u[21] * (cfg.flood_onset[1] - cfg.flood_onset[0])
    h, g = _hydro(day, onset, 20.0, plateau, 35.0, gdry, gflood)
    # Even in the dry season, pools and saturated hollows remain between the tussocks.
    water = np.maximum(h * wmax, 0.0 if grassland else 0.2)
    out[GR] = g
    out[W] = (1 - g) * water
    out[WS] = (1 - g) * (1 - water)
    return out


_CLASS_FUNCS: dict[int, Callable[..., np.ndarray]] = {
    L.RICE: _rice,
    L.RICE_DSR: functools.partial(_rice, dsr=True),
    L.AQUACULTURE: _aquaculture,
    L.WETLAND: _wetland,
    L.GRASSLAND: functools.partial(_wetland, grassland=True),
    L.ORCHARD: _orchard,
    L.LOTUS: _lotus,
    L.HYACINTH: _hyacinth,
    L.SUGARCANE: _sugarcane,
    L.DRYLAND: _dryland,
    L.FALLOW: _fallow,
    L.BUILT_UP: _built,
    L.FOREST: _forest,
    L.WATER: _water,
    L.RICE_SHRIMP: _rice_shrimp,
}

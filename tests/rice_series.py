"""Point time series for the rice rules built from published figures of real, hard series.

Sentinel-1 VH (dB, before speckle): paddy rice from about -25 dB (flooded) to -14 dB (canopy)
(Nguyen D. B. et al. 2016, "Mapping rice extent and cropping scheme in the Mekong Delta using
Sentinel-1A data", Remote Sensing Letters 7:1209-1218; Bazzi H. et al. 2019, "Mapping paddy rice
using Sentinel-1 SAR time series in Camargue, France", Remote Sensing 11:887); non-rice land whose
VH dips to about -21 dB with a 90th percentile near -16 dB (seasonal wetland, ponds, flood-
irrigated orchards); 6/12-day revisit with missing passes and 1-2 dB offsets between tracks.
The real revisit (``sar_dates(kind="four_track")``): each Sentinel-1 satellite repeats its orbit
every 12 days, so S1A and S1B together see a relative orbit every 6 days, and the ascending and
descending passes over a point interleave with them (Torres R. et al. 2012, "GMES Sentinel-1
mission", Remote Sensing of Environment 120:9-24; ESA Sentinel-1 User Handbook, 2013): four
12-day tracks 3 days apart, about 77-80 dates in 10 months with a fifth of the passes lost (the
real held-out series of a river delta had about 76), each track with its own incidence offset.
Sentinel-2: about 12 clear dates in a year with gaps of 100 and 130 days, whole dates lost and
residual haze. Deterministic for a seed; numpy only (small tables for tests).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

START = np.datetime64("2023-01-01")
SAR_CLASSES = ("rice", "seasonal_wetland", "pond", "orchard_flood_irrigated", "dryland_crop",
               "permanent_water", "forest_built")
SAR_SHARES = (0.45, 0.15, 0.10, 0.10, 0.10, 0.05, 0.05)
OPT_CLASSES = ("rice", "seasonal_wetland", "aquaculture", "dryland_crop", "sugarcane", "orchard", "forest",
               "built")
OPT_SHARES = (0.45, 0.12, 0.08, 0.10, 0.07, 0.08, 0.05, 0.05)


def _ramp(day: np.ndarray, start: float, end: float) -> np.ndarray:
    return np.clip((day - start) / max(end - start, 1e-6), 0.0, 1.0)


def _year_axis(day: np.ndarray, periodic: bool) -> np.ndarray:
    """The calendar days a generator evaluates: ``day`` alone, or with a periodic calendar ``day``,
    ``day + 365`` (the previous year's seasons) and ``day - 365`` (the next year's)."""
    return np.concatenate([day, day + 365, day - 365]) if periodic else day


def _fold_years(active: np.ndarray, *values: np.ndarray) -> tuple[np.ndarray, ...]:
    """Fold the three years of :func:`_year_axis` back onto the observed days.

    A day outside every season of its own year shows the previous year's season standing on it
    (the one that crossed the year end), else the next year's (a seedbed flooded before the year
    ends), else its own year's fallow. A season of the day's own year wins where two overlap (a
    third crop's harvest running into the next first crop's seedbed).
    """
    n = active.size // 3
    act = active.reshape(3, n)
    prev, nxt = ~act[0] & act[1], ~act[0] & ~act[1] & act[2]
    out = []
    for v in values:
        v3 = v.reshape(3, n)
        out.append(np.where(prev, v3[1], np.where(nxt, v3[2], v3[0])))
    return tuple(out)


def _classes(n: int, names: tuple[str, ...], shares: tuple[float, ...], rng: np.random.Generator) -> np.ndarray:
    counts = np.floor(np.asarray(shares) * n).astype(int)
    counts[0] += n - counts.sum()
    return rng.permutation(np.repeat(np.arange(len(names)), counts))


def sar_dates(kind: str, rng: np.random.Generator, loss: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Day offsets and track numbers of a 10-month S1 series, each pass lost with probability ``loss``.

    ``dense``: two 12-day tracks 6 days apart (~40 dates); ``sparse``: one 12-day track (~20
    dates); ``four_track``: the published revisit over a delta, four 12-day tracks 3 days apart
    (S1A and S1B, ascending and descending: ~77-80 dates). Returns ``(days, track)``, track 0-3.
    """
    offsets = {"dense": (0, 6), "sparse": (0,), "four_track": (0, 6, 3, 9)}
    if kind not in offsets:
        raise ValueError(f"kind must be one of {sorted(offsets)}, got {kind!r}.")
    days, track = [], []
    for k, off in enumerate(offsets[kind]):
        d = np.arange(off, 300, 12)
        keep = rng.random(d.size) > loss
        days += list(d[keep])
        track += [k] * int(keep.sum())
    order = np.argsort(days, kind="stable")
    return np.asarray(days)[order], np.asarray(track)[order]


def _season(series: np.ndarray, day: np.ndarray, s: float, flood_len: float, grow: float, harvest: float,
            fallow: float, flood: float, canopy: float) -> np.ndarray:
    """One season's levels on ``series`` (dB): fallow -> flood -> rising canopy -> harvest."""
    lvl = np.where(day < s - 7, series, fallow + (flood - fallow) * _ramp(day, s - 7, s))
    lvl = np.where((day >= s) & (day < s + flood_len), flood, lvl)
    rising = flood + (canopy - flood) * _ramp(day, s + flood_len, s + grow)
    lvl = np.where((day >= s + flood_len) & (day < harvest), rising, lvl)
    lvl = np.where((day >= harvest) & (day < harvest + 10), fallow, lvl)
    return np.where((day >= s - 7) & (day < harvest + 10), lvl, series)


def _rice_vh(day: np.ndarray, rng: np.random.Generator, vv_rng: np.random.Generator,
             fallow_db: tuple[float, float] = (-19.0, -17.0),
             periodic: bool = False) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """One paddy: 1-3 staggered seasons; 20 % direct-seeded (short, shallow flood). VH and VV.

    VV (levels from ``vv_rng`` only): bare or ploughed fallow soil -12 to -9 dB; the transplanting
    flood is open water, specular in VV too (-22 to -18 dB); a direct-seeded field's saturated,
    thinly flooded seedbed -17 to -14 dB; the canopy at heading -11 to -8 dB, less above the fallow
    than VH because the vertical stems attenuate VV (the VH/VV ratio rises through the season).
    With ``periodic`` the calendar repeats every 365 days (:func:`_fold_years`): a season running
    past the calendar's year end stands at its start.
    """
    day = _year_axis(day, periodic)
    active = np.zeros(day.shape, bool)
    n_seasons = rng.choice([1, 2, 3], p=[0.3, 0.4, 0.3])
    fallow = rng.uniform(*fallow_db)
    fallow_vv = vv_rng.uniform(-12.0, -9.0)
    vh = np.full(day.shape, fallow)
    vv = np.full(day.shape, fallow_vv)
    first = rng.uniform(10, 60) if n_seasons > 1 else rng.uniform(20, 160)
    starts = [first + k * rng.uniform(100, 115) for k in range(n_seasons)]
    starts = [s for s in starts if s < 280]
    dates = []
    for s in starts:
        direct = rng.random() < 0.2
        flood = rng.uniform(-20.0, -18.5) if direct else rng.uniform(-26.0, -21.5)
        flood_len = rng.uniform(4, 8) if direct else rng.uniform(10, 25)
        canopy = rng.uniform(-16.0, -13.5)
        grow = rng.uniform(45, 70)
        harvest = s + rng.uniform(95, 115)
        vh = _season(vh, day, s, flood_len, grow, harvest, fallow, flood, canopy)
        flood_vv = vv_rng.uniform(-17.0, -14.0) if direct else vv_rng.uniform(-22.0, -18.0)
        vv = _season(vv, day, s, flood_len, grow, harvest, fallow_vv, flood_vv, vv_rng.uniform(-11.0, -8.0))
        active |= (day >= s - 7) & (day < harvest + 10)
        dates.append(int(s + flood_len / 2))
    if periodic:
        vh, vv = _fold_years(active, vh, vv)
    return vh, vv, dates


def _other_vh(cls: str, day: np.ndarray, rng: np.random.Generator,
              vv_rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """VH and VV of a non-rice point (VV levels from ``vv_rng`` only)."""
    if cls == "seasonal_wetland":  # vegetated -16 dB, flooded for months dipping to about -21 dB
        veg, wet = rng.uniform(-16.8, -15.5), rng.uniform(-22.0, -20.5)
        a = rng.uniform(120, 200)
        b = a + rng.uniform(80, 140)
        w = np.minimum(_ramp(day, a - 15, a), 1 - _ramp(day, b, b + 25))
        # VV: sedge and grass -11 to -9 dB; open water among emergent stems -19 to -16 dB.
        veg_vv, wet_vv = vv_rng.uniform(-11.0, -9.0), vv_rng.uniform(-19.0, -16.0)
        return veg + (wet - veg) * w, veg_vv + (wet_vv - veg_vv) * w
    if cls == "pond":  # water, drained for 20-40 days once or twice (mud)
        vh = np.full(day.shape, rng.uniform(-24.0, -21.0))
        vv = np.full(day.shape, vv_rng.uniform(-22.0, -18.0))  # open water, some wind
        for _ in range(rng.integers(1, 3)):
            a = rng.uniform(0, 260)
            drained = (day >= a) & (day < a + rng.uniform(20, 40))
            vh = np.where(drained, rng.uniform(-17.0, -15.0), vh)
            vv = np.where(drained, vv_rng.uniform(-11.0, -8.0), vv)  # wet mud
        return vh, vv
    if cls == "orchard_flood_irrigated":  # canopy -16 dB, 3-5 short irrigation floods to about -21 dB
        top = rng.uniform(-16.5, -15.0)
        top_vv = vv_rng.uniform(-9.0, -7.0)
        vh, vv = np.full(day.shape, top), np.full(day.shape, top_vv)
        for _ in range(rng.integers(3, 6)):
            a = rng.uniform(0, 290)
            pulse = (day >= a) & (day < a + rng.uniform(3, 9))
            wet = rng.uniform(-22.0, -20.0)
            vh = np.where(pulse, wet, vh)
            # Under a tree canopy the water darkens VV as it darkens VH, by 60-100 % as many dB
            # (the canopy's own scattering stays): no clean VV separation is assumed.
            vv = np.where(pulse, top_vv + (wet - top) * vv_rng.uniform(0.6, 1.0), vv)
        return vh, vv
    if cls == "dryland_crop":  # bare soil -18 to -20 dB for weeks, a canopy -14 dB, no flood
        soil, top = rng.uniform(-20.0, -17.5), rng.uniform(-15.5, -13.5)
        s = rng.uniform(30, 180)
        g = np.minimum(_ramp(day, s + 20, s + 70), 1 - _ramp(day, s + 110, s + 120))
        # VV: bare or ploughed soil stays bright (-12 to -8 dB), an upland canopy -11 to -8 dB.
        soil_vv, top_vv = vv_rng.uniform(-12.0, -8.0), vv_rng.uniform(-11.0, -8.0)
        return soil + (top - soil) * g, soil_vv + (top_vv - soil_vv) * g
    if cls == "permanent_water":
        return np.full(day.shape, rng.uniform(-26.0, -22.0)), np.full(day.shape, vv_rng.uniform(-24.0, -18.0))
    # forest / built-up
    return np.full(day.shape, rng.uniform(-13.0, -9.0)), np.full(day.shape, vv_rng.uniform(-8.0, -4.0))


def sar_points(n: int = 600, kind: str = "dense", seed: int = 0, enl: float = 12.0,
               name_tracks: bool = False, vv: bool = False, *, loss: float = 0.2,
               offset_db: tuple[float, float] = (1.0, 2.0), shift_days: int = 0,
               fallow_db: tuple[float, float] = (-19.0, -17.0),
               shares: tuple[float, ...] = SAR_SHARES) -> tuple[Any, pd.DataFrame]:
    """A ``(time, point)`` VH table in linear power (no ``units`` attribute) and its truth.

    ``kind`` is the date axis of :func:`sar_dates`. Speckle: gamma with ``enl`` looks (12: a
    field-averaged GRD pixel, about 1.3 dB); each track after the first reads a point 1-2 dB
    brighter or darker (its incidence angle). The tracks are not named (the rule cannot remove
    their offsets) unless ``name_tracks``, which adds a ``relative_orbit`` coordinate on ``time``.

    With ``vv`` the table is an ``xarray.Dataset`` of ``vh`` and ``vv`` (same dates, same track
    offsets, independent speckle: co- and cross-polarised speckle of distributed targets are
    nearly uncorrelated). The VV levels come from a second generator seeded from ``seed``, so the
    VH values are the same bytes with or without ``vv``.

    Stress knobs (defaults: the fixed table): ``loss``, the probability of a lost pass;
    ``offset_db``, the range of a track's offset; ``shift_days``, the local crop calendar shifted
    later by this many days (every class, on a calendar repeating every 365 days:
    :func:`_fold_years`); ``fallow_db``, the range of a paddy's fallow level; ``shares``, the class
    shares of ``SAR_CLASSES``.
    """
    rng = np.random.default_rng(seed)
    vv_rng = np.random.default_rng([seed, 1])
    day, track = sar_dates(kind, rng, loss)
    cls = _classes(n, SAR_CLASSES, shares, rng)
    gday = (day - shift_days) % 365 if shift_days else day
    db = np.empty((day.size, n), np.float64)
    db_vv = np.empty((day.size, n), np.float64)
    first_date = np.zeros(n, np.int64)
    all_dates: list[list[int]] = [[] for _ in range(n)]
    for i, c in enumerate(cls):
        if c == 0:
            db[:, i], db_vv[:, i], dates = _rice_vh(gday, rng, vv_rng, fallow_db, bool(shift_days))
            dates = [(d + shift_days) % 365 for d in dates]
            first_date[i] = dates[0] if dates else 0
            all_dates[i] = [d + 1 for d in dates]
        else:
            db[:, i], db_vv[:, i] = _other_vh(SAR_CLASSES[c], gday, rng, vv_rng)
        # Each track but the first reads the point 1-2 dB brighter or darker (its incidence angle;
        # one draw even for a single track, so every table keeps its random stream).
        offset = [0.0] + [rng.uniform(*offset_db) * rng.choice([-1, 1]) for _ in range(max(int(track.max()), 1))]
        db[:, i] += np.asarray(offset)[track]
        db_vv[:, i] += np.asarray(offset)[track]
    lin = 10 ** (db / 10) * rng.gamma(enl, 1 / enl, db.shape)
    time = START + day.astype("timedelta64[D]")
    vh = xr.DataArray(lin.astype(np.float32), dims=("time", "point"), coords={"time": time}, name="vh")
    if name_tracks:
        vh = vh.assign_coords(relative_orbit=("time", track))
    table: Any = vh
    if vv:
        lin_vv = 10 ** (db_vv / 10) * vv_rng.gamma(enl, 1 / enl, db_vv.shape)
        table = xr.Dataset({"vh": vh, "vv": vh.copy(data=lin_vv.astype(np.float32)).rename("vv")})
    truth = pd.DataFrame({"cls": [SAR_CLASSES[c] for c in cls], "rice": (cls == 0).astype(np.uint8),
                          "first_doy": np.where(cls == 0, first_date + 1, 0), "doys": all_dates})
    return table, truth


OPT_DAYS = np.array([5, 20, 35, 50, 65, 80, 180, 195, 210, 225, 355, 364])  # gaps of 100 and 130 days


def _opt_rice(day: np.ndarray, rng: np.random.Generator, seasons: int | None = None,
              peak: tuple[float, float] = (0.7, 0.88), canopy_lswi: float | None = None,
              standing_water: bool = False, periodic: bool = False) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """NDVI and LSWI of a paddy: 1-3 seasons; flood NDVI ~0.1 with LSWI above it, canopy 0.7-0.85.

    By default the field drains when the flood ends (LSWI falls to 0.05, then rises with the
    canopy); ``standing_water`` keeps the transplanted crop in water until the canopy closes, so
    the young crop's LSWI moves from the flood's straight to the canopy's. With ``periodic`` the
    calendar repeats every 365 days (:func:`_fold_years`).
    """
    day = _year_axis(day, periodic)
    active = np.zeros(day.shape, bool)
    nd = np.full(day.shape, rng.uniform(0.22, 0.32))  # fallow / stubble
    ls = np.full(day.shape, rng.uniform(-0.15, 0.0))
    n = rng.choice([1, 2, 3], p=[0.3, 0.4, 0.3])
    n = n if seasons is None else seasons
    first = rng.uniform(0, 40)
    dates = []
    for k in range(n):
        s = first + k * rng.uniform(105, 120)
        if s > 330:
            break
        top, grow, harvest = rng.uniform(*peak), rng.uniform(50, 70), s + rng.uniform(95, 110)
        flood = (day >= s - 10) & (day < s + 20)
        g = np.clip((day - s - 15) / (grow - 15), 0, 1)
        season_nd = np.where(flood, rng.uniform(0.05, 0.18), 0.15 + (top - 0.15) * g)
        water = rng.uniform(0.2, 0.35)
        rise = 0.25 * g if canopy_lswi is None else (canopy_lswi - 0.05) * g
        closed = 0.30 if canopy_lswi is None else canopy_lswi
        young = water + (closed - water) * g
        season_ls = np.where(flood, water, young if standing_water else 0.05 + rise)
        inside = (day >= s - 10) & (day < harvest)
        nd, ls = np.where(inside, season_nd, nd), np.where(inside, season_ls, ls)
        active |= inside
        dates.append(int(s))
    if periodic:
        nd, ls = _fold_years(active, nd, ls)
    return nd, ls, dates


def _opt_other(cls: str, day: np.ndarray, rng: np.random.Generator,
               periodic: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """NDVI and LSWI of a non-rice point; with ``periodic`` the seasonal classes' calendars repeat
    every 365 days (a wetland flood or a cane crop crossing the year end stands at its start)."""
    if periodic and cls in ("seasonal_wetland", "dryland_crop", "sugarcane"):
        nd, ls, active = _opt_seasonal(cls, _year_axis(day, True), rng)
        nd, ls = _fold_years(active, nd, ls)
        return nd, ls
    if cls in ("seasonal_wetland", "dryland_crop", "sugarcane"):
        nd, ls, _ = _opt_seasonal(cls, day, rng)
        return nd, ls
    if cls == "aquaculture":
        dry = (day >= rng.uniform(0, 300)) & (day < 30 + rng.uniform(0, 300))
        return np.where(dry, 0.2, rng.uniform(-0.1, 0.1)), np.where(dry, -0.05, rng.uniform(0.1, 0.4))
    if cls == "orchard":
        return rng.uniform(0.55, 0.75) + 0.05 * np.sin(day / 58.0), rng.uniform(0.05, 0.2) + 0 * day
    if cls == "forest":
        return rng.uniform(0.78, 0.88) + 0 * day, rng.uniform(0.2, 0.35) + 0 * day
    return rng.uniform(0.12, 0.25) + 0 * day, rng.uniform(-0.2, -0.05) + 0 * day  # built-up


def _opt_seasonal(cls: str, day: np.ndarray,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NDVI, LSWI and the in-season mask of a seasonal wetland, an upland crop or sugarcane."""
    if cls == "seasonal_wetland":  # flooded for months, then grassland up to NDVI 0.6-0.7
        a = rng.uniform(150, 230)
        w = (day >= a) & (day < a + rng.uniform(90, 140))
        g = np.clip((day - (a - 120)) / 60, 0, 1) * (day < a)
        return (np.where(w, rng.uniform(0.02, 0.15), 0.3 + rng.uniform(0.3, 0.4) * g),
                np.where(w, rng.uniform(0.2, 0.4), rng.uniform(-0.05, 0.15) + 0.0 * day), w)
    s = rng.uniform(0, 200)
    span = (60, 110) if cls == "dryland_crop" else (150, 330)
    standing = (day >= s) & (day < s + rng.uniform(*span))
    g = np.clip((day - s) / 60, 0, 1) * standing
    return 0.18 + rng.uniform(0.55, 0.65) * g, rng.uniform(-0.25, -0.1) + 0.3 * g, standing


def optical_days(n_dates: int = 12, gaps: tuple[float, float] = (100.0, 130.0)) -> np.ndarray:
    """A year's date axis of ``n_dates`` evenly spread dates around two cloud gaps of ``gaps`` days.

    The gaps sit where the fixed table's do: the first after day 80, the second ending on day 355
    (their sum at most 275 days); the dates are spread over the rest of the year in proportion to
    each clear span's length, each span's ends included, so ``optical_days(12)`` keeps the fixed
    table's gaps but not its exact days (``OPT_DAYS``).
    """
    g1, g2 = float(gaps[0]), float(gaps[1])
    if g1 + g2 > 275 or min(g1, g2) < 0:
        raise ValueError(f"gaps must be >= 0 days and sum to at most 275 days, got {gaps}.")
    spans = [(5.0, 80.0), (80.0 + g1, 355.0 - g2), (355.0, 364.0)]
    lengths = np.array([b - a for a, b in spans]) + 1.0
    share = np.maximum(np.round(lengths / lengths.sum() * n_dates).astype(int), 1)
    while share.sum() > n_dates:
        share[int(np.argmax(share))] -= 1
    while share.sum() < n_dates:
        share[int(np.argmax(lengths / share))] += 1
    out = [np.linspace(a, b, k) if k > 1 else np.array([a]) for (a, b), k in zip(spans, share)]
    return np.unique(np.round(np.concatenate(out)).astype(np.int64))


def optical_points(n: int = 600, seed: int = 0, lost_dates: int = 1, haze: float = 0.05, *,
                   days: np.ndarray | None = None, shadow: float = 0.0, seasons: int | None = None,
                   shift_days: int = 0, peak: tuple[float, float] = (0.7, 0.88),
                   shares: tuple[float, ...] = OPT_SHARES, canopy_lswi: float | None = None,
                   standing_water: bool = False) -> tuple[xr.Dataset, pd.DataFrame]:
    """A ``(time, point)`` table of ``ndvi``, ``evi``, ``lswi`` (NaN = cloud) and its truth.

    12 clear-ish dates in a year with gaps of 100 and 130 days; ``lost_dates`` whole dates are
    lost to cloud; ``haze`` is the fraction of observations with residual haze the cloud mask
    missed (NDVI halved, LSWI lowered); NDVI noise 0.03.

    Stress knobs (defaults: the fixed table): ``days``, the date axis before the lost dates
    (``OPT_DAYS``; see :func:`optical_days`); ``shadow``, the fraction of observations under a
    cloud shadow the mask missed (NDVI x 0.7, LSWI + 0.1: darker, and wetter-looking); ``seasons``,
    every paddy's number of seasons (1-3 drawn when ``None``); ``shift_days``, the local crop calendar
    shifted later by this many days (every class, on a calendar repeating every 365 days:
    :func:`_fold_years`); ``peak``, the range of a rice canopy's NDVI peak; ``shares``, the class shares of ``OPT_CLASSES``; ``canopy_lswi``, the LSWI a
    paddy's closed canopy reaches over its water (0.30 when ``None``); ``standing_water``, transplanted
    paddies kept flooded until the canopy closes (continuous flooding, as most irrigated lowland rice
    is managed: Bouman B. A. M. et al. 2007, "Rice and water", Advances in Agronomy 92:187-237), so
    their young crop still shows water; by default they drain when the flood ends.
    """
    rng = np.random.default_rng(seed)
    axis = OPT_DAYS if days is None else np.asarray(days)
    day = np.delete(axis, rng.choice(axis.size, lost_dates, replace=False))
    cls = _classes(n, OPT_CLASSES, shares, rng)
    gday = (day - shift_days) % 365 if shift_days else day
    nd = np.empty((day.size, n))
    ls = np.empty((day.size, n))
    first = np.zeros(n, np.int64)
    all_dates: list[list[int]] = [[] for _ in range(n)]
    for i, c in enumerate(cls):
        if c == 0:
            nd[:, i], ls[:, i], dates = _opt_rice(gday, rng, seasons, peak, canopy_lswi, standing_water,
                                                  bool(shift_days))
            dates = [(d + shift_days) % 365 for d in dates]
            first[i] = dates[0] if dates else 0
            all_dates[i] = [d + 1 for d in dates]
        else:
            nd[:, i], ls[:, i] = _opt_other(OPT_CLASSES[c], gday, rng, bool(shift_days))
    nd += rng.normal(0, 0.03, nd.shape)
    ls += rng.normal(0, 0.03, ls.shape)
    hazy = rng.random(nd.shape) < haze
    nd = np.where(hazy, nd * 0.5, nd)
    ls = np.where(hazy, ls - 0.1, ls)
    if shadow:  # drawn only when asked: the fixed tables keep their random stream
        shaded = rng.random(nd.shape) < shadow
        nd = np.where(shaded, nd * 0.7, nd)
        ls = np.where(shaded, ls + 0.1, ls)
    evi = nd * 0.75
    cloud = rng.random(nd.shape) < 0.05
    nd32, ls32, evi32 = (np.where(cloud, np.nan, a).astype(np.float32) for a in (nd, ls, evi))
    dims = ("time", "point")
    ds = xr.Dataset({"ndvi": (dims, nd32), "evi": (dims, evi32), "lswi": (dims, ls32)},
                    coords={"time": START + day.astype("timedelta64[D]")})
    truth = pd.DataFrame({"cls": [OPT_CLASSES[c] for c in cls], "rice": (cls == 0).astype(np.uint8),
                          "first_doy": np.where(cls == 0, first + 1, 0), "doys": all_dates})
    return ds, truth


def one_line_sar_baseline(vh_linear: np.ndarray) -> np.ndarray:
    """min VH <= -18 dB and (max - min) VH >= 5 dB, per column of a (time, point) array."""
    db = 10 * np.log10(vh_linear)
    lo, hi = np.nanmin(db, axis=0), np.nanmax(db, axis=0)
    return ((lo <= -18) & (hi - lo >= 5)).astype(np.uint8)


def one_line_optical_baseline(ndvi: np.ndarray) -> np.ndarray:
    """min NDVI <= 0.3 and max NDVI >= 0.6 on clear dates, per column of a (time, point) array."""
    return ((np.nanmin(ndvi, axis=0) <= 0.3) & (np.nanmax(ndvi, axis=0) >= 0.6)).astype(np.uint8)


def scores(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Overall accuracy, rice F1, precision and recall (prediction 255 = not rice)."""
    p, t = pred == 1, truth == 1
    tp, fp, fn = int((p & t).sum()), int((p & ~t).sum()), int((~p & t).sum())
    return {"oa": float((p == t).mean()), "f1": 2 * tp / max(2 * tp + fp + fn, 1),
            "precision": tp / max(tp + fp, 1), "recall": tp / max(tp + fn, 1)}


def date_error(pred_doy: np.ndarray, truth_doys: "pd.Series", hit: np.ndarray) -> tuple[float, int]:
    """Mean absolute error (days) of predicted season dates ``(season, point)`` against the nearest
    true season date of each correctly mapped rice point, and the number of dates compared."""
    err = []
    for i in np.flatnonzero(hit):
        true = np.asarray(truth_doys.iloc[i], float)
        if true.size == 0:
            continue
        for d in pred_doy[:, i][pred_doy[:, i] > 0]:
            err.append(np.min(np.abs(true - float(d))))
    return (float(np.mean(err)) if err else float("nan")), len(err)

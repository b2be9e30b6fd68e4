"""Per-block rendering of a hard scene: Sentinel-2 reflectance and SCL, Sentinel-1 VV/VH, truth.

Each function renders one dask block from the global window it covers, so values never depend
on chunking: every random number is a hash of the seed, the date and the global pixel position.

- **Mixed pixels**: the landscape is computed one row and one column beyond the block; a pixel
  whose right or lower neighbour lies in another field takes ``edge_mix`` of that neighbour's
  surface fractions (a field boundary crossing the pixel footprint). Truth is the pixel centre's
  field.
- **Sentinel-2**: fractions x component spectra x a per-field gain (+-6 %), Gaussian noise
  (0.003 + 1.5 % of the value); clouds as smooth blobs flagged SCL 8/9, with a thin fringe that
  SCL misses (10-40 % cloud mixed into the surface); shadows displaced from the clouds, flagged
  SCL 3 only in their core; haze mixed with a blue-heavy path-radiance spectrum, flagged SCL 10
  (thin cirrus) only where it is thick.
- **Sentinel-1**: fractions x component backscatter in linear power, wind-roughened open water
  on some dates, the pass's incidence-angle offset, a per-field gain (+-0.75 dB), then gamma
  speckle with the plan's ENL (unit mean, so the mean is unbiased in linear power).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..synthetic_truth import cloud_noise, hash_keys, uniform_pair, value_noise
from . import landscape as L
from .acquisitions import S1Pass, S2Date
from .signatures import COMPONENTS, S2_BANDS, W, fractions, scene_env

__all__ = ["s2_block", "s1_block", "truth_block", "day_number"]

_REFL = np.array([v[0] for v in COMPONENTS.values()], dtype=np.float64)  # (K, B)
_SIGMA = 10.0 ** (np.array([v[1] for v in COMPONENTS.values()], dtype=np.float64) / 10.0)  # (K, 2): VH, VV
_HAZE = np.array([0.30, 0.27, 0.24, 0.22, 0.14, 0.09])
_SHADOW = np.array([0.55, 0.45, 0.40, 0.32, 0.28, 0.28])  # diffuse sky light is blue-rich
_S_NOISE, _S_SPECKLE, _S_HAZE = 131, 132, 133


@functools.lru_cache(maxsize=8)
def _noise_sample(scale: int) -> np.ndarray:
    """Sorted sample of the stationary cloud noise (as in :func:`agromap.synthetic_truth.cloud_threshold`)."""
    rng = np.random.default_rng(12345)
    pos = rng.integers(0, 1000 * scale, size=(2, 200_000))
    return np.sort(cloud_noise(12345, 0, pos[0], pos[1], scale, pointwise=True))


def cloud_threshold(fraction: float, scale: int) -> float:
    """The noise level below which ``fraction`` of the pixels lie (any fraction, one sample)."""
    if fraction <= 0.0:
        return -1.0
    if fraction >= 1.0:
        return 2.0
    sample = _noise_sample(scale)
    return float(sample[int(fraction * (sample.size - 1))])


def day_number(cfg: Any, date: str) -> int:
    """Days since 31 December before ``cfg.year`` (1 = 1 January)."""
    return int((np.datetime64(date[:10], "D") - np.datetime64(f"{cfg.year}-01-01", "D")).astype(int)) + 1


def calendar_day(cfg: Any, day: int) -> int:
    """The day of the local calendar seen on ``day``: ``cfg.calendar_shift`` days earlier, wrapped
    into the one year of calendar that begins on the scene's first date.

    Seasons established before that year (negative day numbers in the calendars) show only their
    tails; where the wrap falls, one year's crop gives way to the next year's crop of the same slot.
    """
    if not cfg.calendar_shift:
        return day
    first = day_number(cfg, cfg.start)
    return first + (day - cfg.calendar_shift - first) % 365


def _shown_days(cfg: Any, est: np.ndarray) -> np.ndarray:
    """The observed day numbers on which calendar days ``est`` are seen (NaN: never seen)."""
    first, last = day_number(cfg, cfg.start), day_number(cfg, cfg.end)
    if cfg.calendar_shift:
        canonical = (est >= first) & (est < first + 365)
        est = np.where(canonical, first + np.mod(est + cfg.calendar_shift - first, 365), np.nan)
    return np.where((est >= first) & (est <= last), est, np.nan)


def _mix(table: np.ndarray, frac: np.ndarray) -> np.ndarray:
    """sum_k table[k] * frac[k] in a fixed order (no BLAS: its order may depend on the shape)."""
    out = np.zeros((table.shape[1], *frac.shape[1:]))
    for k in range(table.shape[0]):
        out += table[k][:, None, None] * frac[k]
    return out


class _Window:
    """The landscape of a block plus one row and column, and the edge-mixing weights."""

    def __init__(self, cfg: Any, seed: int, rows: slice, cols: slice) -> None:
        self.cfg, self.seed = cfg, seed
        self.rows, self.cols = rows, cols
        ext = L.landscape(cfg, seed, slice(rows.start, rows.stop + 1), slice(cols.start, cols.stop + 1))
        self.ext = ext
        own = ext["field_id"][:-1, :-1]
        m = cfg.edge_mix
        self.w_right = np.where(ext["field_id"][:-1, 1:] != own, m, 0.0)
        self.w_down = np.where(ext["field_id"][1:, :-1] != own, m, 0.0)
        total = self.w_right + self.w_down
        scale = np.where(total > 0.5, 0.5 / np.maximum(total, 1e-9), 1.0)
        self.w_right *= scale
        self.w_down *= scale
        self.own = {k: (v[..., :-1, :-1] if isinstance(v, np.ndarray) else v) for k, v in ext.items()}
        self.rr = np.arange(rows.start, rows.stop)[:, None]
        self.cc = np.arange(cols.start, cols.stop)[None, :]
        # Per-pixel base hashes, extended by the date (and band/polarisation) in one round each.
        self.h_noise = hash_keys(seed, _S_NOISE, self.rr, self.cc)
        self.h_speckle = hash_keys(seed, _S_SPECKLE, self.rr, self.cc)

    def fractions(self, day: int) -> np.ndarray:
        env = scene_env(self.cfg, self.seed, day)  # weather is the observed day's, the crops the calendar's
        fx = fractions(self.cfg, self.ext, calendar_day(self.cfg, day), env)
        own, right, down = fx[:, :-1, :-1], fx[:, :-1, 1:], fx[:, 1:, :-1]
        return (1 - self.w_right - self.w_down) * own + self.w_right * right + self.w_down * down


def _normal(h: np.ndarray) -> np.ndarray:
    u1, u2 = uniform_pair(h)
    return np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2)


def s2_block(cfg: Any, seed: int, dates: tuple[S2Date, ...], block_info: Any = None) -> np.ndarray:
    """(B + 1, t, rows, cols) float32: the bands of :data:`S2_BANDS`, then SCL codes."""
    (_, _), (t0, t1), (r0, r1), (c0, c1) = block_info[None]["array-location"]
    win = _Window(cfg, seed, slice(r0, r1), slice(c0, c1))
    nb = len(S2_BANDS)
    out = np.empty((nb + 1, t1 - t0, r1 - r0, c1 - c0), dtype=np.float32)
    rr, cc = win.rr, win.cc
    scale = cfg.s2.cloud_scale
    for i, sd in enumerate(dates[t0:t1]):
        day = day_number(cfg, sd.date)
        frac = win.fractions(day)
        refl = _mix(_REFL, frac) * win.own["brightness"]
        hpix = hash_keys(win.h_noise, day)
        for b in range(nb):
            refl[b] += _normal(hash_keys(hpix, b)) * (0.003 + 0.015 * refl[b])
        water = frac[W]
        veg = sum(frac[k] for k, n in enumerate(COMPONENTS) if n in ("rice_canopy", "grass", "crop_canopy",
                                                                   "tree", "floating_veg"))
        scl = np.where(water >= 0.5, 6, np.where(veg >= 0.35, 4, 5)).astype(np.float32)

        if sd.haze > 0:
            h = sd.haze * (0.4 + 1.2 * value_noise((seed, _S_HAZE, day), rr[:, 0], cc[0], 64))
            refl = refl * (1 - h) + h * _HAZE[:, None, None]
            scl[h > 0.2] = 10  # SCL flags only thick haze as thin cirrus
        cover = sd.cover
        if cover > 0:
            q = cloud_threshold(min(cover, 1.0), scale)
            q_core = cloud_threshold(0.6 * min(cover, 1.0), scale)
            q_fringe = cloud_threshold(min(cover + 0.05, 1.0), scale)
            cn = cloud_noise(seed, day, rr[:, 0], cc[0], scale)
            # Shadows fall to the north-west of their clouds; SCL flags only their core.
            off = max(2, scale // 3)
            sn = cloud_noise(seed, day, rr[:, 0] + off, cc[0] + off, scale)
            shade = (sn < q) & (cn >= q_fringe)
            refl[:, shade] *= _SHADOW[:, None]
            scl[shade & ((sn < q_core) | (not cfg.s2.scl_misses))] = 3
            fringe = (cn >= q) & (cn < q_fringe)
            if not cfg.s2.scl_misses:
                scl[fringe] = 8
            a = 0.1 + 0.3 * np.clip((q_fringe - cn) / max(q_fringe - q, 1e-6), 0, 1)
            cloud_refl = np.array([.45, .44, .43, .45, .33, .24])[:, None]
            refl[:, fringe] = a[fringe] * cloud_refl + (1 - a[fringe]) * refl[:, fringe]
            cloud = cn < q
            alpha = 0.7 + 0.3 * np.clip((q - cn) / max(q - q_core, 1e-6), 0.0, 1.0)
            refl[:, cloud] = alpha[cloud] * cloud_refl + (1 - alpha[cloud]) * refl[:, cloud]
            scl[cloud] = np.where(cn[cloud] < q_core, 9, 8)
        out[:nb, i] = np.clip(refl, 1e-4, 1.0)
        out[nb, i] = scl
    return out


def _gamma(h: np.ndarray, enl: float) -> np.ndarray:
    """Unit-mean gamma(enl) variates from hashes (Wilson-Hilferty: exact enough for ENL >= 1)."""
    z = _normal(h)
    c = 1.0 / (9.0 * enl)
    return np.maximum(1 - c + z * np.sqrt(c), 0.05) ** 3


def s1_block(cfg: Any, seed: int, passes: tuple[S1Pass, ...], block_info: Any = None) -> np.ndarray:
    """(2, t, rows, cols) float32 linear power: VV, then VH."""
    (_, _), (t0, t1), (r0, r1), (c0, c1) = block_info[None]["array-location"]
    win = _Window(cfg, seed, slice(r0, r1), slice(c0, c1))
    out = np.empty((2, t1 - t0, r1 - r0, c1 - c0), dtype=np.float32)
    gain = win.own["sar_gain"]
    for i, ps in enumerate(passes[t0:t1]):
        day = day_number(cfg, ps.date)
        env = scene_env(cfg, seed, day)
        frac = win.fractions(day)
        sigma = _SIGMA.copy()
        # Wind roughens open water: VV much more than VH.
        sigma[W] *= 10.0 ** (np.array([0.35 * env.wind_db, env.wind_db]) / 10.0)
        power = _mix(sigma, frac) * gain * 10.0 ** (ps.offset_db / 10.0)
        for p, pol in enumerate((1, 0)):  # output order VV, VH
            h = hash_keys(win.h_speckle, 2 * day + pol)
            out[p, i] = power[pol] * _gamma(h, cfg.s1.enl)
    return out


def truth_block(cfg: Any, seed: int, n_seasons: int, block_info: Any = None) -> np.ndarray:
    """(4 + n_seasons, rows, cols) float32: cover, rice, edge, field id (low 24 bits), DOYs."""
    (_, _), (r0, r1), (c0, c1) = block_info[None]["array-location"]
    win = _Window(cfg, seed, slice(r0, r1), slice(c0, c1))
    own = win.own
    cover = own["cover"]
    seen = _shown_days(cfg, own["est"])
    seen = np.sort(seen, axis=0)[:n_seasons]  # NaN sorts last
    year0 = np.datetime64(f"{cfg.year}-01-01", "D")
    doy = np.full(seen.shape, np.nan, dtype=np.float32)
    ok = np.isfinite(seen)
    dates = year0 + (seen[ok] - 1).astype("timedelta64[D]")
    doy[ok] = (dates - dates.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64) + 1
    layers = [cover, np.isin(cover, L.RICE_CODES), (win.w_right + win.w_down) > 0,
              (own["field_id"] & np.uint64(0xFFFFFF)).astype(np.float64)]
    return np.concatenate([np.stack([np.asarray(a, dtype=np.float32) for a in layers]), doy])

"""Water evidence from Sentinel-1 and its fusion, lazily: weighted memberships, region growing, flooded vegetation.

Weighted evidence
-----------------
Each source (VV, VH, optical index) gives a logistic membership ``1 / (1 + exp(-(t - x) / s))``
around its own threshold ``t``. The water likelihood is the mean of the memberships weighted by
the **reliability** of each threshold (:func:`~agromap.disaster.threshold.reliability`: 0.5 to 1
for a split fitted on a bimodal histogram, growing with Ashman's D; 0.2 for a published fallback).
A fallback therefore never outvotes a fitted threshold: when VV is not bimodal and falls back to
-15 dB while VH has a clean split, VH decides, instead of the two being averaged.

Region growing into the ambiguous range
---------------------------------------
A single global threshold either misses the shallow, wind-roughened and vegetated edges of water
(whose backscatter lies just above it) or floods dark land. Seeded region growing (as in Martinis
et al. 2015 and the GFM ensemble) keeps what is connected to confident water: seeds are pixels of
likelihood >= ``seed`` (about 3 dB darker than the thresholds for 1-dB memberships), and the map
is the seeds grown through pixels of likelihood >= ``grow`` (about 1 dB brighter than the
thresholds), at most ``steps`` pixels away. Dark land with no confident core is dropped, the
brighter rim of real water is kept. Bounding the growth makes it exact over dask:
``map_overlap`` with a margin of ``steps`` pixels sees every path a seed can take.

Flooded vegetation
------------------
Water under a crop or shrub canopy is not dark: the water surface and the stems form a
double-bounce reflector and co-polarised backscatter *rises* (Martinis & Rieke 2015; Tsyganskaya
et al. 2018). With a pre-event scene, a rise of VV and of the VV/VH ratio by at least
``fv_increase_db`` (3 dB) each, where the land is vegetated (crop or rice mask when given), is
mapped as flooded vegetation. Without a pre-event scene it cannot be told from a growing crop.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from scipy import ndimage

from ..focal import map_with_halo

__all__ = ["membership", "weighted_membership", "grow_water", "flooded_vegetation", "membership_at", "sigmoid",
           "apply_kernel"]


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function, float32, its argument clipped to +-50 (no overflow warning)."""
    return (1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))).astype(np.float32)


def membership_at(db_offset: float, scale: float = 1.0) -> float:
    """Likelihood of a pixel ``db_offset`` below every threshold (1-dB logistic memberships)."""
    return float(sigmoid(np.asarray(db_offset / scale)))


def apply_kernel(kernel: Any, *args: Any, dtype: Any = np.float32, core: list[list[str]] | None = None,
                 **kwargs: Any) -> xr.DataArray:
    """Wrap a per-pixel numpy kernel once with ``xarray.apply_ufunc(dask="parallelized")`` (lazy)."""
    out: xr.DataArray = xr.apply_ufunc(kernel, *args, kwargs=kwargs, input_core_dims=core,
                                       dask="parallelized", output_dtypes=[dtype])
    return out


def _membership_kernel(x: np.ndarray, t: np.ndarray, *, sign: int, scale: float) -> np.ndarray:
    m = sigmoid(sign * (np.asarray(t, np.float32) - x) / np.float32(scale))
    return np.where(np.isfinite(x), m, np.nan).astype(np.float32)


def membership(x: xr.DataArray, threshold: Any, *, sign: int = 1, scale: float = 1.0) -> xr.DataArray:
    """Logistic water membership ``1 / (1 + exp(-sign (t - x) / scale))``; float32, NaN where ``x`` is.

    ``sign`` +1 when water is *below* the threshold (backscatter in dB), -1 when above (MNDWI);
    ``threshold`` a float or a lazy 0-d DataArray.
    """
    return apply_kernel(_membership_kernel, x, threshold, sign=int(sign), scale=float(scale)).rename("membership")


def _weighted_kernel(*args: np.ndarray) -> np.ndarray:
    """args = (membership, weight) per source."""
    num: Any = 0.0
    den: Any = 0.0
    for m, w in zip(args[::2], args[1::2], strict=True):
        ok = np.isfinite(m)
        wt = np.float32(np.asarray(w, np.float32))
        num = num + np.where(ok, wt * np.where(ok, m, 0), 0.0)
        den = den + np.where(ok, wt, 0.0)
    den = np.asarray(den)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan).astype(np.float32)


def weighted_membership(sources: list[tuple[xr.DataArray, Any]]) -> xr.DataArray:
    """Reliability-weighted mean of water memberships; float32 0-1, NaN where no source is valid.

    Parameters
    ----------
    sources : list of (membership, weight)
        ``membership`` a DataArray of 0-1 values (NaN = not observed), e.g. from :func:`membership`;
        ``weight`` a float or a lazy 0-d DataArray (a threshold's ``reliability``). Where a source
        is NaN the others decide alone.
    """
    args: list[Any] = []
    for m, w in sources:
        args += [m, w]
    return apply_kernel(_weighted_kernel, *args).rename("water_likelihood")


def _grow_kernel(lik: np.ndarray, seed: float, grow: float, steps: int) -> np.ndarray:
    ok = np.isfinite(lik)
    seeds = ok & (lik >= seed)
    cand = ok & (lik >= grow)
    if steps <= 0 or not seeds.any():
        return seeds
    return ndimage.binary_dilation(seeds, structure=np.ones((3, 3), bool), iterations=steps, mask=cand) | seeds


def grow_water(lik: xr.DataArray, seed: float, grow: float, steps: int) -> xr.DataArray:
    """Seeds (likelihood >= ``seed``) grown through likelihood >= ``grow`` for at most ``steps`` pixels.

    8-connected geodesic dilation (``scipy.ndimage.binary_dilation`` with a mask); bool, lazy,
    identical for numpy and any chunking (``map_overlap`` margin = ``steps``).
    """
    if not 0.0 < grow <= seed < 1.0:
        from ..errors import ConfigError

        raise ConfigError(f"region growing needs 0 < grow <= seed < 1, got grow={grow}, seed={seed}.")
    return map_with_halo(_grow_kernel, lik, int(steps), np.bool_, seed=float(seed), grow=float(grow),
                    steps=int(steps)).rename("water")


def _fv_kernel(post_vv: np.ndarray, post_vh: np.ndarray, pre_vv: np.ndarray, pre_vh: np.ndarray,
               vegetated: np.ndarray, *, rise_db: float, ratio_rise_db: float) -> np.ndarray:
    d_vv = post_vv - pre_vv
    d_ratio = (post_vv - post_vh) - (pre_vv - pre_vh)
    with np.errstate(invalid="ignore"):
        hit = (d_vv >= rise_db) & (d_ratio >= ratio_rise_db)
    return hit & np.asarray(vegetated, dtype=bool)


def flooded_vegetation(post: dict[str, xr.DataArray], pre: dict[str, xr.DataArray], vegetated: Any,
                       rise_db: float = 3.0, ratio_rise_db: float = 3.0) -> xr.DataArray:
    """Double-bounce increase: VV and VV/VH (dB differences) both rising by the given amounts; bool, lazy.

    ``post``/``pre`` hold speckle-filtered ``vv`` and ``vh`` in dB on one grid; ``vegetated`` a bool
    mask (crop, rice) or True. NaN inputs give False.
    """
    return apply_kernel(_fv_kernel, post["vv"], post["vh"], pre["vv"], pre["vh"], vegetated, dtype=np.bool_,
                        rise_db=float(rise_db), ratio_rise_db=float(ratio_rise_db)).rename("flooded_vegetation")

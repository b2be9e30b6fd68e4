"""Robust automatic thresholding (Otsu with tile selection, bimodality check and fallbacks), lazily.

A plain global Otsu needs a bimodal histogram: on a scene that is 1 % or 98 % water it splits
the dominant mode and maps half of the land (or half of the water) wrongly (docs/science/disaster.md#flood-thresholds,
ASFHyP3/asf-tools#79). This module follows the B-max Otsu of Cao et al. (2019) as used in
Markert et al. (2020, Remote Sensing 12:2469):

1. One pass over the data, blockwise: every block is cut into square tiles of ``tile_px`` pixels
   (on global pixel positions: the array is rechunked to tile-aligned chunks when needed) and a
   fixed-range histogram of its finite values is built per tile (values outside the range are
   clipped into the end bins, so class proportions stay right).
2. A tile qualifies when its own maximum normalised between-class variance
   ``B_max = max_t sigma_b^2(t) / sigma^2 >= bmax_min`` (0.75; a normal mode gives 0.64), it is
   mostly valid, each class holds at least ``min_class_fraction`` of it, its split lies in the
   ``plausible`` range, and the two class means straddle the published ``fallback`` threshold
   (agromap's addition: a soil/urban tile or a calm/rough-water tile is bimodal too, and on a
   98 %-water scene such water/water tiles would otherwise outnumber the few land/water ones). Each block
   returns the sum of its qualifying tiles' histograms and the global histogram: integer counts,
   so numpy and any chunking give identical results. Unlike GEE's ``max_boxes`` (a compute limit),
   every qualifying tile is used.
3. One small task splits the qualifying-tile histogram with
   ``skimage.filters.threshold_otsu(hist=(counts, centres))`` (``split="otsu"``, the default) or
   with the minimum-error threshold of Kittler & Illingworth (1986) (``split="ki"``: two Gaussian
   classes of their own variance; SAR water in dB is wider than land, so its split sits nearer the
   land mode and misses less wide-ranging water, but takes more dark land). The split is
   accepted when Ashman's D >= ``ashman_min`` and it is plausible. Otherwise the global histogram
   is tried with both checks (B >= ``bmax_min``, D), and finally the published ``fallback`` value
   is used.
4. A ``reliability`` in (0, 1] states how much the threshold can be trusted, for weighting the
   evidence of several polarisations and sensors: ``0.5 + 0.5 * clip((D - ashman_min) / 2, 0, 1)``
   for a fitted split (0.5 at the acceptance limit, 1 for D >= ashman_min + 2, i.e. well separated
   modes) and ``fallback_weight`` (0.2) for the fallback, so a fallback never outvotes a fitted
   threshold.

The threshold is returned as the upper edge of the Otsu bin, so "low class" means ``x < threshold``
exactly as the histogram split it. Everything stays lazy: the result is a Dataset of 0-d arrays
(threshold, method code, B, D, tile count, valid count, reliability) that the runner computes with the outputs
and records in the manifest (docs/architecture.md#laziness-and-one-compute).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
from dask.base import is_dask_collection

from ..errors import ConfigError

__all__ = [
    "ThresholdParams",
    "THRESHOLD_METHODS",
    "SAR_VV",
    "SAR_VH",
    "OPTICAL_MNDWI",
    "robust_threshold",
    "tile_histograms",
    "otsu_from_histogram",
    "ki_from_histogram",
    "bimodality",
    "reliability",
]

#: Codes of the ``method`` variable returned by :func:`robust_threshold`.
THRESHOLD_METHODS: dict[int, str] = {
    0: "no_valid_data (fallback value used)",
    1: "tiles (split of the tiles holding both classes, Cao 2019 / Markert 2020)",
    2: "global (split of a bimodal global histogram)",
    3: "fallback (published value; histogram not bimodal)",
}


@dataclass(frozen=True)
class ThresholdParams:
    """Parameters of :func:`robust_threshold`; frozen, so it tokenizes into the dask graph."""

    fallback: float
    """Threshold used when no bimodal split is found (dB for SAR; unverified, docs/science/disaster.md#flood-thresholds)."""
    value_range: tuple[float, float] = (-40.0, 5.0)
    """Histogram range; finite values outside it are clipped into the end bins."""
    plausible: tuple[float, float] = (-math.inf, math.inf)
    """A split outside this range is rejected (e.g. urban vs soil at -6 dB VV)."""
    bins: int = 256
    """Histogram bins over ``value_range`` (45 dB / 256 = 0.18 dB)."""
    tile_px: int = 64
    """Tile edge in pixels for the B-max selection; 0 disables tiles (global Otsu, then fallback)."""
    bmax_min: float = 0.75
    """Minimum B_max of a tile, and of the global histogram for a global Otsu (Markert et al. 2020)."""
    ashman_min: float = 2.0
    """Minimum Ashman's D of the final split (D > 2: clean separation of two modes)."""
    min_tile_valid: float = 0.5
    """Minimum fraction of valid pixels in a tile."""
    min_class_fraction: float = 0.05
    """Minimum share of each class within a qualifying tile."""
    min_valid: int = 100
    """Fewer valid pixels than this: method 0, fallback value."""
    split: str = "otsu"
    """Histogram split: ``"otsu"`` or ``"ki"`` (Kittler-Illingworth minimum error; docs/flood.md compares them)."""
    fallback_weight: float = 0.2
    """Reliability of the fallback value (a fitted split has 0.5 to 1)."""

    def __post_init__(self) -> None:
        lo, hi = self.value_range
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ConfigError(f"value_range must be finite (low, high) with low < high, got {self.value_range}.")
        if self.bins < 4:
            raise ConfigError(f"bins must be >= 4, got {self.bins}.")
        if self.tile_px < 0 or 0 < self.tile_px < 4:
            raise ConfigError(f"tile_px must be 0 (no tiles) or >= 4 pixels, got {self.tile_px}.")
        if not 0.0 < self.bmax_min < 1.0:
            raise ConfigError(f"bmax_min must be within (0, 1), got {self.bmax_min}.")
        if self.split not in ("ki", "otsu"):
            raise ConfigError(f"split must be 'ki' or 'otsu', got {self.split!r}.")
        if not 0.0 < self.fallback_weight < 0.5:
            raise ConfigError(f"fallback_weight must be within (0, 0.5), below any fitted split, "
                              f"got {self.fallback_weight}.")
        if not self.plausible[0] < self.plausible[1]:
            raise ConfigError(f"plausible must be (low, high) with low < high, got {self.plausible}.")

    @property
    def edges(self) -> np.ndarray:
        """float64 bin edges, ``bins + 1`` values (as ``numpy.histogram`` builds them)."""
        return np.linspace(self.value_range[0], self.value_range[1], self.bins + 1)


#: Sentinel-1 VV in dB: fallback -15 dB, water/land splits plausible within (-24, -11) dB.
SAR_VV = ThresholdParams(fallback=-15.0, plausible=(-24.0, -11.0))
#: Sentinel-1 VH in dB: fallback -20 dB, water/land splits plausible within (-28, -16) dB.
SAR_VH = ThresholdParams(fallback=-20.0, plausible=(-28.0, -16.0))
#: MNDWI (unitless): fallback 0, splits plausible within (-0.3, 0.5) (unverified, docs/science/disaster.md#flood-thresholds).
OPTICAL_MNDWI = ThresholdParams(fallback=0.0, value_range=(-1.0, 1.0), plausible=(-0.3, 0.5))


# ---- numpy kernels ----------------------------------------------------------------------------


def _bin_index(values: np.ndarray, params: ThresholdParams) -> np.ndarray:
    """Bin of every finite value (clipped into range), -1 for NaN/inf; ``numpy.histogram`` edges."""
    x = values.astype(np.float64, copy=False)
    finite = np.isfinite(x)
    lo, hi = params.value_range
    clipped = np.clip(np.where(finite, x, lo), lo, hi)
    idx = np.searchsorted(params.edges, clipped, side="right") - 1
    idx = np.minimum(idx, params.bins - 1)  # the last bin is closed, as in numpy.histogram
    return np.where(finite, idx, -1)


def _split_stats(counts: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, ...]:
    """For histograms ``(..., bins)`` and a split after bin k (k = 0..bins-2): B(k) = sigma_b^2 /
    sigma^2, the low-class share p1(k), the class means m1(k), m2(k), and the total count.
    Float64; NaN where undefined.
    """
    c = counts.astype(np.float64)
    n = c.sum(axis=-1, keepdims=True)
    s = (c * centres).sum(axis=-1, keepdims=True)
    ss = (c * centres * centres).sum(axis=-1, keepdims=True)
    w1 = np.cumsum(c, axis=-1)[..., :-1]
    s1 = np.cumsum(c * centres, axis=-1)[..., :-1]
    w2 = n - w1
    with np.errstate(divide="ignore", invalid="ignore"):
        m1 = s1 / w1
        m2 = (s - s1) / w2
        var = ss / n - (s / n) ** 2
        between = (w1 / n) * (w2 / n) * (m1 - m2) ** 2
        b = np.where((w1 > 0) & (w2 > 0) & (var > 0), between / var, np.nan)
        p1 = w1 / n
    return b, p1, m1, m2, n[..., 0]


def tile_histograms(block: np.ndarray, params: ThresholdParams) -> np.ndarray:
    """Histograms of one 2-D block: ``(1, 1, 3, bins)`` int64.

    Row 0 is the histogram of every finite value, row 1 the sum over qualifying tiles, and
    ``[2, 0]`` the number of qualifying tiles. Tiles start at the block's corner, so blocks must
    be tile-aligned (:func:`robust_threshold` rechunks).
    """
    bins = params.bins
    idx = _bin_index(block, params)
    out = np.zeros((1, 1, 3, bins), dtype=np.int64)
    valid = idx >= 0
    out[0, 0, 0] = np.bincount(idx[valid], minlength=bins)[:bins]
    t = params.tile_px
    if t == 0 or block.size == 0:
        return out
    h, w = block.shape
    nty, ntx = -(-h // t), -(-w // t)
    tile = (np.arange(h)[:, None] // t) * ntx + (np.arange(w)[None, :] // t)
    ntiles = nty * ntx
    counts = np.bincount((tile[valid] * bins + idx[valid]), minlength=ntiles * bins).reshape(ntiles, bins)
    size = np.bincount(tile.ravel(), minlength=ntiles)
    edges = params.edges
    centres = (edges[:-1] + edges[1:]) / 2
    b, p1, m1, m2, n = _split_stats(counts, centres)
    b_filled = np.where(np.isnan(b), -1.0, b)
    k = np.argmax(b_filled, axis=-1)
    at = (np.arange(ntiles), k)
    share, split = p1[at], edges[k + 1]
    ok = (
        (n >= params.min_tile_valid * size)
        & (b_filled[at] >= params.bmax_min)
        & (np.minimum(share, 1 - share) >= params.min_class_fraction)
        & (split >= params.plausible[0])
        & (split <= params.plausible[1])
        # The two modes must straddle the published threshold: a water/land tile, not water/water
        # (calm vs rough water) nor land/land (soil vs urban or forest).
        & (m1[at] < params.fallback)
        & (m2[at] > params.fallback)
    )
    out[0, 0, 1] = counts[ok].sum(axis=0)
    out[0, 0, 2, 0] = int(ok.sum())
    return out


def otsu_from_histogram(counts: np.ndarray, params: ThresholdParams) -> float:
    """Otsu threshold of a histogram on ``params`` bins: the upper edge of the Otsu bin.

    Uses ``skimage.filters.threshold_otsu(hist=(counts, centres))`` (scikit-image PR #5006);
    NaN when fewer than two bins are populated.
    """
    from skimage.filters import threshold_otsu

    if np.count_nonzero(counts) < 2:
        return math.nan
    edges = params.edges
    centres = (edges[:-1] + edges[1:]) / 2
    t_centre = float(threshold_otsu(hist=(np.asarray(counts, dtype=np.int64), centres)))
    k = int(np.argmin(np.abs(centres - t_centre)))
    return float(edges[min(k + 1, params.bins)])


def ki_from_histogram(counts: np.ndarray, params: ThresholdParams) -> float:
    """Kittler-Illingworth minimum-error threshold of a histogram: the upper edge of the split bin.

    Minimises ``J(k) = P1 ln(s1^2) + P2 ln(s2^2) - 2 (P1 ln P1 + P2 ln P2)`` over the splits
    with two non-degenerate classes (Kittler & Illingworth 1986, "Minimum error thresholding",
    Pattern Recognition 19(1):41-47). NaN when no such split exists.
    """
    edges = params.edges
    centres = (edges[:-1] + edges[1:]) / 2
    c = np.asarray(counts, dtype=np.float64)
    n = c.sum()
    w1 = np.cumsum(c)[:-1]
    s1 = np.cumsum(c * centres)[:-1]
    q1 = np.cumsum(c * centres * centres)[:-1]
    w2, s2, q2 = n - w1, (c * centres).sum() - s1, (c * centres * centres).sum() - q1
    with np.errstate(divide="ignore", invalid="ignore"):
        m1, m2 = s1 / w1, s2 / w2
        # A class narrower than a quarter bin is a histogram artefact, not a mode.
        floor = ((edges[1] - edges[0]) / 4) ** 2
        v1, v2 = q1 / w1 - m1 * m1, q2 / w2 - m2 * m2
        p1, p2 = w1 / n, w2 / n
        j = p1 * np.log(v1) + p2 * np.log(v2) - 2 * (p1 * np.log(p1) + p2 * np.log(p2))
    ok = (w1 > 0) & (w2 > 0) & (v1 > floor) & (v2 > floor) & np.isfinite(j)
    if not ok.any():
        return math.nan
    k = int(np.argmin(np.where(ok, j, np.inf)))
    return float(edges[k + 1])


def _split(counts: np.ndarray, params: ThresholdParams) -> float:
    if np.count_nonzero(counts) < 2:
        return math.nan
    return ki_from_histogram(counts, params) if params.split == "ki" else otsu_from_histogram(counts, params)


def reliability(method: int, ashman_d: float, params: ThresholdParams) -> float:
    """Weight of a threshold's evidence: ``fallback_weight`` for methods 0/3, else 0.5 to 1 with D."""
    if method not in (1, 2) or not np.isfinite(ashman_d):
        return params.fallback_weight
    return float(0.5 + 0.5 * np.clip((ashman_d - params.ashman_min) / 2.0, 0.0, 1.0))


def bimodality(counts: np.ndarray, params: ThresholdParams, threshold: float) -> tuple[float, float]:
    """Normalised between-class variance B and Ashman's D of the split of ``counts`` at ``threshold``.

    ``D = sqrt(2) |m1 - m2| / sqrt(s1^2 + s2^2)`` (Ashman et al. 1994); D > 2 means two clearly
    separated modes. Computed on bin centres; NaN when a class is empty.
    """
    edges = params.edges
    centres = (edges[:-1] + edges[1:]) / 2
    if not np.isfinite(threshold):
        return math.nan, math.nan
    low = centres < threshold
    c = counts.astype(np.float64)
    n1, n2 = c[low].sum(), c[~low].sum()
    if n1 == 0 or n2 == 0:
        return math.nan, math.nan
    m1, m2 = (c[low] * centres[low]).sum() / n1, (c[~low] * centres[~low]).sum() / n2
    v1 = (c[low] * (centres[low] - m1) ** 2).sum() / n1
    v2 = (c[~low] * (centres[~low] - m2) ** 2).sum() / n2
    n = n1 + n2
    mean = (n1 * m1 + n2 * m2) / n
    var = (c * (centres - mean) ** 2).sum() / n
    b = (n1 / n) * (n2 / n) * (m1 - m2) ** 2 / var if var > 0 else math.nan
    d = math.sqrt(2.0) * abs(m1 - m2) / math.sqrt(v1 + v2) if v1 + v2 > 0 else math.inf
    return float(b), float(d)


def _finalize(hist: np.ndarray, params: ThresholdParams) -> np.ndarray:
    """``(3, bins)`` summed histograms -> float64 ``[threshold, method, B, D, n_tiles, n_valid, reliability]``."""
    glob, sel, n_tiles = hist[0], hist[1], int(hist[2, 0])
    n_valid = float(glob.sum())
    lo, hi = params.plausible
    fb = params.fallback_weight
    if n_valid < params.min_valid:
        return np.array([params.fallback, 0, np.nan, np.nan, n_tiles, n_valid, fb])
    if n_tiles > 0:
        t = _split(sel, params)
        b, d = bimodality(sel, params, t)
        if np.isfinite(t) and lo <= t <= hi and d >= params.ashman_min:
            return np.array([t, 1, b, d, n_tiles, n_valid, reliability(1, d, params)])
    t = _split(glob, params)
    b, d = bimodality(glob, params, t)
    if np.isfinite(t) and lo <= t <= hi and b >= params.bmax_min and d >= params.ashman_min:
        return np.array([t, 2, b, d, n_tiles, n_valid, reliability(2, d, params)])
    return np.array([params.fallback, 3, b, d, n_tiles, n_valid, fb])


# ---- xarray / dask wrapper ---------------------------------------------------------------------


def _aligned(chunks: tuple[int, ...], tile: int) -> tuple[int, ...] | None:
    """``None`` when every chunk but the last is a multiple of ``tile``; else aligned chunks."""
    if tile == 0 or all(c % tile == 0 for c in chunks[:-1]):
        return None
    edge = max(tile, (max(chunks) // tile) * tile)
    total = sum(chunks)
    return tuple([edge] * (total // edge) + ([total % edge] if total % edge else []))


def _histograms(data: Any, params: ThresholdParams) -> Any:
    """Summed ``(3, bins)`` histograms of a 2-D numpy or dask array (one pass over the data)."""
    if not is_dask_collection(data):
        return tile_histograms(np.asarray(data), params)[0, 0]
    new = [_aligned(c, params.tile_px) for c in data.chunks]
    if any(n is not None for n in new):
        data = data.rechunk(tuple(n if n is not None else c for n, c in zip(new, data.chunks, strict=True)))
    per_block = da.map_blocks(
        tile_histograms, data, params, new_axis=[2, 3], chunks=(1, 1, 3, params.bins),
        dtype=np.int64, meta=np.empty((0, 0, 0, 0), dtype=np.int64),
    )
    return per_block.sum(axis=(0, 1))


def robust_threshold(x: xr.DataArray, params: ThresholdParams) -> xr.Dataset:
    """Automatic threshold of a 2-D image: split of bimodal tiles, then of the whole image, then a fallback.

    Parameters
    ----------
    x : xarray.DataArray
        ``(y, x)`` float values (e.g. speckle-filtered backscatter in **dB**, or MNDWI), numpy or
        dask. NaN (and inf) are ignored; values outside ``params.value_range`` are clipped into it.
    params : ThresholdParams
        E.g. :data:`SAR_VH`, :data:`SAR_VV`, :data:`OPTICAL_MNDWI`.

    Returns
    -------
    xarray.Dataset
        0-d variables, lazy (one small task after one pass over ``x``) if ``x`` is dask-backed:
        ``threshold`` float32 (the low class is ``x < threshold``), ``method`` uint8 (codes in
        :data:`THRESHOLD_METHODS`), ``bimodality`` float32 (B of the split), ``ashman_d`` float32,
        ``n_tiles`` int32 (qualifying tiles), ``n_valid`` int64 and ``reliability`` float32 (the
        weight of this threshold's evidence, see the module notes). Identical for numpy and any
        chunking.

    References
    ----------
    Markert, K. et al. (2020), Remote Sensing 12(15):2469, doi:10.3390/rs12152469. Cao, H. et al.
    (2019), Water 11(4):786. Ashman, K. et al. (1994), Astronomical Journal 108:2348. Kittler, J. &
    Illingworth, J. (1986), Pattern Recognition 19(1):41-47.

    Examples
    --------
    >>> import numpy as np
    >>> from agromap.testing import make_raster
    >>> rng = np.random.default_rng(0)
    >>> img = np.where(np.arange(64)[None, :] < 20, -22.0, -14.0) + rng.normal(0, 1, (64, 64))
    >>> out = robust_threshold(make_raster(img), SAR_VH)
    >>> -20 < float(out.threshold) < -16, int(out.method)
    (True, 1)
    """
    if x.ndim != 2:
        raise ConfigError(f"robust_threshold needs a 2-D (y, x) array, got dims {x.dims}; select one date first.")
    hist = _histograms(x.data, params)
    if is_dask_collection(hist):
        res = hist.map_blocks(
            _finalize, params, drop_axis=1, chunks=((7,),), dtype=np.float64, meta=np.empty((0,), np.float64)
        )
    else:
        res = _finalize(hist, params)
    kinds = (("threshold", np.float32), ("method", np.uint8), ("bimodality", np.float32),
             ("ashman_d", np.float32), ("n_tiles", np.int32), ("n_valid", np.int64),
             ("reliability", np.float32))
    out = xr.Dataset({name: xr.DataArray(res[i].astype(dtype)) for i, (name, dtype) in enumerate(kinds)})
    out.attrs.update(
        method_codes="; ".join(f"{k}={v}" for k, v in THRESHOLD_METHODS.items()),
        fallback=params.fallback, split=params.split, tile_px=params.tile_px, bmax_min=params.bmax_min,
        ashman_min=params.ashman_min, source=str(x.name),
    )
    return out


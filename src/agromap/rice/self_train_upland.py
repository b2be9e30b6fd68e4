"""The optical rule's rice labels on upland crops: a crop neither sensor ever saw standing in water.

On a monsoon series an upland crop (maize, vegetables, beans) is sown on rain-soaked soil: its
first clear dates read as the flood signal (LSWI near NDVI over bare wet soil) and the canopy that
follows as the growth of a season, so the optical rule calls it rice with confidence, mostly where
a cloud gap hides the weeks between sowing and canopy. A paddy differs in two ways, one per sensor:
its canopy stands in water for weeks, until shortly before harvest (LSWI on its canopy dates at
least about 0.35, an upland crop's at most about 0.3 over moist soil, above it on a single date
after a shower), and the radar sees its flood as a dark spell several dB below the field's own level
on the other dates. :func:`drop_upland_rice` sets the rule's rice verdict to no opinion where both
are missing (docs/rice_self_trained.md, "Upland crops the radar never saw flooded" and "An upland
crop's one wet canopy date").
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import xarray as xr

from .optical_params import OpticalRiceParams
from .self_train_neighbours import in_blocks_of
from .self_train_params import SelfTrainParams

__all__ = ["drop_upland_rice", "radar_saw_water", "wettest_bare_lswi", "wettest_canopy_lswi"]


def radar_saw_water(sar: xr.Dataset, dip_db: float, water_db: float) -> xr.DataArray:
    """Where the radar saw a flood on some date (lazy, boolean): its VH (dB) fell ``dip_db`` below the
    pixel's median, or reached ``water_db``.

    The median is the field's own level as land (crop, stubble or soil on most dates); a paddy's
    flood lies several dB below it, an upland field's rain-wet soil at most a few. A field under
    water most of the year (a rice-shrimp field's pond) has a median near its flood; open water
    reads below ``water_db`` whatever the median.
    """
    from .sar_series import nanmedian_rows, to_db
    from .seasons import prepare_series

    vh = cast(xr.DataArray, prepare_series(sar["vh"], "SAR stack"))
    dip, dark = np.float32(dip_db), np.float32(water_db)

    def kernel(v: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            db = to_db(v)
            inf = np.float32(np.inf)  # a pixel without any value: no low date, no flood
            low = np.min(np.where(np.isnan(db), inf, db), axis=-1, initial=inf)
            return (nanmedian_rows(db) - low >= dip) | (low <= dark)

    return xr.apply_ufunc(kernel, vh, input_core_dims=[["time"]], dask="parallelized",
                          output_dtypes=[bool]).rename("radar_saw_water")


def wettest_canopy_lswi(optical: xr.Dataset, canopy_ndvi: float, params: Any = None, dates: int = 1) -> xr.DataArray:
    """Per pixel, the LSWI its canopy reaches on ``dates`` clear dates with NDVI >= ``canopy_ndvi``:
    the ``dates``-th highest of them, or the lowest where fewer such dates are clear (lazy; -inf
    where none is). Clear dates as the optical rule with ``params`` sees them.

    ``dates=1`` is the wettest canopy date. A paddy's canopy stands in water for weeks, from
    tillering to shortly before harvest, so it reads wet on every clear date of that stretch; an
    upland crop over moist soil reaches a paddy's LSWI on one date at most (a shower, the noise
    of a single scene), and its second wettest date lies below it.
    """
    from .self_train_labels import clear_indices

    ok, nd, lw = clear_indices(optical, params)
    canopy = ok & (nd >= np.float32(canopy_ndvi)) & lw.notnull()
    k = int(dates)

    def kernel(wet: np.ndarray) -> np.ndarray:
        n = np.isfinite(wet).sum(axis=-1)
        top = -np.sort(-wet, axis=-1)  # descending; -inf (no canopy) last
        pick = np.clip(np.minimum(n, k) - 1, 0, None)
        return np.take_along_axis(top, pick[..., None], axis=-1)[..., 0].astype(np.float32)

    wet = lw.where(canopy, -np.inf).astype(np.float32)
    if k == 1:
        return wet.max("time").astype(np.float32).rename("wettest_canopy_lswi")
    return xr.apply_ufunc(kernel, wet, input_core_dims=[["time"]], dask="parallelized",
                          output_dtypes=[np.float32]).rename("wettest_canopy_lswi")


def wettest_bare_lswi(optical: xr.Dataset, bare_ndvi: float, params: Any = None) -> xr.DataArray:
    """Per pixel, the highest LSWI of its clear dates with NDVI <= ``bare_ndvi`` (bare or flooded
    soil; lazy, -inf where no clear date is bare). Clear dates as the optical rule with ``params``
    sees them. A paddy's flood reads open water's LSWI (about 0.3, 0.2 where seedlings or the bund
    share the pixel); an upland crop's rain-soaked soil at sowing stays below (at most 0.18 on the
    upland crops the optical rule calls rice on ``wetland_confusion``, 10 months shifted 60 days).
    """
    from .self_train_labels import clear_indices

    ok, nd, lw = clear_indices(optical, params)
    bare = ok & (nd <= np.float32(bare_ndvi)) & lw.notnull()
    return lw.where(bare, -np.inf).max("time").astype(np.float32).rename("wettest_bare_lswi")


def drop_upland_rice(out: xr.Dataset, optical: xr.Dataset, sar: xr.Dataset | None, spec: SelfTrainParams,
                     params: OpticalRiceParams | None = None) -> xr.Dataset:  # fmt: skip
    """The optical rule's output ``out`` with its rice verdicts (> 0.5) set to no opinion (0.5) where
    no canopy date stood in water and the radar never saw a flood (lazy).

    No canopy in water: fewer than ``spec.upland_canopy_dates`` clear dates with NDVI >=
    ``params.ndvi_canopy_min`` (the optical rule's
    :class:`~agromap.rice.optical_params.OpticalRiceParams`, its defaults by default) reach LSWI
    ``spec.upland_canopy_lswi`` (:func:`wettest_canopy_lswi`; all of them where fewer are clear).
    One such date is enough where a bare clear date (NDVI <= ``params.ndvi_low``) reached
    ``spec.upland_bare_flood_lswi`` (:func:`wettest_bare_lswi`: the optical series saw the flood) or
    the series opens inside a paddy's canopy
    (:func:`~agromap.rice.self_train_ends.series_start_canopy`, unless ``spec.start_canopy_days`` is
    ``None``: the flood lies before the series). No flood in the radar: on no
    pixel within ``spec.upland_dip_px`` does the VH of the series fall ``spec.upland_dip_db`` below
    its median or reach ``spec.upland_water_db`` (:func:`radar_saw_water`); the filtered radar of a
    paddy's edge pixel mixes its flood with the bund, the paddy beside it shows the flood. The
    verdict becomes no opinion, not non-rice: co-training's radar view, trained on the other labels,
    then decides. Unchanged without a radar stack with ``vh`` or when ``spec.upland_dip_db`` is
    ``None``.
    """
    if sar is None or "vh" not in sar or spec.upland_dip_db is None:
        return out
    rp = params if params is not None else OpticalRiceParams()
    wet = np.float32(spec.upland_canopy_lswi)
    dry_canopy = wettest_canopy_lswi(optical, rp.ndvi_canopy_min, params, spec.upland_canopy_dates) < wet
    if spec.upland_canopy_dates > 1:
        # one wet canopy date is the paddy's water under its canopy where the series saw its flood
        # on a bare date, or opens inside its canopy (the flood lies before the first date); without
        # either it is a shower on an upland crop
        seen = xr.zeros_like(dry_canopy)
        if spec.upland_bare_flood_lswi is not None:
            seen = seen | (wettest_bare_lswi(optical, rp.ndvi_low, params) >= np.float32(spec.upland_bare_flood_lswi))
        if spec.start_canopy_days is not None:
            from .self_train_ends import series_start_canopy

            seen = seen | series_start_canopy(sar, optical, spec, params)
        dry_canopy = dry_canopy & ~(seen & (wettest_canopy_lswi(optical, rp.ndvi_canopy_min, params) >= wet))
    saw = radar_saw_water(sar, spec.upland_dip_db, spec.upland_water_db)
    if spec.upland_dip_px:  # a paddy's edge pixel, mixed with its bund in the filtered radar, lies beside its flood
        w = 2 * spec.upland_dip_px + 1
        saw = in_blocks_of(saw.rolling(y=w, x=w, center=True, min_periods=1).max().astype(bool), saw)
    score = out["rice_score"]
    upland = dry_canopy & ~saw & (score > 0.5)
    return out.assign(rice_score=xr.where(upland, np.float32(0.5), score).astype(np.float32))

"""The optical rule's rice labels on upland crops: a crop neither sensor ever saw standing in water.

On a monsoon series an upland crop (maize, vegetables, beans) is sown on rain-soaked soil: its
first clear dates read as the flood signal (LSWI near NDVI over bare wet soil) and the canopy that
follows as the growth of a season, so the optical rule calls it rice with confidence, mostly where
a cloud gap hides the weeks between sowing and canopy. A paddy differs in two ways, one per sensor:
its canopy stands in water until shortly before harvest (LSWI on its canopy dates at least about
0.35, an upland crop's at most about 0.3 over moist soil), and the radar sees its flood as a dark
spell several dB below the field's own level on the other dates. :func:`drop_upland_rice` sets the
rule's rice verdict to no opinion where both are missing (docs/rice_self_trained.md, "Upland crops
the radar never saw flooded").
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import xarray as xr

from .optical_params import OpticalRiceParams
from .self_train_params import SelfTrainParams

__all__ = ["drop_upland_rice", "radar_saw_water", "wettest_canopy_lswi"]


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


def wettest_canopy_lswi(optical: xr.Dataset, canopy_ndvi: float, params: Any = None) -> xr.DataArray:
    """Per pixel, the highest LSWI of its clear dates with NDVI >= ``canopy_ndvi`` (lazy; -inf
    where no clear date carries such a canopy). Clear dates as the optical rule with ``params`` sees them.
    """
    from .self_train_labels import clear_indices

    ok, nd, lw = clear_indices(optical, params)
    canopy = ok & (nd >= np.float32(canopy_ndvi)) & lw.notnull()
    return lw.where(canopy, -np.inf).max("time").astype(np.float32).rename("wettest_canopy_lswi")


def drop_upland_rice(out: xr.Dataset, optical: xr.Dataset, sar: xr.Dataset | None, spec: SelfTrainParams,
                     params: OpticalRiceParams | None = None) -> xr.Dataset:  # fmt: skip
    """The optical rule's output ``out`` with its rice verdicts (> 0.5) set to no opinion (0.5) where
    no canopy date stood in water and the radar never saw a flood (lazy).

    No canopy in water: the wettest clear date with NDVI >= ``params.ndvi_canopy_min`` (the optical
    rule's :class:`~agromap.rice.optical_params.OpticalRiceParams`, its defaults by default) has LSWI
    below ``spec.upland_canopy_lswi`` (:func:`wettest_canopy_lswi`). No flood in the radar: on no
    pixel within ``spec.upland_dip_px`` does the VH of the series fall ``spec.upland_dip_db`` below
    its median or reach ``spec.upland_water_db`` (:func:`radar_saw_water`); the filtered radar of a
    paddy's edge pixel mixes its flood with the bund, the paddy beside it shows the flood. The
    verdict becomes no opinion, not non-rice: co-training's radar view, trained on the other labels,
    then decides. Unchanged without a radar stack with ``vh`` or when ``spec.upland_dip_db`` is
    ``None``.
    """
    if sar is None or "vh" not in sar or spec.upland_dip_db is None:
        return out
    canopy_ndvi = (params if params is not None else OpticalRiceParams()).ndvi_canopy_min
    dry_canopy = wettest_canopy_lswi(optical, canopy_ndvi, params) < np.float32(spec.upland_canopy_lswi)
    saw = radar_saw_water(sar, spec.upland_dip_db, spec.upland_water_db)
    if spec.upland_dip_px:  # a paddy's edge pixel, mixed with its bund in the filtered radar, lies beside its flood
        w = 2 * spec.upland_dip_px + 1
        saw = saw.rolling(y=w, x=w, center=True, min_periods=1).max().astype(bool)
    score = out["rice_score"]
    upland = dry_canopy & ~saw & (score > 0.5)
    return out.assign(rice_score=xr.where(upland, np.float32(0.5), score).astype(np.float32))

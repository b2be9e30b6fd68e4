"""The names of the rice classifier's features, in order, without computing any.

:func:`agromap.rice.features.temporal_features` produces them; a model file records them; and
``agromap validate`` compares the two from the file's schema alone, so this table imports nothing.
"""

from __future__ import annotations

__all__ = ["OPTICAL_INDICES", "INDEX_STATS", "OPTICAL_FEATURE_BANDS", "SAR_STATS", "VV_STATS", "feature_names"]

#: Indices summarised by :func:`agromap.rice.features.optical_features`, in feature order.
OPTICAL_INDICES: tuple[str, ...] = ("ndvi", "evi", "lswi", "mndwi")
#: Statistics of each index over the season, in feature order.
INDEX_STATS: tuple[str, ...] = ("min", "max", "amp", "tmax", "mean", "std")
#: Bands the optical features read.
OPTICAL_FEATURE_BANDS: tuple[str, ...] = ("blue", "green", "red", "nir", "swir16")
#: VH statistics, in feature order.
SAR_STATS: tuple[str, ...] = (
    "vh_min_db", "vh_tmin", "vh_max_after_db", "vh_delta_db", "vh_rise_days", "vh_mean_db",
    "vh_var_db", "vh_p10_db", "vh_p50_db", "vh_p90_db", "vh_harvest_drop_db", "vh_canopy_days",
)  # fmt: skip

#: Statistics added when the SAR stack has VV, in feature order (after ``SAR_STATS``).
VV_STATS: tuple[str, ...] = ("vh_vv_peak_db", "vv_p10_db", "vv_p50_db", "vh_vv_p50_db", "vv_at_min_db")


def feature_names(*, optical: bool = True, sar: bool = True, with_vv: bool = True) -> tuple[str, ...]:
    """The feature names :func:`agromap.rice.features.temporal_features` produces, in order.

    Examples
    --------
    >>> feature_names(sar=False)[:3]
    ('ndvi_min', 'ndvi_max', 'ndvi_amp')
    >>> feature_names(optical=False, with_vv=False)[-1]
    'n_valid_sar'
    """
    names: list[str] = []
    if optical:
        names += [f"{i}_{s}" for i in OPTICAL_INDICES for s in INDEX_STATS]
        names += ["flood_frac", "n_valid_opt"]
    if sar:
        names += list(SAR_STATS) + (list(VV_STATS) if with_vv else []) + ["n_valid_sar"]
    return tuple(names)

"""Flood extent and flood classes from Sentinel-1 (and Sentinel-2 when clear), lazily.

Evidence (accuracy on hand-labelled chips and the choices behind it: docs/flood.md)
----------------------------------------------------------------------------------
- **Change detection** when a pre-event scene exists, UN-SPIDER Recommended Practice: focal mean
  over a 50 m circle in linear power, then ``post_db / pre_db > 1.25`` on VH (``change_rule`` may
  use ``post - pre < -3 dB`` instead, or both). ``require_dark_post`` (default, a recommendation)
  also asks the post scene to be below its own automatic water threshold, which removes harvest and
  soil-moisture drops; ``require_dark_post=False`` reproduces the RP exactly. A rise of VV and of
  VV/VH by >= 3 dB on vegetated land is flooded vegetation (double bounce, :mod:`.sar_water`).
- **Single scene** (no pre-event scene): VV and VH are each thresholded by
  :func:`~agromap.disaster.threshold.robust_threshold` (split of bimodal tiles, bimodality check,
  published fallback), after a 20 m focal mean. Each polarisation gives a logistic membership
  ``1 / (1 + exp(-(t - x_db) / 1 dB))``; the radar water likelihood is their mean weighted by the
  reliability of each threshold (a fallback never outvotes a fitted split). When a threshold was
  fitted, water is grown from confident seeds (2.5 dB below the thresholds) into the ambiguous range
  (up to 2 dB above), at most ``grow_px`` pixels (:func:`~agromap.disaster.sar_water.grow_water`);
  with fallback thresholds only, water must hold a seed and is not grown past the thresholds.
- **Optical**: MNDWI (or NDWI) with SCL {0, 1, 3, 8, 9, 10} masked, membership
  ``1 / (1 + exp(-(index - t) / 0.05))`` with t = 0 (or an automatic threshold).
- **Fusion rule**: where radar and optical are both valid, the likelihood is the mean of the two
  memberships weighted by their reliabilities (the radar's is its best threshold's; a fixed
  optical threshold has ``optical_weight`` 1), so a pixel is water when the summed evidence says
  so; where only one is valid (cloud, swath edge) that one is used alone. Water = likelihood >= 0.5
  where optical is fused, else the grown radar water.
- **Terrain and geometry** (:mod:`.sar_prep`): an ``angle`` band brings sigma0 to a 38 deg
  incidence (cos^2 law) before anything else; a DEM/HAND caps every water membership by fuzzy
  slope and HAND memberships (Twele et al. 2016), besides the class 6 exclusion.

Classes (uint8, nodata 255; precedence 6 > 1 > 5 > 7 > 8 > 4 > 3 > 2 > 0; no observation = 255 wins)
------------------------------------------------------------------------------------------------
1 reference water: a supplied mask (e.g. JRC GSW occurrence >= 75 %), else water on at least
``reference_frequency`` of the pre-event dates (rice-mask pixels never, they are managed water);
6 excluded: slope > 5 deg (from a DEM), HAND > 15 m, or a supplied exclusion mask; flood pixels
(water, observed, not reference, not excluded) in connected groups of fewer than ``mmu_pixels``
are dropped; the rest are 5 on rice in its own puddling/transplanting window (transplanting DOY
- 14 d to + 20 d), 4 on other rice, 3 on cropland, 2 elsewhere; 8 flooded vegetation (pre-event
scene needed). **Without reference water** (no mask, no pre-event date) nothing tells permanent
water from flood: water is 7 "water, flood status unknown" and ``flood_detected`` stays False.

Numpy and any chunking give identical classes (every spatial step uses ``map_overlap`` with its
exact reach, :mod:`.sar_prep`); value checks (dB/linear confusion, all-NaN) raise at compute.

The evidence of each source (the likelihoods and masks above) is computed in :mod:`.flood_evidence`;
this module checks the inputs, weighs the sources and assigns the classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import xarray as xr

from ..errors import ConfigError, SarUnitsError
from ..io.grid import require_same_grid
from ..io.layers import LayerSpec
from ..sensors.s1 import to_db
from .flood_evidence import (
    change_likelihood,
    managed_paddy_water,
    optical_water_likelihood,
    reference_water,
    require_bands,
    sar_water_likelihood,
)
from .sar_prep import (
    check_orbits,
    exclusion,
    minimum_mapping_unit,
    normalise_incidence,
    pixel_size_m,
    prepare_sar,
    slope_degrees,
    speckle_filter,
    terrain_membership,
)
from .sar_water import (
    apply_kernel,
    flooded_vegetation,
    grow_water,
    membership,
    membership_at,
    weighted_membership,
)
from .threshold import SAR_VH, SAR_VV, ThresholdParams, robust_threshold

__all__ = [
    "FloodParams", "FLOOD_CLASSES", "LAYER_SPECS", "SarUnitsError", "flood_map",
    "prepare_sar", "speckle_filter", "sar_water_likelihood", "change_likelihood",
    "optical_water_likelihood", "reference_water", "managed_paddy_water", "minimum_mapping_unit",
    "slope_degrees", "pixel_size_m",
]  # fmt: skip

#: (value, name, colour) of ``flood_class``; 255 is nodata. The one table (docs/science/disaster.md#flood-classes).
FLOOD_CLASSES: tuple[tuple[int, str, str], ...] = (
    (0, "not flooded", "C8C8C8"),
    (1, "reference / permanent water", "0000FF"),
    (2, "observed flood water", "00B4FF"),
    (3, "flooded cropland", "FF0000"),
    (4, "flooded rice", "FF7F00"),
    (5, "managed paddy water", "7FC97F"),
    (6, "excluded / not observable", "969696"),
    (7, "water, flood status unknown", "8C6BB1"),
    (8, "flooded vegetation", "1B9E77"),
)

LAYER_SPECS: dict[str, LayerSpec] = {
    "flood_class": LayerSpec("flood_class", "class", "uint8", 255, "class",
                             "Flood classes (precedence 6>1>5>7>8>4>3>2>0)", classes=FLOOD_CLASSES),
    "flood_likelihood": LayerSpec("flood_likelihood", "continuous", "float32", float("nan"), "1",
                                  "Water likelihood 0-1 (fused radar/optical evidence; >= 0.5 is water)"),
    # `max` overviews would suit; GDAL 3.10's COG driver lacks it, and nearest never invents values.
    "flood_duration_days": LayerSpec("flood_duration_days", "continuous", "uint8", 255, "d",
                                     "Consecutive flooded observations times revisit, in days",
                                     overview_resampling="nearest"),
}


@dataclass(frozen=True)
class FloodParams:
    """Flood mapping parameters; frozen, so they tokenize into the dask graph."""

    speckle_radius_m: float = 50.0
    """Focal-mean circle radius for change detection (UN-SPIDER RP)."""
    single_scene_radius_m: float = 20.0
    """Focal-mean radius for single-scene thresholding (recommendation: keeps edges)."""
    change_rule: Literal["ratio", "difference", "both"] = "ratio"
    """``ratio``: post_db/pre_db > ratio_threshold (RP); ``difference``: post-pre < difference_db."""
    change_polarisation: Literal["vh", "vv"] = "vh"
    ratio_threshold: float = 1.25
    difference_db: float = -3.0
    require_dark_post: bool = True
    """Also require post < its automatic water threshold; False reproduces the RP exactly."""
    vv: ThresholdParams = SAR_VV
    vh: ThresholdParams = SAR_VH
    sar_scale_db: float = 1.0
    """Width (dB) of the logistic SAR memberships."""
    region_growing: bool = True
    """Single scene: grow confident water (seeds) into the ambiguous range (:mod:`.sar_water`)."""
    seed_db: float = 2.5
    """Seeds: likelihood of a pixel this many dB below the thresholds (0.92 for 1-dB memberships)."""
    grow_db: float = 2.0
    """Growth: likelihood of a pixel this many dB above the thresholds (0.12 for 1-dB memberships)."""
    grow_px: int = 10
    """Maximum growth from a seed, in pixels (100 m at 10 m)."""
    seeds_without_fit: bool = True
    """No threshold fitted (fallbacks only): keep only water connected to a seed, grown no further
    than the thresholds themselves; False keeps every pixel of likelihood >= 0.5."""
    fv_rise_db: float = 3.0
    """Flooded vegetation: minimum rise of VV, post minus pre (dB)."""
    fv_ratio_rise_db: float = 3.0
    """Flooded vegetation: minimum rise of the VV/VH ratio, post minus pre (dB)."""
    ratio_scale: float = 0.05
    """Width of the logistic change-ratio membership."""
    optical_index: Literal["mndwi", "ndwi"] = "mndwi"
    optical_threshold: float | None = 0.0
    """Fixed index threshold; None = automatic (robust Otsu on the index)."""
    optical_scale: float = 0.05
    optical_weight: float = 1.0
    """Reliability of a fixed optical threshold (an automatic one gets its own, 0.2 to 1)."""
    scl_invalid: tuple[int, ...] = (0, 1, 3, 8, 9, 10)
    reference_frequency: float = 0.75
    """Minimum share of pre-event dates that are water for reference water (hydrafloods: 75 %)."""
    mmu_pixels: int = 8
    """Minimum connected flood pixels (UN-SPIDER: 8); 1 disables."""
    eight_connected: bool = True
    slope_max_deg: float = 5.0
    """Slope (deg) from which water is excluded (class 6) and its terrain membership is 0."""
    hand_max_m: float = 15.0
    """Height above nearest drainage (m) from which water is excluded (class 6), membership 0."""
    terrain_fuzzy: bool = True
    """With a DEM/HAND: cap the water likelihood by Z-memberships between full and max (sar_prep)."""
    slope_full_deg: float = 2.0
    """Slope (deg) up to which the terrain membership is 1."""
    hand_full_m: float = 5.0
    """HAND (m) up to which the terrain membership is 1."""
    angle_normalisation: Literal["none", "cos2", "linear"] = "cos2"
    """With an ``angle`` band (deg): bring sigma0 to ``angle_ref_deg`` (formulas in sar_prep)."""
    angle_ref_deg: float = 38.0
    angle_slope_db_per_deg: float = -0.2
    """Slope of the ``linear`` normalisation, dB per degree of incidence."""
    puddling_days: int = 14
    """Days before transplanting during which a paddy is deliberately flooded."""
    managed_days_after: int = 20
    """Days after transplanting during which paddy water is still managed water."""


# ---- orchestration ------------------------------------------------------------------------------

def _single_date(ds: xr.Dataset, role: str) -> tuple[xr.Dataset, Any]:
    """Squeeze a one-date ``time`` axis; return the dataset and its date (or None)."""
    if "time" not in ds.dims:
        return ds, ds.coords["time"].values if "time" in ds.coords else None
    if ds.sizes["time"] != 1:
        raise ConfigError(f"{role} scene has {ds.sizes['time']} dates; select the event date first "
                          "(ds.sel(time=..., method='nearest')) or mosaic it.")
    t = ds.time.values[0]
    return ds.isel(time=0, drop=True), t


def _class_kernel(*masks: np.ndarray, referenced: bool) -> np.ndarray:
    flood, valid, ref, excl, rice, crop, managed, fveg = (np.asarray(m, dtype=bool) for m in masks)
    out = np.where(flood, np.uint8(2), np.uint8(0))
    out = np.where(flood & crop, np.uint8(3), out)
    out = np.where(flood & rice, np.uint8(4), out)
    out = np.where(fveg & ~flood, np.uint8(8), out)
    if not referenced:  # water, but nothing says what is normally water here: not "flood"
        out = np.where(flood, np.uint8(7), out)
    out = np.where(flood & managed, np.uint8(5), out)
    out = np.where(ref, np.uint8(1), out)
    out = np.where(excl, np.uint8(6), out)
    out = np.where(valid, out, np.uint8(255)).astype(np.uint8)
    return np.broadcast_to(out, np.broadcast_shapes(*(m.shape for m in (flood, valid)))).copy()


def _candidate_kernel(water: np.ndarray, ref: np.ndarray, excl: np.ndarray) -> np.ndarray:
    return np.asarray(water, dtype=bool) & ~np.asarray(ref, dtype=bool) & ~np.asarray(excl, dtype=bool)


def _select_kernel(fitted: np.ndarray, grown: np.ndarray, plain: np.ndarray) -> np.ndarray:
    return np.where(np.asarray(fitted, dtype=bool), grown, plain)


def _latest_kernel(x: np.ndarray) -> np.ndarray:
    ok = np.isfinite(x)
    last = x.shape[-1] - 1 - np.argmax(ok[..., ::-1], axis=-1)
    val = np.take_along_axis(x, last[..., None], axis=-1)[..., 0]
    return np.where(ok.any(axis=-1), val, np.nan).astype(np.float32)


def _latest(stack: xr.DataArray) -> xr.DataArray:
    """Most recent valid value per pixel along ``time`` (GEE ``mosaic()`` of a sorted collection)."""
    stack = stack.sortby("time")
    if stack.chunks is not None:
        stack = stack.chunk(time=-1)
    return apply_kernel(_latest_kernel, stack, core=[["time"]])


def _sar_db(ds: xr.Dataset, pols: Sequence[str], units: Any, radius_m: float, p: FloodParams) -> dict[str, xr.DataArray]:
    out = {}
    for pol in pols:
        lin = prepare_sar(ds[pol], units)
        if "angle" in ds and p.angle_normalisation != "none":
            lin = normalise_incidence(lin, ds["angle"], p.angle_normalisation, p.angle_ref_deg,
                                      p.angle_slope_db_per_deg)
        out[pol] = to_db(speckle_filter(lin, radius_m)).rename(f"{pol}_db")
    return out


@dataclass(frozen=True)
class _Scene:
    """Validated inputs of :func:`flood_map` (internal)."""

    post: xr.Dataset | None
    pre: xr.Dataset | None
    optical: xr.Dataset | None
    event_date: Any
    pols: tuple[str, ...]


def _validate(post: xr.Dataset | None, pre: xr.Dataset | None, optical: xr.Dataset | None, event_date: Any,
              extras: tuple[xr.DataArray | None, ...]) -> _Scene:
    if post is None and optical is None:
        raise ConfigError("flood_map needs a post-event SAR scene, an optical scene, or both.")
    if pre is not None and post is None:
        raise ConfigError("a pre-event scene needs a post-event SAR scene.")
    date, pols = None, tuple[str, ...]()
    if post is not None:
        post, date = _single_date(post, "post-event")
        pols = tuple(b for b in ("vv", "vh") if b in post)
        if not pols:
            require_bands(post, ("vh",), "post-event")
    if optical is not None:
        optical, odate = _single_date(optical, "optical")
        date = date if date is not None else odate
    event_date = event_date if event_date is not None else date
    arrays = [a for ds in (post, optical) if ds is not None for a in ds.data_vars.values()]
    arrays += [a for a in extras if a is not None]
    if pre is not None and post is not None:
        check_orbits(post, pre)
        arrays += [pre[b] for b in pre.data_vars if b in ("vv", "vh")]
        if "time" in pre.coords and event_date is not None and np.any(
                np.atleast_1d(pre.time.values) >= np.datetime64(event_date, "ns")):
            raise ConfigError("pre-event dates must be before the post-event date; check the date ranges.")
    require_same_grid(*[a for a in arrays if a.ndim >= 2])
    return _Scene(post, pre, optical, event_date, pols)


@dataclass
class _Radar:
    """What the SAR scenes say (internal): weighted water evidence, reference water, flooded vegetation."""

    sources: list[tuple[xr.DataArray, Any]]
    """(membership, weight) pairs for :func:`~agromap.disaster.sar_water.weighted_membership`."""
    fitted: Any
    """Lazy 0-d bool: at least one threshold was fitted (not a fallback)."""
    weight: Any
    """Reliability of the radar as a whole against other sensors: its best threshold's."""
    ref: Any = False
    fveg: Any = False


def _radar(sc: _Scene, rice: xr.DataArray | None, cropland: xr.DataArray | None, p: FloodParams, units: Any,
           out: xr.Dataset) -> _Radar:
    post = sc.post if sc.post is not None else xr.Dataset()  # the caller checked that post exists
    radius = p.speckle_radius_m if sc.pre is not None else p.single_scene_radius_m
    post_db = _sar_db(post, sc.pols, units, radius, p)
    thresholds, weights, fitted = {}, {}, []
    for pol in sc.pols:
        res = robust_threshold(post_db[pol], p.vv if pol == "vv" else p.vh)
        thresholds[pol] = out[f"threshold_{pol}"] = res.threshold
        out[f"threshold_method_{pol}"] = res.method
        weights[pol] = out[f"weight_{pol}"] = res.reliability
        fitted.append((res.method == 1) | (res.method == 2))
    any_fitted, best = fitted[0], weights[sc.pols[0]]
    for pol, f in zip(sc.pols[1:], fitted[1:], strict=True):
        any_fitted, best = any_fitted | f, np.maximum(best, weights[pol])
    if sc.pre is None:
        return _Radar([(membership(post_db[pol], thresholds[pol], scale=p.sar_scale_db), weights[pol])
                       for pol in sc.pols], any_fitted, best)
    cp = p.change_polarisation
    require_bands(sc.pre, (cp,), "pre-event")
    require_bands(post, (cp,), "post-event")
    pre_db = _sar_db(sc.pre, [b for b in sc.pols if b in sc.pre], units, p.speckle_radius_m, p)
    before = {b: (_latest(v) if "time" in v.dims else v) for b, v in pre_db.items()}
    lik = change_likelihood(post_db[cp], before[cp], thresholds[cp], p)
    ref = reference_water(sar_water_likelihood(pre_db, thresholds, p.sar_scale_db, weights), p.reference_frequency)
    fveg: Any = False
    if all(b in post_db and b in before for b in ("vv", "vh")):
        veg: Any = True
        if rice is not None or cropland is not None:
            veg = False
            for m in (rice, cropland):
                veg = veg | m.astype(bool) if m is not None else veg
        fveg = flooded_vegetation(post_db, before, veg, p.fv_rise_db, p.fv_ratio_rise_db)
    return _Radar([(lik, 1.0)], any_fitted, 1.0, ref & ~rice.astype(bool) if rice is not None else ref, fveg)


def flood_map(
    post: xr.Dataset | None,
    pre: xr.Dataset | None = None,
    *,
    optical: xr.Dataset | None = None,
    reference: xr.DataArray | None = None,
    rice: xr.DataArray | None = None,
    cropland: xr.DataArray | None = None,
    transplant_doy: xr.DataArray | None = None,
    event_date: Any = None,
    dem: xr.DataArray | None = None,
    hand: xr.DataArray | None = None,
    exclude: xr.DataArray | None = None,
    units: Literal["linear", "db"] = "linear",
    params: FloodParams | None = None,
) -> xr.Dataset:
    """Flood classes and water likelihood for one event date.

    Parameters
    ----------
    post : xarray.Dataset or None
        Post-event Sentinel-1 ``vv`` and/or ``vh`` sigma0 ``(y, x)`` (or one date), float32 linear
        power (``units="db"`` for dB inputs such as Sen1Floods11), optional ``angle`` (incidence,
        deg: normalised to ``angle_ref_deg``). None: optical only.
    pre : xarray.Dataset, optional
        Pre-event scene ``(y, x)`` or stack ``(time, y, x)``: same grid, orbit and units. Given:
        change detection against its most recent valid value per pixel (GEE ``mosaic()``), and
        reference water from all its dates. Absent: single-scene VV+VH thresholding.
    optical : xarray.Dataset, optional
        Post-event ``green`` + ``swir16`` (MNDWI) or ``nir`` (NDWI) reflectance, optional ``scl``.
    reference : xarray.DataArray, optional
        bool reference water (e.g. JRC GSW occurrence >= 75); replaces the derived one.
    rice, cropland : xarray.DataArray, optional
        bool masks for classes 4/5 and 3.
    transplant_doy : xarray.DataArray, optional
        uint16 day of year (0 = none), ``(y, x)`` or ``(season, y, x)``; with ``rice`` it marks
        managed paddy water (class 5) around ``event_date``.
    event_date : date-like, optional
        Default: the ``time`` of ``post`` (or ``optical``).
    dem, hand, exclude : xarray.DataArray, optional
        Elevation (m; slope > 5 deg excluded), height above nearest drainage (m; > 15 m excluded),
        bool extra exclusion (shadow, layover, urban...): class 6. DEM and HAND also cap the water
        likelihood by fuzzy memberships (``terrain_fuzzy``).
    units : {"linear", "db"}
        Units of ``post``/``pre``, checked from the values at compute (:class:`SarUnitsError`).
    params : FloodParams, optional
        Tunable parameters; ``None`` uses the defaults (``FloodParams()``).

    Returns
    -------
    xarray.Dataset
        ``flood_class`` uint8 ``(y, x)`` (:data:`FLOOD_CLASSES`, 255 = no observation),
        ``flood_likelihood`` float32 0-1 (NaN = no observation), 0-d ``flood_detected`` bool,
        ``valid_fraction`` float32, per thresholded band ``threshold_<band>`` float32,
        ``threshold_method_<band>`` uint8 (:data:`~agromap.disaster.threshold.THRESHOLD_METHODS`)
        and ``weight_<band>`` float32 (its reliability in the fusion; ``weight_optical`` too when
        optical is fused), and ``region_growing`` bool (single scene: whether water was grown
        from seeds into the ambiguous range, i.e. a threshold was fitted; otherwise water needs a
        seed and stops at the fallback thresholds). ``attrs["reference_water"]`` says where normal
        water came from: "supplied layer", "pre-event dates" or "none" (then water is class 7).
        Lazy for dask inputs; identical for numpy and any chunking.

    Raises
    ------
    GridMismatchError, OrbitMismatchError, MissingBandError, ConfigError
        At call time (metadata only).
    SarUnitsError, NoValidDataError
        At compute, from the values (dB/linear confusion; an all-NaN SAR band).
    """
    p = params if params is not None else FloodParams()
    sc = _validate(post, pre, optical, event_date, (reference, rice, cropland, dem, hand, exclude))
    out = xr.Dataset()
    sources: list[tuple[xr.DataArray, Any]] = []
    radar: _Radar | None = None
    if sc.post is not None:
        radar = _radar(sc, rice, cropland, p, units, out)
        # Polarisations are weighed against each other first; the radar then counts as one
        # sensor against the optical one, with the reliability of its best threshold.
        rlik = radar.sources[0][0] if len(radar.sources) == 1 else weighted_membership(radar.sources)
        sources.append((rlik, radar.weight))
    ref: Any = radar.ref if radar is not None else False
    if reference is not None:
        ref = reference.astype(bool)
    referenced = reference is not None or sc.pre is not None
    olik: xr.DataArray | None = None
    if sc.optical is not None:
        olik, othr = optical_water_likelihood(sc.optical, p)
        wopt: Any = p.optical_weight
        if othr is not None:
            out["threshold_optical"], out["threshold_method_optical"] = othr.threshold, othr.method
            wopt = othr.reliability
        out["weight_optical"] = xr.DataArray(np.float32(wopt)) if not isinstance(wopt, xr.DataArray) else wopt
        sources.append((olik, wopt))
    if not sources:  # unreachable (_validate), but keeps type checkers informed
        raise ConfigError("flood_map needs a post-event SAR scene or an optical scene.")
    terrain = terrain_membership(dem, hand, (p.slope_full_deg, p.slope_max_deg), (p.hand_full_m, p.hand_max_m)) \
        if p.terrain_fuzzy else None
    if terrain is not None:  # fuzzy AND: high or steep ground caps every source's water evidence
        sources = [(xr.ufuncs.minimum(m, terrain), w) for m, w in sources]
        olik = sources[-1][0] if olik is not None else None
    out["terrain_fuzzy"] = xr.DataArray(terrain is not None)
    out["angle_normalised"] = xr.DataArray(sc.post is not None and "angle" in sc.post
                                           and p.angle_normalisation != "none")
    lik = sources[0][0] if len(sources) == 1 else weighted_membership(sources)
    plain = apply_kernel(np.greater_equal, lik, np.float32(0.5), dtype=np.bool_)
    water: Any = plain
    if radar is not None and sc.pre is None and p.region_growing:
        # The seed and growth levels are in dB of backscatter: they apply where the radar decides
        # alone; where a clear optical scene is fused, the fused likelihood decides.
        rlik = sources[0][0]
        seed = membership_at(p.seed_db, p.sar_scale_db)
        grown = grow_water(rlik, seed, membership_at(-p.grow_db, p.sar_scale_db), p.grow_px)
        # Fallback thresholds are weak evidence: no growth past them, and a confident core is needed.
        weak = grow_water(rlik, seed, 0.5, p.grow_px) if p.seeds_without_fit else rlik >= 0.5
        radar_water = apply_kernel(_select_kernel, radar.fitted, grown, weak, dtype=np.bool_)
        water = radar_water if olik is None else apply_kernel(_select_kernel, np.isfinite(olik), plain,
                                                              radar_water, dtype=np.bool_)
        out["region_growing"] = radar.fitted
    excl = exclusion(dem, hand, exclude, p.slope_max_deg, p.hand_max_m)
    flood = minimum_mapping_unit(apply_kernel(_candidate_kernel, water, ref, excl, dtype=np.bool_), p.mmu_pixels,
                                 eight_connected=p.eight_connected)
    fveg: Any = False
    if radar is not None and not isinstance(radar.fveg, bool):
        fveg = apply_kernel(_candidate_kernel, radar.fveg, ref, excl, dtype=np.bool_)
    managed: Any = False
    if rice is not None and transplant_doy is not None:
        if sc.event_date is None:
            raise ConfigError("managed paddy water needs the event date: pass event_date= or a time coordinate.")
        managed = managed_paddy_water(rice, transplant_doy, sc.event_date, p)
    masks = [m.astype(bool) if m is not None else False for m in (rice, cropland)]
    finite = apply_kernel(np.isfinite, lik, dtype=np.bool_)
    cls = apply_kernel(_class_kernel, flood, finite, ref, excl, *masks, managed, fveg, dtype=np.uint8,
                       referenced=referenced)
    out["flood_class"] = cls.rename("flood_class").assign_attrs(
        units="class", nodata=255, flag_values=[c[0] for c in FLOOD_CLASSES],
        flag_meanings=" ".join(c[1].replace(" / ", "_or_").replace(",", "").replace(" ", "_") for c in FLOOD_CLASSES),
        method="optical" if sc.post is None else "change detection" if sc.pre is not None else "single scene",
        reference_water="supplied layer" if reference is not None else "pre-event dates" if sc.pre is not None
        else "none")
    out["flood_likelihood"] = lik.rename("flood_likelihood").assign_attrs(units="1", long_name="water likelihood")
    # Flood is only established against reference water: without it, water is class 7, never flood.
    out["flood_detected"] = (((cls >= 2) & (cls <= 4)) | (cls == 8)).any()
    out["valid_fraction"] = (cls != 255).mean().astype(np.float32)
    if sc.event_date is not None:
        out.attrs["event_date"] = str(np.datetime64(sc.event_date, "D"))
    out.attrs["reference_water"] = out["flood_class"].attrs["reference_water"]
    return out

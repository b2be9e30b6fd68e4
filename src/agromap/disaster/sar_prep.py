"""Sentinel-1 preparation for flood mapping, lazily: orbit and unit checks, incidence-angle
normalisation, speckle filter, slope, fuzzy terrain memberships, minimum mapping unit.

Incidence-angle normalisation
-----------------------------
Backscatter falls with the local incidence angle, across a Sentinel-1 IW swath (about 30 to 46
deg) by 2 to 4 dB over land, so one threshold fits the near range worse than the far range. When
the scene carries an ``angle`` band (ellipsoid incidence angle in degrees, as the GEE and ASF
products have), sigma0 is brought to a reference angle ``theta_ref`` (38 deg, mid-swath) with

- ``cos2`` (default): ``sigma0_ref = sigma0 * cos^2(theta_ref) / cos^2(theta)`` in linear power
  (Lambert's law for a rough surface; Mladenova et al. 2013, "Incidence angle normalization of
  radar backscatter data", IEEE TGRS 51(3));
- ``linear``: ``sigma0_ref[dB] = sigma0[dB] - b * (theta - theta_ref)`` with a slope ``b`` in
  dB per degree (negative: backscatter falls with angle; -0.2 dB/deg by default, a typical land
  value; calibrate it on the area's own scenes when possible).

Fuzzy terrain memberships
-------------------------
Floodwater collects low and flat: the Global Flood Monitoring practice (Twele et al. 2016,
"Sentinel-1-based flood mapping: a fully automated processing chain", IJRS 37(13); Martinis et
al. 2015) down-weights water evidence high above the drainage and on slopes. Each gives a
Z-shaped membership (1 below ``full``, 0 above ``zero``, the smooth quadratic Z-function between):
height above nearest drainage 1 up to 5 m and 0 from 15 m; slope 1 up to 2 deg and 0 from 5 deg.
Their minimum (fuzzy AND) caps the water likelihood, so terrain only ever removes water.

Exactness over dask: the focal mean, the minimum mapping unit (:mod:`agromap.focal`) and the
slope use ``map_overlap`` with a halo of their reach (the kernel radius; ``mmu_pixels - 1`` for the
mapping unit: a component smaller than N pixels spans fewer than N pixels in any direction, so it
lies inside the halo, and a larger one has N connected pixels within that distance). Value checks (dB/linear confusion,
all-NaN) run inside the graph and raise at compute.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import xarray as xr

from ..area import pixel_size_m as area_pixel_size_m
from ..errors import ConfigError, OrbitMismatchError
from ..focal import focal_mean, map_with_halo, sieve
from ..io.grid import crs_of, geobox_of
from ..sensors.s1 import as_linear_power

__all__ = ["pixel_size_m", "prepare_sar", "normalise_incidence", "speckle_filter",
           "minimum_mapping_unit", "slope_degrees", "exclusion", "z_membership", "terrain_membership",
           "check_orbits"]


# ---- small helpers ----------------------------------------------------------------------------


_ORBIT_KEYS = {
    "relative orbit": ("relative_orbit", "sat:relative_orbit", "relativeOrbitNumber_start"),
    "pass direction": ("orbit_direction", "orbit_state", "sat:orbit_state", "orbitProperties_pass"),
}


def _orbit_info(ds: xr.Dataset) -> dict[str, str]:
    attrs = dict(ds.attrs)
    for v in ds.data_vars.values():
        attrs.update({k: a for k, a in v.attrs.items() if k not in attrs})
    info = {}
    for what, keys in _ORBIT_KEYS.items():
        for k in keys:
            if k in attrs:
                info[what] = str(attrs[k]).strip().lower()
                break
    return info


def check_orbits(post: xr.Dataset, pre: xr.Dataset) -> None:
    """Refuse a pre-event scene from another track or pass direction than the post-event one."""
    a, b = _orbit_info(post), _orbit_info(pre)
    for what in a.keys() & b.keys():
        if a[what] != b[what]:
            raise OrbitMismatchError(
                f"pre-event scene has {what} {b[what]!r} but the post-event scene has {a[what]!r}; change "
                "detection needs one relative orbit and pass direction (different geometry changes backscatter). "
                "Pick a pre-event scene from the same track, or map the post scene alone (pre=None).")


def pixel_size_m(arr: xr.DataArray | xr.Dataset) -> tuple[float, float]:
    """(dy, dx) pixel size in metres (:func:`agromap.area.pixel_size_m`); geographic grids use the
    scene-centre latitude (approximate).
    """
    g = geobox_of(arr)
    crs = crs_of(g)
    if not crs.geographic and "metre" not in str(crs.units[0]):
        raise ConfigError(f"grid units are {crs.units}, not metres; reproject to a metric CRS (e.g. UTM).")
    return area_pixel_size_m(g)


# ---- input checks that run inside the graph --------------------------------------------------


def prepare_sar(arr: xr.DataArray, units: Literal["linear", "db"] = "linear") -> xr.DataArray:
    """Backscatter as float32 linear power, with value checks that raise at compute.

    Parameters
    ----------
    arr : xarray.DataArray
        Sigma0 of one polarisation, any dims, numpy or dask; NaN = nodata.
    units : {"linear", "db"}
        Declared units. Linear power must be mostly in (0, 1] with < 5 % negative values; dB mostly
        in (-40, 5) and not linear-looking (the shared judgement of
        :func:`agromap.sensors.s1.judge_units`).

    Returns
    -------
    xarray.DataArray
        float32 linear power; values <= 0 become NaN. Lazy if ``arr`` is: the checks are a global
        census fed into every block, so :class:`SarUnitsError` or :class:`NoValidDataError` surface
        at compute (immediately for numpy input).
    """
    if units not in ("linear", "db"):
        raise ConfigError(f"units must be 'linear' or 'db', got {units!r}.")
    return as_linear_power(arr, units)


# ---- spatial kernels ----------------------------------------------------------------------------


def speckle_filter(linear: xr.DataArray, radius_m: float) -> xr.DataArray:
    """Focal mean over a circle of ``radius_m`` in linear power (NaN-aware), on the last two axes.

    Returns float32, NaN where the input is NaN; lazy; identical for numpy and any chunking.
    """
    dy, dx = pixel_size_m(linear)
    r = int(round(radius_m / min(dy, dx)))
    if r < 1:
        return linear.astype(np.float32)
    return focal_mean(linear, r, shape="disk")


def minimum_mapping_unit(mask: xr.DataArray, min_pixels: int, *, eight_connected: bool = True) -> xr.DataArray:
    """Drop connected groups of True smaller than ``min_pixels`` (``scipy.ndimage.label``).

    Exact over dask: ``map_overlap`` with a margin of ``min_pixels - 1`` (see the module docstring).
    Returns bool, lazy, same chunks.
    """
    return sieve(mask, min_pixels, eight_connected=eight_connected)


def _slope_kernel(z: np.ndarray, dy: float, dx: float) -> np.ndarray:
    z64 = z.astype(np.float64)
    if min(z64.shape) < 2:
        return np.zeros(z64.shape, dtype=np.float32)
    gy, gx = np.gradient(z64, dy, dx)
    return np.degrees(np.arctan(np.hypot(gx, gy))).astype(np.float32)


def slope_degrees(dem: xr.DataArray) -> xr.DataArray:
    """Terrain slope in **degrees** from elevation in metres (``numpy.gradient``); float32, lazy."""
    dy, dx = pixel_size_m(dem)
    return map_with_halo(_slope_kernel, dem, 1, np.float32, dy=dy, dx=dx).rename("slope")


# ---- incidence angle ----------------------------------------------------------------------------


def _incidence_kernel(lin: np.ndarray, angle: np.ndarray, *, method: str, ref_deg: float,
                      slope_db_per_deg: float) -> np.ndarray:
    theta = np.radians(np.asarray(angle, np.float64))
    ok = np.isfinite(theta) & (theta > 0) & (theta < np.pi / 2)
    if method == "cos2":
        gain = np.cos(np.radians(ref_deg)) ** 2 / np.where(ok, np.cos(theta), 1.0) ** 2
    else:  # linear in dB: subtract b * (theta - theta_ref)
        gain = 10.0 ** (-slope_db_per_deg * (np.degrees(theta) - ref_deg) / 10.0)
    return np.where(ok, lin * gain, np.nan).astype(np.float32)


def normalise_incidence(linear: xr.DataArray, angle_deg: xr.DataArray, method: Literal["cos2", "linear"] = "cos2",
                        ref_deg: float = 38.0, slope_db_per_deg: float = -0.2) -> xr.DataArray:
    """Backscatter (linear power) brought to the reference incidence angle ``ref_deg``; lazy.

    ``cos2``: ``sigma0 * cos^2(ref) / cos^2(theta)``; ``linear``: ``sigma0_dB - b (theta - ref)``
    with ``b = slope_db_per_deg`` (module notes). ``angle_deg`` is the incidence angle in degrees
    on the same grid; pixels without a valid angle (NaN, <= 0 or >= 90 deg) become NaN.
    """
    if method not in ("cos2", "linear"):
        raise ConfigError(f"angle normalisation must be 'cos2' or 'linear', got {method!r}.")
    if not 0.0 < ref_deg < 90.0:
        raise ConfigError(f"reference incidence angle must be within (0, 90) degrees, got {ref_deg}.")
    out: xr.DataArray = xr.apply_ufunc(
        _incidence_kernel, linear, angle_deg, dask="parallelized", output_dtypes=[np.float32],
        kwargs={"method": method, "ref_deg": float(ref_deg), "slope_db_per_deg": float(slope_db_per_deg)})
    return out.rename(linear.name).assign_attrs(linear.attrs)


# ---- fuzzy terrain -----------------------------------------------------------------------------


def _z_kernel(x: np.ndarray, full: float, zero: float) -> np.ndarray:
    u = np.clip((np.asarray(x, np.float64) - full) / (zero - full), 0.0, 1.0)
    z = np.where(u <= 0.5, 1.0 - 2.0 * u * u, 2.0 * (1.0 - u) ** 2)
    return np.where(np.isfinite(x), z, 1.0).astype(np.float32)  # no terrain value: no evidence against


def z_membership(x: xr.DataArray, full: float, zero: float) -> xr.DataArray:
    """Z-shaped membership: 1 for ``x <= full``, 0 for ``x >= zero``, ``1 - 2u^2`` / ``2(1-u)^2``
    between (``u = (x - full) / (zero - full)``); NaN inputs give 1 (no evidence against). Lazy.
    """
    if not zero > full:
        raise ConfigError(f"a Z membership needs zero > full, got full={full}, zero={zero}.")
    return xr.apply_ufunc(_z_kernel, x, dask="parallelized", output_dtypes=[np.float32],
                          kwargs={"full": float(full), "zero": float(zero)})


def terrain_membership(dem: xr.DataArray | None, hand: xr.DataArray | None, slope_deg: tuple[float, float],
                       hand_m: tuple[float, float]) -> xr.DataArray | None:
    """Fuzzy AND (minimum) of the slope and HAND Z-memberships, float32 0-1; None without terrain.

    ``slope_deg`` and ``hand_m`` are ``(full, zero)`` pairs: e.g. (2, 5) deg and (5, 15) m.
    """
    parts: list[Any] = []
    if dem is not None:
        parts.append(z_membership(slope_degrees(dem), *slope_deg))
    if hand is not None:
        parts.append(z_membership(hand, *hand_m))
    if not parts:
        return None
    out = parts[0] if len(parts) == 1 else np.minimum(parts[0], parts[1])
    return out.astype(np.float32).rename("terrain_membership")


def exclusion(dem: xr.DataArray | None, hand: xr.DataArray | None, exclude: xr.DataArray | None,
              slope_max_deg: float, hand_max_m: float) -> xr.DataArray | bool:
    """Where water cannot be mapped (class 6): slope > ``slope_max_deg``, HAND > ``hand_max_m``, or
    ``exclude``; bool, lazy (``False`` when nothing is given).
    """
    parts: list[Any] = []
    if dem is not None:
        parts.append(slope_degrees(dem) > slope_max_deg)
    if hand is not None:
        parts.append(hand > hand_max_m)
    if exclude is not None:
        parts.append(exclude.astype(bool))
    if not parts:
        return False
    out = parts[0]
    for q in parts[1:]:
        out = out | q
    return out

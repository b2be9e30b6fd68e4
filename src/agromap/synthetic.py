"""Synthetic multi-date Sentinel-2 and Sentinel-1 scenes with known truth, of any size.

What is simulated
-----------------
- **Landscape** (:func:`make_truth`): rectangular fields (parcels of ``field_size`` px split
  once), forest and settlement patches, ponds and a sinuous river (permanent water), paddy
  with 1-3 seasons and per-field transplanting dates, dryland crops and bare fields, a flood
  band along the river on the event dates, and stubble burning a few days after the kharif
  harvest on some single-season paddy fields.
- **Optical** (:func:`make_s2_stack`): each pixel-date is a linear mixture of the endmember
  spectra in :data:`ENDMEMBERS`, with fractions following the crop calendar: paddy is
  puddled (flooded) 14 days before transplanting, stays flooded with seedlings (LSWI above
  NDVI, EVI near 0), greens up to NDVI > 0.7 about 40 days after transplanting, senesces over
  the last 25 days, is harvested to stubble and may be burned (char: low NIR, high SWIR22).
  A per-field gain (±6 %) and per-pixel Gaussian noise (0.003 + 1.5 % of the value) are added.
  Clouds are smooth blobs covering ``cloud_fraction`` of pixel-dates, bright (blue > 0.3) and
  flagged SCL 9 (core) or 8 (edge); their shadows are a 35 % darkening flagged SCL 3. By
  default cloudy pixels keep the cloud's reflectance, so only an SCL mask removes them
  (``mask_clouds=True`` sets them to NaN). Reflectance is clipped to [0.0001, 1].
- **SAR** (:func:`make_s1_stack`): VV and VH as linear power (never dB): the same fractions
  weight per-endmember backscatter in linear power, times a per-field offset (±0.75 dB) and
  gamma speckle with ``looks`` looks (mean 1). Flooded paddy reaches about -24 dB VH and
  rises by about 10 dB at heading; flood-event pixels are 90 % open water.

What is not simulated
---------------------
Atmosphere and BRDF, the 20/60 m resolution of some S2 bands (every band is on the 10 m
grid), spectral and terrain effects on SAR (incidence angle, layover, orbit tracks), double
bounce in flooded vegetation, residue fires themselves, snow, and sensor striping. Day-of-year
values refer to the calendar of the first date's year. Randomness is a hash of the seed and
the global pixel position, so values never depend on chunking.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import numpy as np
import xarray as xr

from .io.grid import attach_geobox
from .synthetic_truth import (
    DEFAULT_DATES,
    FOREST,
    OTHER,
    PADDY,
    PUDDLING_DAYS,
    STREAM_S2_NOISE,
    STREAM_SPECKLE,
    URBAN,
    WATER,
    SceneSpec,
    cloud_noise,
    cloud_threshold,
    hash_keys,
    make_truth,
    scene_fields,
    smoothstep,
    uniform_pair,
)

__all__ = [
    "SceneSpec",
    "DEFAULT_DATES",
    "S2_BANDS",
    "ENDMEMBERS",
    "CLOUD_SPECTRUM",
    "make_truth",
    "make_s2_stack",
    "make_s1_stack",
    "write_stack_geotiffs",
]

S2_BANDS = ("blue", "green", "red", "nir", "nir08", "rededge1", "rededge2", "rededge3", "swir16", "swir22")

#: Endmembers: reflectance per S2_BANDS, then (VH, VV) backscatter in dB.
ENDMEMBERS: dict[str, tuple[tuple[float, ...], tuple[float, float]]] = {
    "clear_water": ((.060, .070, .045, .022, .020, .038, .028, .024, .010, .006), (-22.0, -18.0)),
    "turbid_water": ((.075, .095, .090, .066, .060, .085, .075, .070, .035, .022), (-24.0, -19.0)),
    "dry_soil": ((.100, .140, .180, .250, .260, .210, .230, .240, .320, .260), (-16.0, -9.0)),
    "wet_soil": ((.060, .085, .105, .140, .145, .120, .130, .135, .150, .105), (-15.0, -8.0)),
    "crop_canopy": ((.030, .080, .035, .420, .430, .120, .300, .380, .200, .100), (-13.5, -9.0)),
    "forest": ((.025, .050, .028, .340, .350, .090, .250, .310, .160, .075), (-12.0, -7.0)),
    "straw": ((.070, .100, .130, .280, .290, .170, .220, .250, .330, .220), (-17.0, -11.0)),
    "char": ((.040, .045, .050, .065, .070, .055, .060, .063, .180, .240), (-18.0, -12.0)),
    "urban": ((.120, .140, .160, .210, .210, .180, .190, .200, .250, .220), (-9.0, -3.0)),
}
CLOUD_SPECTRUM = (.450, .440, .430, .450, .450, .430, .440, .440, .330, .240)

_EM = list(ENDMEMBERS)
_K = {name: i for i, name in enumerate(_EM)}
_REFL = np.array([v[0] for v in ENDMEMBERS.values()], dtype=np.float64)  # (K, B)
_SIGMA = 10.0 ** (np.array([v[1] for v in ENDMEMBERS.values()], dtype=np.float64) / 10.0)  # (K, 2)


def _fractions(spec: SceneSpec, f: dict[str, np.ndarray], day: int) -> np.ndarray:
    """Endmember fractions ``(K, rows, cols)`` of every pixel on ``day`` (a day number)."""
    lc = f["landcover"]
    frac = np.zeros((len(_EM), *lc.shape), dtype=np.float64)

    def add(name: str, mask: np.ndarray, amount: Any) -> None:
        frac[_K[name]] += np.where(mask, amount, 0.0)

    # Fallow/bare ground in the monsoon: mostly dry, partly wet soil.
    def soil(mask: np.ndarray, amount: Any = 1.0) -> None:
        add("dry_soil", mask, 0.6 * amount)
        add("wet_soil", mask, 0.4 * amount)

    add("clear_water", lc == WATER, 1.0)
    add("forest", lc == FOREST, 1.0)
    add("urban", lc == URBAN, 0.85)
    add("crop_canopy", lc == URBAN, 0.15)  # street trees and gardens
    soil((lc == OTHER) & ~f["crop"])

    # Dryland crop: sown on soil, never flooded, canopy 0.8 at 70 days, senescence, stubble.
    dc = (lc == OTHER) & f["crop"]
    d, length = day - f["sow"], f["crop_len"]
    green = 0.8 * smoothstep((d - 10) / 60.0)
    sen = smoothstep((d - (length - 25)) / 25.0)
    grown = dc & (d >= 0) & (d <= length)
    add("crop_canopy", grown, green * (1 - sen))
    add("straw", grown, green * sen)
    soil(grown, 1 - green)
    add("straw", dc & (d > length), 0.45)
    add("dry_soil", dc & (d > length), 0.55)
    soil(dc & (d < 0))

    _paddy_fractions(f, day, frac, add, soil)

    if spec.in_event(day):  # flood event: 90 % open (turbid) water over whatever was there
        fl = f["flood"]
        frac[:, fl] *= 0.1
        frac[_K["turbid_water"], fl] += 0.9
    return frac


def _paddy_fractions(f: dict[str, np.ndarray], day: int, frac: np.ndarray, add: Any, soil: Any) -> None:
    """Add the paddy fractions: the active season is the last one whose puddling has begun."""
    paddy = f["landcover"] == PADDY
    d = np.full(paddy.shape, -10_000.0)
    length = np.ones(paddy.shape)
    season = np.full(paddy.shape, -1)
    for k in range(f["transplant"].shape[0]):
        dk = day - f["transplant"][k]
        started = paddy & (k < f["n_seasons"]) & (dk >= -PUDDLING_DAYS)
        d = np.where(started, dk, d)
        length = np.where(started, f["season_len"][k], length)
        season = np.where(started, k, season)
    soil(paddy & (season < 0))

    ins = paddy & (season >= 0) & (d <= length)
    # Green canopy: seedlings 0.03 -> 0.12 over 15 days, then up to 0.92 at 55 days.
    seedlings = 0.03 + 0.09 * d / 15.0
    green = np.where(d < 0, 0.0, np.where(d < 15, seedlings, 0.12 + 0.80 * smoothstep((d - 15) / 40.0)))
    sen = smoothstep((d - (length - 25)) / 25.0)
    # Standing water under the canopy: filled during puddling, drained 20 days before harvest.
    drained = 1 - (d - 45) / np.maximum(length - 65, 1)
    water = np.clip(np.where(d < -10, (d + PUDDLING_DAYS) / 4.0, np.where(d < 45, 1.0, drained)), 0.0, 1.0)
    add("crop_canopy", ins, green * (1 - sen))
    add("straw", ins, green * sen)
    add("turbid_water", ins, (1 - green) * water)
    add("wet_soil", ins, (1 - green) * (1 - water))

    # After harvest: stubble, or char from burning that fades over 20-60 days.
    post = paddy & (season >= 0) & (d > length)
    since = day - f["burn_day"]
    burnt = (f["burn_day"] > 0) & (season == 0) & (since >= 0)
    char = np.where(burnt, 0.9 * np.clip((60 - since) / 40.0, 0, 1), 0.0)
    add("char", post, char)
    add("straw", post, 0.45 * (1 - char))
    add("dry_soil", post, 0.55 * (1 - char))


def _mix_endmembers(table: np.ndarray, frac: np.ndarray) -> np.ndarray:
    """``(channels, rows, cols)`` = sum over k of table[k] * frac[k], in a fixed order.

    An explicit loop rather than einsum/BLAS, whose summation order may depend on the
    array shape and so on the chunking.
    """
    out = np.zeros((table.shape[1], *frac.shape[1:]), dtype=np.float64)
    for k in range(table.shape[0]):
        out += table[k][:, None, None] * frac[k]
    return out


def _block_location(block_info: dict[Any, Any] | None) -> tuple[tuple[int, int], slice, slice]:
    (_, _), (t0, t1), (r0, r1), (c0, c1) = block_info[None]["array-location"]  # type: ignore[index]
    return (t0, t1), slice(r0, r1), slice(c0, c1)


def _s2_block(spec: SceneSpec, block_info: dict[Any, Any] | None = None) -> np.ndarray:
    """(B + 1, t, rows, cols) float32: the bands, then SCL as float (split by the caller)."""
    (t0, t1), rows, cols = _block_location(block_info)
    f = scene_fields(spec, rows, cols)
    nb = len(S2_BANDS)
    out = np.empty((nb + 1, t1 - t0, rows.stop - rows.start, cols.stop - cols.start), dtype=np.float32)
    rr = np.arange(rows.start, rows.stop)
    cc = np.arange(cols.start, cols.stop)
    q = cloud_threshold(spec.cloud_fraction, spec.cloud_scale)
    q_core = cloud_threshold(0.6 * spec.cloud_fraction, spec.cloud_scale)
    # Shadows fall to the north-west: the cloud that shades a pixel lies south-east of it.
    dy = dx = max(2, spec.cloud_scale // 3)
    for i, date in enumerate(spec.dates[t0:t1]):
        if date in spec.missing_dates:
            out[:, i] = np.nan
            out[nb, i] = 0
            continue
        day = spec.day_number(date)
        ordinal = day + 1_000_000  # unique per date, whatever the scene's first year
        frac = _fractions(spec, f, day)
        refl = _mix_endmembers(_REFL, frac) * f["brightness"]
        if spec.noise:
            hpix = hash_keys(spec.seed, STREAM_S2_NOISE, ordinal, rr[:, None], cc[None, :])
            for b in range(nb):
                u1, u2 = uniform_pair(hash_keys(hpix, b))
                normal = np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2)
                refl[b] += normal * (0.003 + 0.015 * refl[b])
        water = frac[_K["clear_water"]] + frac[_K["turbid_water"]]
        veg = frac[_K["crop_canopy"]] + frac[_K["forest"]]
        scl = np.where(water >= 0.5, 6, np.where(veg >= 0.35, 4, 5)).astype(np.float32)

        cn = cloud_noise(spec.seed, ordinal, rr, cc, spec.cloud_scale)
        cloud = cn < q
        shade = (cloud_noise(spec.seed, ordinal, rr + dy, cc + dx, spec.cloud_scale) < q) & ~cloud
        refl[:, shade] *= 0.35
        scl[shade] = 3
        # Opacity 0.7 at the blob edge to 1 in the core keeps blue > 0.3 over any surface.
        alpha = 0.7 + 0.3 * np.clip((q - cn) / max(q - q_core, 1e-6), 0.0, 1.0)
        cloud_refl = np.asarray(CLOUD_SPECTRUM)[:, None]
        refl[:, cloud] = alpha[cloud] * cloud_refl + (1 - alpha[cloud]) * refl[:, cloud]
        scl[cloud] = np.where(cn[cloud] < q_core, 9, 8)
        refl = np.clip(refl, 1e-4, 1.0)
        if spec.mask_clouds:
            refl[:, cloud] = np.nan
        out[:nb, i] = refl
        out[nb, i] = scl
    return out


def _s1_block(spec: SceneSpec, block_info: dict[Any, Any] | None = None) -> np.ndarray:
    """(2, t, rows, cols) float32 linear power: VV, then VH."""
    (t0, t1), rows, cols = _block_location(block_info)
    f = scene_fields(spec, rows, cols)
    out = np.empty((2, t1 - t0, rows.stop - rows.start, cols.stop - cols.start), dtype=np.float32)
    rr = np.arange(rows.start, rows.stop)[:, None]
    cc = np.arange(cols.start, cols.stop)[None, :]
    gain = 10.0 ** (f["sar_offset_db"] / 10.0)
    for i, date in enumerate(spec.sar_dates[t0:t1]):
        if date in spec.missing_dates:
            out[:, i] = np.nan
            continue
        day = spec.day_number(date)
        frac = _fractions(spec, f, day)
        power = _mix_endmembers(_SIGMA, frac) * gain  # (VH, VV), mixed in linear power
        for p, pol in enumerate((1, 0)):  # output order VV, VH
            value = power[pol]
            if spec.noise:
                # Gamma(L, 1/L) speckle as the mean of L unit exponentials (L = looks).
                hpix = hash_keys(spec.seed, STREAM_SPECKLE, day + 1_000_000, pol, rr, cc)
                total = np.zeros_like(value)
                for j in range((spec.looks + 1) // 2):
                    u1, u2 = uniform_pair(hash_keys(hpix, j))
                    total -= np.log(u1)
                    if 2 * j + 1 < spec.looks:
                        total -= np.log(u2)
                value = value * total / spec.looks
            out[p, i] = value
    return out


def _stack(
    spec: SceneSpec, func: Any, names: Iterable[str], dates: tuple[str, ...], tag: str
) -> dict[str, xr.DataArray]:
    names = list(names)
    ych, xch = spec.spatial_chunks()
    tch = da.core.normalize_chunks((spec.time_chunk,), (len(dates),))[0]
    arr = da.map_blocks(
        func,
        spec,
        chunks=((len(names),), tch, ych, xch),
        dtype=np.float32,
        meta=np.empty((0, 0, 0, 0), dtype=np.float32),
        name=f"synthetic-{tag}-{da.core.tokenize(spec)}",
    )
    times = np.array([np.datetime64(d, "ns") for d in dates])
    gbox = spec.geobox
    out = {}
    for i, name in enumerate(names):
        xarr = xr.DataArray(arr[i], dims=("time", "y", "x"), coords={"time": times}, name=name)
        out[name] = attach_geobox(xarr, gbox)
    return out


def make_s2_stack(spec: SceneSpec) -> xr.Dataset:
    """A lazy Sentinel-2 L2A-like stack of the scene.

    Parameters
    ----------
    spec : SceneSpec

    Returns
    -------
    xarray.Dataset
        ``(time, y, x)``: float32 reflectance 0-1 for :data:`S2_BANDS` (NaN only on missing
        dates, or under clouds with ``mask_clouds=True``) and ``scl`` uint8 (0 nodata,
        3 shadow, 4 vegetation, 5 bare, 6 water, 8/9 cloud). Dask-backed, chunks
        ``(time_chunk, chunk, chunk)``; nothing is computed.

    Examples
    --------
    >>> s2 = make_s2_stack(SceneSpec(shape=(32, 32)))
    >>> s2.nir.dtype.name, s2.scl.dtype.name, s2.sizes["time"]
    ('float32', 'uint8', 12)
    """
    names = [*S2_BANDS, "scl"]
    arrays = _stack(spec, _s2_block, names, tuple(spec.dates), "s2")
    arrays["scl"] = arrays["scl"].astype(np.uint8)
    ds = xr.Dataset(arrays)
    for b in S2_BANDS:
        ds[b].attrs.update(units="1", long_name=f"surface reflectance ({b})")
    ds.scl.attrs.update(long_name="Sen2Cor scene classification", nodata=0)
    ds.attrs.update(platform="sentinel-2 (synthetic)", seed=spec.seed)
    return ds


def make_s1_stack(spec: SceneSpec) -> xr.Dataset:
    """A lazy Sentinel-1 GRD-like stack: ``vv`` and ``vh`` float32 in linear power.

    Parameters
    ----------
    spec : SceneSpec
        Dates come from ``spec.s1_dates`` (default: ``spec.dates``).

    Returns
    -------
    xarray.Dataset
        ``(time, y, x)`` ``vv``, ``vh``: linear power, > 0 everywhere except NaN on missing dates.
    """
    ds = xr.Dataset(_stack(spec, _s1_block, ("vv", "vh"), spec.sar_dates, "s1"))
    for v in ("vv", "vh"):
        ds[v].attrs.update(units="1", long_name=f"backscatter {v.upper()} (linear power)")
    ds.attrs.update(platform="sentinel-1 (synthetic)", seed=spec.seed)
    return ds


def _encode(
    values: np.ndarray, dtype: np.dtype[Any], scale: float, offset: float, nodata: float
) -> np.ndarray:
    """Physical values to stored numbers; NaN becomes ``nodata``, valid values never do."""
    valid = np.isfinite(values)
    scaled = (values - offset) / scale
    if np.issubdtype(dtype, np.floating):
        return np.where(valid, scaled, np.nan).astype(dtype)
    info = np.iinfo(dtype)
    dn = np.clip(np.round(np.where(valid, scaled, 0)), info.min, info.max).astype(dtype)
    # A real value that rounds onto the nodata code is nudged one step inwards.
    collide = valid & (dn == nodata)
    dn[collide] = nodata + 1 if nodata < info.max else nodata - 1
    dn[~valid] = nodata
    return dn


def write_stack_geotiffs(
    ds: xr.Dataset,
    directory: str | os.PathLike[str],
    *,
    dtype: str = "uint16",
    scale: float = 1e-4,
    offset: float = 0.0,
    nodata: float = 0,
    blocksize: int = 512,
    compress: str = "deflate",
) -> dict[str, dict[str, str]]:
    """Write every date and band of a stack to a tiled, compressed single-band GeoTIFF.

    Float variables are stored as ``(value - offset) / scale`` in ``dtype`` (L2A-like uint16
    DN with 0 = nodata by default; NaN becomes ``nodata``); for a floating ``dtype`` NaN is
    written as NaN (use ``dtype="float32", scale=1.0`` for S1 linear power, which uint16 at
    1e-4 would quantise to a few levels). Integer variables (``scl``) keep their own dtype,
    unscaled, nodata 0.
    The stack is computed one ``blocksize`` window of one date at a time (all bands of the
    window together), so memory stays bounded by the window. Files appear atomically.

    Parameters
    ----------
    ds : xarray.Dataset
        ``(time, y, x)`` variables with a GeoBox in the coordinates.
    directory : path
        Created if needed; files are named ``{YYYY-MM-DD}_{band}.tif``.
    dtype, scale, offset, nodata : str, float, float, float
        Encoding of float variables, also written as the band's GDAL scale/offset.
    blocksize : int
        Tile edge (a multiple of 16) and the size of the computed windows.
    compress : str
        GDAL compression (``deflate``, ``lzw``, ``zstd``...).

    Returns
    -------
    dict
        ``{date: {band: path}}``; the same map, with the encoding, is written to
        ``directory/stack.json``.
    """
    import rasterio
    from rasterio.windows import Window

    if not {"time", "y", "x"} <= set(ds.dims):
        raise ValueError(f"ds must have dims (time, y, x), got {tuple(ds.dims)}.")
    if blocksize % 16:
        raise ValueError(f"blocksize must be a multiple of 16 for tiled GeoTIFFs, got {blocksize}.")
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    gbox = ds.odc.geobox
    height, width = gbox.shape
    out_dtype = np.dtype(dtype)
    band_map: dict[str, dict[str, str]] = {}
    for ti in range(ds.sizes["time"]):
        date = str(np.datetime_as_string(ds.time.values[ti], unit="D"))
        layer = ds.isel(time=ti)
        dsts, final = {}, {}
        for name, var in layer.data_vars.items():
            is_float = np.issubdtype(var.dtype, np.floating)
            file_dtype = out_dtype if is_float else var.dtype
            file_nodata: float = 0
            if is_float:
                file_nodata = float("nan") if np.issubdtype(file_dtype, np.floating) else nodata
            final[name] = out_dir / f"{date}_{name}.tif"
            dsts[name] = rasterio.open(
                final[name].with_suffix(".tif.part"), "w", driver="GTiff", width=width, height=height,
                count=1, dtype=file_dtype, crs=gbox.crs.to_wkt(), transform=gbox.affine, nodata=file_nodata,
                tiled=True, blockxsize=blocksize, blockysize=blocksize, compress=compress,
                predictor=3 if np.issubdtype(file_dtype, np.floating) else 2,
            )
            if is_float:
                dsts[name].scales, dsts[name].offsets = (scale,), (offset,)
            dsts[name].set_band_description(1, str(name))
            dsts[name].update_tags(date=date)
        try:
            for r0 in range(0, height, blocksize):
                for c0 in range(0, width, blocksize):
                    win = layer.isel(y=slice(r0, r0 + blocksize), x=slice(c0, c0 + blocksize))
                    names = list(win.data_vars)
                    blocks = dask.compute(*[win[n].data for n in names])
                    for name, block in zip(names, blocks, strict=True):
                        dst = dsts[name]
                        data = np.asarray(block)
                        if np.issubdtype(data.dtype, np.floating):
                            data = _encode(data, np.dtype(dst.dtypes[0]), scale, offset, nodata)
                        dst.write(data, 1, window=Window(c0, r0, data.shape[1], data.shape[0]))
        finally:
            for dst in dsts.values():
                dst.close()
        for name, path in final.items():
            os.replace(path.with_suffix(".tif.part"), path)
        band_map[date] = {str(name): str(path) for name, path in final.items()}
    manifest = {"dtype": dtype, "scale": scale, "offset": offset, "nodata": nodata, "bands": band_map}
    (out_dir / "stack.json").write_text(json.dumps(manifest, indent=2))
    return band_map

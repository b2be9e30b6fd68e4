"""Scene parameters, counter-based randomness and the known truth of a synthetic scene.

The public entry points live in :mod:`agromap.synthetic`; this module holds the parts the
optical and SAR simulators share: :class:`SceneSpec`, the per-pixel landscape
(:func:`scene_fields`) and :func:`make_truth`.

Every random number is a hash of ``(seed, stream, ..., row, col)`` on the *global* pixel
index (splitmix64 finaliser), never a draw from a stateful generator. A pixel therefore gets
the same value whatever chunk it falls in, and any window can be generated on its own.
"""

from __future__ import annotations

import datetime as _dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
from odc.geo.geobox import GeoBox

from .errors import ConfigError
from .io.grid import attach_geobox, north_up_geobox

__all__ = [
    "OTHER",
    "PADDY",
    "WATER",
    "FOREST",
    "URBAN",
    "LANDCOVER_NAMES",
    "DEFAULT_DATES",
    "SceneSpec",
    "scene_fields",
    "make_truth",
    "STREAM_S2_NOISE",
    "STREAM_SPECKLE",
]

OTHER, PADDY, WATER, FOREST, URBAN = 0, 1, 2, 3, 4
LANDCOVER_NAMES = {OTHER: "other crop/bare", PADDY: "paddy rice", WATER: "permanent water",
                   FOREST: "forest", URBAN: "urban"}

#: Kharif 2023, every 15 days from 1 June to 13 November (12 dates).
DEFAULT_DATES: tuple[str, ...] = tuple(
    (_dt.date(2023, 6, 1) + _dt.timedelta(days=15 * i)).isoformat() for i in range(12)
)

#: Days from the start of puddling to transplanting: the paddy is flooded in between.
PUDDLING_DAYS = 14

# Hash streams: one constant per independent random quantity.
_S_SPLIT, _S_FIELD, _S_PATCH, _S_RIVER, _S_FLOODNOISE, _S_CLOUD = 1, 2, 3, 4, 5, 6
#: Hash stream of the optical pixel noise that :mod:`agromap.synthetic` adds to the reflectances.
STREAM_S2_NOISE = 7
#: Hash stream of the radar speckle that :mod:`agromap.synthetic` multiplies into the backscatter.
STREAM_SPECKLE = 8
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: Any) -> np.ndarray:
    """splitmix64 finaliser: a bijective, well-scrambled map of uint64 (wraps on purpose)."""
    x = np.asarray(x, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def hash_keys(*keys: Any) -> np.ndarray:
    """Hash integer keys (scalars or broadcastable arrays, negatives allowed) to uint64."""
    h: Any = np.uint64(0)
    for k in keys:
        ku = np.asarray(k, dtype=np.int64).astype(np.uint64)  # two's complement wrap for negatives
        with np.errstate(over="ignore"):
            h = _mix(h ^ _mix(ku + _GOLDEN))
    return np.asarray(h)


def uniform(h: np.ndarray, salt: int = 0) -> np.ndarray:
    """float64 in [0, 1) from a hash; ``salt`` derives further independent values from one hash."""
    if salt:
        h = _mix(h ^ np.uint64(salt))
    return (h >> np.uint64(11)).astype(np.float64) * 2.0**-53


def smoothstep(x: Any) -> np.ndarray:
    """Cubic ramp from 0 (x <= 0) to 1 (x >= 1) with zero slope at both ends: the scenes' growth
    and recession curves, which real canopies follow rather than straight lines.
    """
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def uniform_pair(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two float64 in (0, 1) from the two 32-bit halves of one hash (never 0 nor 1)."""
    lo = (h & np.uint64(0xFFFFFFFF)).astype(np.float64)
    hi = (h >> np.uint64(32)).astype(np.float64)
    return (lo + 0.5) * 2.0**-32, (hi + 0.5) * 2.0**-32


def value_noise(
    keys: tuple[int, ...], rows: np.ndarray, cols: np.ndarray, scale: int, *, pointwise: bool = False
) -> np.ndarray:
    """Smooth noise in [0, 1] on a lattice of ``scale`` px, smoothstep-interpolated.

    Returns ``(rows, cols)`` values on the grid of 1-D ``rows`` x ``cols``, or, with
    ``pointwise``, one value per (row, col) pair.
    """
    iy, ix = np.floor_divide(rows, scale), np.floor_divide(cols, scale)
    fy, fx = (rows - iy * scale + 0.5) / scale, (cols - ix * scale + 0.5) / scale
    sy, sx = fy * fy * (3 - 2 * fy), fx * fx * (3 - 2 * fx)
    if pointwise:
        def corner(a: int, b: int) -> np.ndarray:
            return uniform(hash_keys(*keys, iy + a, ix + b))

        top = corner(0, 0) * (1 - sx) + corner(0, 1) * sx
        return top * (1 - sy) + (corner(1, 0) * (1 - sx) + corner(1, 1) * sx) * sy
    # On a grid, hash each lattice node once and gather the four corners from it.
    ly = np.arange(iy.min(), iy.max() + 2)
    lx = np.arange(ix.min(), ix.max() + 2)
    lat = uniform(hash_keys(*keys, ly[:, None], lx[None, :]))
    jy, jx = (iy - ly[0])[:, None], (ix - lx[0])[None, :]
    top = lat[jy, jx] * (1 - sx) + lat[jy, jx + 1] * sx
    bottom = lat[jy + 1, jx] * (1 - sx) + lat[jy + 1, jx + 1] * sx
    return top * (1 - sy)[:, None] + bottom * sy[:, None]


def cloud_noise(
    seed: int, ordinal: int, rows: np.ndarray, cols: np.ndarray, scale: int, *, pointwise: bool = False
) -> np.ndarray:
    """Two-octave value noise for one date's clouds (blobs of about ``scale`` px)."""
    coarse = value_noise((seed, _S_CLOUD, ordinal, 0), rows, cols, scale, pointwise=pointwise)
    fine = value_noise((seed, _S_CLOUD, ordinal, 1), rows, cols, max(2, scale // 4), pointwise=pointwise)
    return 0.7 * coarse + 0.3 * fine


@functools.lru_cache(maxsize=64)
def cloud_threshold(fraction: float, scale: int) -> float:
    """The level below which :func:`cloud_noise` covers ``fraction`` of the pixels.

    The noise is stationary, so its marginal quantile is measured once, on pixels spread
    at random points over 10^6 lattice cells (a few cells would bias it by their own draw).
    """
    if fraction <= 0.0:
        return -1.0
    if fraction >= 1.0:
        return 2.0
    rng = np.random.default_rng(12345)
    pos = rng.integers(0, 1000 * scale, size=(2, 400_000))
    sample = cloud_noise(12345, 0, pos[0], pos[1], scale, pointwise=True)
    return float(np.quantile(sample, fraction))


def _parse_date(value: Any) -> _dt.date:
    try:
        return _dt.date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise ConfigError(f"date {value!r} is not an ISO date; write it as 'YYYY-MM-DD'.") from exc


@dataclass(frozen=True)
class SceneSpec:
    """Parameters of a synthetic scene; everything the generators produce derives from it."""

    shape: tuple[int, int] = (256, 256)
    """(rows, cols) in pixels."""
    dates: Sequence[str] = DEFAULT_DATES
    """Sentinel-2 acquisition dates (ISO), ascending; day numbers count from 1 Jan of the first."""
    crs: str = "EPSG:32644"
    res: float = 10.0
    origin: tuple[float, float] = (500_000.0, 2_900_000.0)
    """Top-left corner (x, y) in ``crs`` (default: the Ganges plain, Uttar Pradesh)."""
    chunk: int = 256
    """Spatial dask chunk edge; values never depend on it."""
    time_chunk: int = 1
    """Dates per dask chunk (1, like per-file readers); values never depend on it."""
    seed: int = 0
    paddy_fraction: float = 0.45
    forest_fraction: float = 0.10
    urban_fraction: float = 0.05
    permanent_water_fraction: float = 0.05
    """Expected area fractions of ponds/tanks (plus a thin river), paddy, forest and urban."""
    n_seasons: int = 1
    """Maximum rice seasons per year (1-3); each paddy field draws 1..n_seasons."""
    transplant_window: tuple[int, int] = (160, 185)
    """Day-of-year range of the first season's transplanting (kharif: 9 Jun - 4 Jul)."""
    field_size: int = 16
    """Parcel edge in pixels; each parcel is split into two rectangular fields."""
    cloud_fraction: float = 0.2
    """Expected fraction of S2 pixel-dates flagged cloud (SCL 8/9)."""
    cloud_scale: int = 48
    """Size of cloud blobs in pixels."""
    mask_clouds: bool = False
    """False: cloudy pixels keep bright cloud reflectance (mask by SCL); True: NaN."""
    include_flood_event: bool = True
    flood_fraction: float = 0.15
    """Expected fraction of the scene inside the flood band (floods only cropland and paddy)."""
    flood_dates: Sequence[str] | None = None
    """Dates (first..last, inclusive) of the flood event; default: two mid-season dates."""
    include_burn_scar: bool = True
    burn_fraction: float = 0.5
    """Share of single-season paddy fields whose stubble is burned after harvest."""
    looks: int = 5
    """Equivalent number of looks of the S1 speckle (gamma distributed, mean 1)."""
    s1_dates: Sequence[str] | None = None
    """Sentinel-1 dates; default: the same as ``dates``."""
    missing_dates: Sequence[str] = ()
    """Dates kept on the time axis but delivered entirely as nodata (SCL 0, NaN) in both stacks."""
    noise: bool = True
    """False removes reflectance noise and speckle (for exact checks)."""

    def __post_init__(self) -> None:
        for name in ("dates", "missing_dates"):
            object.__setattr__(self, name, tuple(_parse_date(d).isoformat() for d in getattr(self, name)))
        for name in ("flood_dates", "s1_dates"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, tuple(_parse_date(d).isoformat() for d in value))
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
        self._validate()

    def _validate(self) -> None:
        if len(self.shape) != 2 or min(self.shape) < 1:
            raise ConfigError(f"shape must be (rows, cols) >= 1, got {self.shape}.")
        for name in ("dates", "s1_dates"):
            ds = getattr(self, name)
            if ds is not None and (not ds or list(ds) != sorted(set(ds))):
                raise ConfigError(f"{name} must be non-empty, ascending and unique, got {ds}.")
        fracs = (self.paddy_fraction, self.forest_fraction, self.urban_fraction,
                 self.permanent_water_fraction)
        if min(fracs) < 0 or sum(fracs) > 1:
            raise ConfigError(f"land-cover fractions must be >= 0 and sum to <= 1, got {fracs}.")
        for name in ("cloud_fraction", "flood_fraction", "burn_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be within [0, 1], got {getattr(self, name)}.")
        if self.n_seasons not in (1, 2, 3):
            raise ConfigError(f"n_seasons must be 1, 2 or 3, got {self.n_seasons}.")
        if self.chunk < 1 or self.time_chunk < 1 or self.field_size < 4 or self.cloud_scale < 2:
            raise ConfigError("chunk and time_chunk must be >= 1, field_size >= 4 and cloud_scale >= 2.")
        if self.looks < 1:
            raise ConfigError(f"looks must be >= 1, got {self.looks}.")
        lo, hi = self.transplant_window
        if not 1 <= lo <= hi <= 366:
            raise ConfigError(
                f"transplant_window must be (first, last) day of year, got {self.transplant_window}."
            )
        unknown = set(self.missing_dates) - set(self.dates) - set(self.s1_dates or ())
        if unknown:
            raise ConfigError(f"missing_dates {sorted(unknown)} are not among the scene dates.")

    # ---- derived quantities ----------------------------------------------------------
    @property
    def year0(self) -> _dt.date:
        """1 January of the first date's year: day number 1."""
        return _dt.date(_parse_date(self.dates[0]).year, 1, 1)

    def day_number(self, date: str) -> int:
        """Days since 31 Dec before :attr:`year0` (equals day-of-year within the first year)."""
        return (_parse_date(date) - self.year0).days + 1

    @property
    def sar_dates(self) -> tuple[str, ...]:
        """Sentinel-1 dates: ``s1_dates`` when given, else the optical ``dates``."""
        return tuple(self.s1_dates) if self.s1_dates is not None else tuple(self.dates)

    @property
    def event_dates(self) -> tuple[str, ...]:
        """The flood event dates (empty when ``include_flood_event`` is False)."""
        if not self.include_flood_event:
            return ()
        if self.flood_dates is not None:
            return tuple(self.flood_dates)
        i = min(round(0.55 * (len(self.dates) - 1)), len(self.dates) - 1)
        return tuple(self.dates[i : i + 2])

    def in_event(self, day: int) -> bool:
        """True when day number ``day`` falls within the flood event's dates."""
        ev = [self.day_number(d) for d in self.event_dates]
        return bool(ev) and min(ev) <= day <= max(ev)

    @property
    def geobox(self) -> GeoBox:
        """The scene's grid."""
        return north_up_geobox(self.shape, self.crs, self.res, self.origin)

    def spatial_chunks(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Dask chunks along ``y`` and ``x``."""
        chunks = da.core.normalize_chunks((self.chunk, self.chunk), self.shape)
        return chunks[0], chunks[1]


def _field_keys(spec: SceneSpec, rr: np.ndarray, cc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Field hash per pixel (parcels of ``field_size`` split once) and patch uniform (4 parcels)."""
    f = spec.field_size
    br, bc = rr // f, cc // f
    hs = hash_keys(spec.seed, _S_SPLIT, br, bc)
    pos = f // 4 + (hs >> np.uint64(1)) % np.uint64(f // 2)
    along_rows = (hs & np.uint64(1)) == 0
    side = np.where(along_rows, (rr % f) >= pos, (cc % f) >= pos)
    fid = hash_keys(spec.seed, _S_FIELD, br, bc, side)
    patch = uniform(hash_keys(spec.seed, _S_PATCH, rr // (4 * f), cc // (4 * f)))
    return fid, patch


def _river_distance(spec: SceneSpec, rr: np.ndarray, cc: np.ndarray) -> np.ndarray:
    """Row distance to a sinuous river centre line crossing the scene west to east."""
    h, w = spec.shape
    u = uniform(hash_keys(spec.seed, _S_RIVER), 1), uniform(hash_keys(spec.seed, _S_RIVER), 2)
    period = max(h, w, 64) * (0.8 + 0.4 * float(u[0]))
    centre = h * (0.5 + 0.18 * np.sin(2 * np.pi * cc / period + 2 * np.pi * float(u[1])))
    return np.abs(rr + 0.5 - centre)


def scene_fields(spec: SceneSpec, rows: slice, cols: slice) -> dict[str, np.ndarray]:
    """The landscape in one window: land cover, per-field calendar and appearance, flood, burn.

    Parameters
    ----------
    spec : SceneSpec
    rows, cols : slice
        Global pixel window (``start:stop``).

    Returns
    -------
    dict of numpy.ndarray
        ``(n_rows, n_cols)`` arrays: ``landcover``, ``field_id``, ``crop`` (class-0 field is a
        dryland crop rather than bare), ``n_seasons``, ``transplant`` ``(k, ...)`` and
        ``season_len`` ``(k, ...)`` in day numbers, ``sow``/``crop_len`` for dryland crops,
        ``burn_day`` (0 = none), ``burned`` (bool truth), ``flood`` (bool truth),
        ``brightness`` (optical gain) and ``sar_offset_db``.
    """
    rr = np.arange(rows.start, rows.stop, dtype=np.int64)[:, None]
    cc = np.arange(cols.start, cols.stop, dtype=np.int64)[None, :]
    fid, patch = _field_keys(spec, rr, cc)
    rr, cc = np.broadcast_arrays(rr, cc)

    def u(k: int) -> np.ndarray:
        return uniform(fid, k + 1)

    # Forest and settlements come in patches of 4x4 parcels; ponds and paddy per field.
    ff, fu = spec.forest_fraction, spec.urban_fraction
    share = max(1.0 - ff - fu, 1e-9)
    lc = np.full(rr.shape, OTHER, dtype=np.uint8)
    crop_patch = patch >= ff + fu
    uc = u(0)
    pond_cut = spec.permanent_water_fraction / share
    lc[crop_patch & (uc < pond_cut)] = WATER
    lc[crop_patch & (uc >= pond_cut) & (uc < pond_cut + spec.paddy_fraction / share)] = PADDY
    lc[patch < ff] = FOREST
    lc[(patch >= ff) & (patch < ff + fu)] = URBAN
    dist = _river_distance(spec, rr, cc)
    if spec.permanent_water_fraction > 0:
        lc[dist < max(1.0, 0.004 * spec.shape[0])] = WATER

    paddy = lc == PADDY
    n = np.where(paddy, 1 + np.floor(u(1) * spec.n_seasons), 0).astype(np.uint8)
    lo, hi = spec.transplant_window
    single = n == 1
    transplant = np.zeros((spec.n_seasons, *rr.shape), dtype=np.int64)
    season_len = np.zeros_like(transplant)
    t = lo + np.floor(u(2) * (hi - lo + 1))
    for k in range(spec.n_seasons):
        # Long-duration kharif varieties where rice is grown once, short ones in multi-cropping.
        length = np.where(single, 95 + np.floor(u(10 + k) * 21), 92 + np.floor(u(10 + k) * 14))
        transplant[k] = np.where(paddy & (k < n), t, 0)
        season_len[k] = np.where(paddy & (k < n), length, 0)
        t = t + length + 18 + np.floor(u(20 + k) * 8)  # harvest, fallow, puddle, transplant

    # Stubble burning is a single-crop (rice-wheat) practice: a few days after harvest.
    burn_day = transplant[0] + season_len[0] + 3 + np.floor(u(3) * 9)
    burns = spec.include_burn_scar & single & (u(4) < spec.burn_fraction)
    last_day = spec.day_number(spec.dates[-1])
    burned = burns & (burn_day < last_day) & (burn_day > spec.day_number(spec.dates[0]))
    burn_day = np.where(burns, burn_day, 0).astype(np.int64)

    # Flood band around the river, with a ragged edge; only cropland and paddy flood visibly.
    half = spec.flood_fraction * spec.shape[0] / 2
    ragged = 0.6 + 0.8 * value_noise((spec.seed, _S_FLOODNOISE), rr[:, 0], cc[0], 32)
    flood = (dist < half * ragged) & ((lc == OTHER) | paddy) & bool(spec.event_dates)

    other = lc == OTHER
    return {
        "landcover": lc,
        "field_id": (fid & np.uint64(0xFFFFFFFF)).astype(np.uint32),
        "crop": other & (u(5) < 0.65),
        "n_seasons": n,
        "transplant": transplant,
        "season_len": season_len,
        "sow": (165 + np.floor(u(6) * 36)).astype(np.int64),
        "crop_len": (110 + np.floor(u(7) * 21)).astype(np.int64),
        "burn_day": burn_day,
        "burned": burned,
        "flood": flood,
        "brightness": 1.0 + 0.12 * (u(8) - 0.5),
        "sar_offset_db": 1.5 * (u(9) - 0.5),
    }


def _doy(spec: SceneSpec, day: np.ndarray) -> np.ndarray:
    """Day numbers to calendar day-of-year (0 stays 0 = none)."""
    base = np.datetime64(spec.year0.isoformat(), "D")
    dates = base + (np.maximum(day, 1) - 1).astype("timedelta64[D]")
    doy = (dates - dates.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64) + 1
    return np.where(day > 0, doy, 0).astype(np.uint16)


def _truth_names(spec: SceneSpec) -> list[tuple[str, Any]]:
    names: list[tuple[str, Any]] = [("landcover", np.uint8), ("n_seasons", np.uint8)]
    names += [(f"transplant_doy_{k + 1}", np.uint16) for k in range(spec.n_seasons)]
    names += [("flood", np.bool_), ("burn", np.bool_), ("burn_doy", np.uint16), ("field_id", np.uint32)]
    return names


def _truth_block(spec: SceneSpec, block_info: dict[Any, Any] | None = None) -> np.ndarray:
    (_, _), (r0, r1), (c0, c1) = block_info[None]["array-location"]  # type: ignore[index]
    f = scene_fields(spec, slice(r0, r1), slice(c0, c1))
    layers = [f["landcover"], f["n_seasons"]]
    layers += [_doy(spec, f["transplant"][k]) for k in range(spec.n_seasons)]
    layers += [f["flood"], f["burned"], _doy(spec, np.where(f["burned"], f["burn_day"], 0)), f["field_id"]]
    return np.stack([np.asarray(a).astype(np.uint32) for a in layers])


def make_truth(spec: SceneSpec) -> xr.Dataset:
    """The known truth of a scene, lazily, on the scene's grid.

    Parameters
    ----------
    spec : SceneSpec

    Returns
    -------
    xarray.Dataset
        ``(y, x)`` variables: ``landcover`` uint8 (0 other crop/bare, 1 paddy, 2 permanent
        water, 3 forest, 4 urban), ``n_seasons`` uint8, ``transplant_doy_1..k`` uint16 (0 =
        none), ``flood`` bool (event extent, never permanent water), ``burn`` bool (paddy
        stubble burned within the scene's dates), ``burn_doy`` uint16 and ``field_id`` uint32.
        ``attrs["flood_dates"]`` lists the event dates.

    Examples
    --------
    >>> truth = make_truth(SceneSpec(shape=(32, 32)))
    >>> truth.landcover.dtype.name, truth.landcover.dims
    ('uint8', ('y', 'x'))
    """
    names = _truth_names(spec)
    ych, xch = spec.spatial_chunks()
    stacked = da.map_blocks(
        _truth_block,
        spec,
        chunks=((len(names),), ych, xch),
        dtype=np.uint32,
        meta=np.empty((0, 0, 0), dtype=np.uint32),
        name=f"synthetic-truth-{da.core.tokenize(spec)}",
    )
    gbox = spec.geobox
    data_vars = {}
    for i, (name, dtype) in enumerate(names):
        arr = xr.DataArray(stacked[i].astype(dtype), dims=("y", "x"), name=name)
        data_vars[name] = attach_geobox(arr, gbox)
    ds = xr.Dataset(data_vars)
    ds.landcover.attrs["flag_values"] = list(LANDCOVER_NAMES)
    ds.landcover.attrs["flag_meanings"] = " ".join(v.replace(" ", "_").replace("/", "_or_")
                                                   for v in LANDCOVER_NAMES.values())
    ds.attrs["flood_dates"] = list(spec.event_dates)
    return ds

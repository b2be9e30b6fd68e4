"""Ground-station measurements (CSV) and their collocation with satellite pixels.

A station table has one row per measurement: ``station_id, lon, lat, time, pollutant, value, unit``
(lon/lat in degrees WGS84; ``time`` ISO 8601, naive = UTC). The CSV file is read by
:func:`agromap.io.stations_read.read_station_csv`; :func:`read_stations` validates the table once: missing columns, unknown pollutants, units that are not a mass concentration
(ppb needs temperature and pressure, so it is refused with the conversion to use), bad
coordinates and stations that move. Values are converted to the pollutant's canonical unit
(µg m-3; CO in mg m-3, as CPCB reports it).

:func:`collocate` pairs each station-day (the daily mean of the station's records, since the
satellite grid is daily) with the pixel holding the station on the same date. Stations outside
the grid are an error that lists them; the pixel values stay lazy until the fit needs them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import CollocationError, StationsOutsideGridError, StationTableError, WrongUnitsError
from ..io.grid import crs_of, geobox_of, require_same_grid
from ..io.stations_read import read_station_csv
from ..units import normalise_unit

__all__ = [
    "REQUIRED_COLUMNS", "POLLUTANT_UNITS", "normalise_unit", "read_stations", "station_pixels", "collocate",
]  # fmt: skip

REQUIRED_COLUMNS: tuple[str, ...] = ("station_id", "lon", "lat", "time", "pollutant", "value", "unit")

_UG = {"ug m-3": 1.0, "mg m-3": 1000.0}
#: pollutant -> (canonical unit, {accepted normalised unit: factor to canonical}).
POLLUTANT_UNITS: Mapping[str, tuple[str, Mapping[str, float]]] = {
    "pm25": ("µg m-3", _UG), "pm10": ("µg m-3", _UG), "no2": ("µg m-3", _UG), "so2": ("µg m-3", _UG),
    "o3": ("µg m-3", _UG), "nh3": ("µg m-3", _UG), "pb": ("µg m-3", _UG),
    "co": ("mg m-3", {"mg m-3": 1.0, "ug m-3": 1e-3}),
}  # fmt: skip
_ALIASES = {"pm2.5": "pm25", "pm2_5": "pm25", "pm 2.5": "pm25", "pm_25": "pm25", "ozone": "o3"}


def _head(items: Any, n: int = 8) -> str:
    items = list(items)
    more = f" ... and {len(items) - n} more" if len(items) > n else ""
    return ", ".join(str(i) for i in items[:n]) + more


def read_stations(source: str | os.PathLike[str] | pd.DataFrame) -> pd.DataFrame:
    """Read and validate a station CSV (or DataFrame); values in canonical units.

    Parameters
    ----------
    source : path or pandas.DataFrame
        A CSV file (read by :func:`~agromap.io.stations_read.read_station_csv`) or a table already
        in memory with the same columns.

    Returns
    -------
    pandas.DataFrame
        Columns ``station_id`` (str), ``lon``, ``lat`` (float64 degrees), ``time`` (datetime64[ns],
        UTC, naive), ``pollutant`` (``pm25``, ``no2``...), ``value`` (float64, canonical unit),
        ``unit`` (canonical). Rows with a missing value are dropped; sorted by station and time.

    Raises
    ------
    StationTableError
        Missing or unreadable file, missing columns, unknown pollutant, unparsable time, coordinates
        out of range, or a station whose coordinates change between rows.
    WrongUnitsError
        A unit that is not accepted for its pollutant (the message lists rows and accepted units).
    """
    name = "station table" if isinstance(source, pd.DataFrame) else os.fspath(source)
    df = source.copy() if isinstance(source, pd.DataFrame) else read_station_csv(source)
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise StationTableError(f"{name}: missing column(s) {missing}; a station table needs "
                                f"{list(REQUIRED_COLUMNS)} (has {list(df.columns)}).")
    df = df[list(REQUIRED_COLUMNS)].copy()
    df["station_id"] = df["station_id"].astype(str)
    pol = df["pollutant"].astype(str).str.strip().str.lower()
    df["pollutant"] = pol.map(lambda p: _ALIASES.get(p, p))
    unknown = sorted(set(df["pollutant"]) - set(POLLUTANT_UNITS))
    if unknown:
        raise StationTableError(f"{name}: unknown pollutant(s) {unknown}; known: {sorted(POLLUTANT_UNITS)}.")
    for c in ("lon", "lat", "value"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(np.float64)
    try:
        t = pd.to_datetime(df["time"], utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise StationTableError(f"{name}: column 'time' is not ISO 8601 ({exc}); write e.g. 2023-11-05T10:00.") from exc
    df["time"] = t.dt.tz_convert(None).astype("datetime64[ns]")
    bad_xy = df.index[~(df["lon"].between(-180, 180) & df["lat"].between(-90, 90))]
    if len(bad_xy):
        raise StationTableError(f"{name}: rows {_head(bad_xy)} have lon/lat outside -180..180 / -90..90 "
                                "(or empty); lon/lat are WGS84 degrees, lon first.")
    _convert_units(df, name)
    moving = df.groupby("station_id")[["lon", "lat"]].agg(lambda s: s.max() - s.min()).max(axis=1)
    moving = moving[moving > 1e-6]
    if len(moving):
        raise StationTableError(f"{name}: station(s) {_head(moving.index)} change coordinates between rows; "
                                "give each monitor one fixed lon/lat (or a distinct station_id).")
    df = df[np.isfinite(df["value"])]
    return df.sort_values(["station_id", "time"], kind="stable").reset_index(drop=True)


def _convert_units(df: pd.DataFrame, name: str) -> None:
    norm = df["unit"].astype(str).map(normalise_unit)
    factor = pd.Series(np.nan, index=df.index)
    for pol, (canon, accepted) in POLLUTANT_UNITS.items():
        rows = df["pollutant"] == pol
        factor[rows] = norm[rows].map(accepted).astype(np.float64)
    bad = df.index[factor.isna()]
    if len(bad):
        pairs = sorted({(p, u) for p, u in zip(df.loc[bad, "pollutant"], df.loc[bad, "unit"], strict=True)})
        hint = {p: POLLUTANT_UNITS[p][0] + " (or " + ", ".join(POLLUTANT_UNITS[p][1]) + ")" for p, _ in pairs}
        raise WrongUnitsError(
            f"{name}: {len(bad)} row(s) ({_head(bad)}) have units {_head(pairs)}; accepted: {hint}. Mixing ratios "
            "(ppb, ppm) need temperature and pressure: convert first, e.g. µg m-3 = ppb x M / 24.45 at 25 °C.")
    df["value"] = df["value"] * factor.to_numpy()
    df["unit"] = df["pollutant"].map(lambda p: POLLUTANT_UNITS[p][0])


def station_pixels(stations: pd.DataFrame, raster: xr.DataArray) -> pd.DataFrame:
    """Row and column of the pixel holding each station on ``raster``'s grid.

    Returns
    -------
    pandas.DataFrame
        One row per station: ``station_id``, ``lon``, ``lat``, ``row``, ``col`` (int64).

    Raises
    ------
    StationsOutsideGridError
        Listing every station that falls outside the grid, with its coordinates and the grid bounds.
    """
    from pyproj import Transformer

    gbox = geobox_of(raster)
    sites = stations.groupby("station_id", sort=True)[["lon", "lat"]].first().reset_index()
    tr = Transformer.from_crs("EPSG:4326", crs_of(gbox).to_wkt(), always_xy=True)
    x, y = tr.transform(sites["lon"].to_numpy(), sites["lat"].to_numpy())
    inv = ~gbox.affine
    col = np.floor(inv.a * x + inv.b * y + inv.c)
    row = np.floor(inv.d * x + inv.e * y + inv.f)
    ny, nx = gbox.shape
    out = ~((col >= 0) & (col < nx) & (row >= 0) & (row < ny)) | ~np.isfinite(col) | ~np.isfinite(row)
    if out.any():
        bad = sites[out]
        lst = [f"{s} ({lo:.4f}, {la:.4f})" for s, lo, la in zip(bad["station_id"], bad["lon"], bad["lat"], strict=True)]
        bb = gbox.extent.to_crs("EPSG:4326").boundingbox
        raise StationsOutsideGridError(
            f"{int(out.sum())} of {len(sites)} station(s) lie outside the grid (lon {bb.left:.4f}..{bb.right:.4f}, "
            f"lat {bb.bottom:.4f}..{bb.top:.4f}): {_head(lst, 20)}. Drop them from the table or enlarge the grid.")
    return sites.assign(row=row.astype(np.int64), col=col.astype(np.int64))


def collocate(stations: pd.DataFrame, rasters: xr.DataArray | Mapping[str, xr.DataArray], *,
              pollutant: str = "pm25", tz: str = "UTC") -> xr.Dataset:
    """Pair station-day means of ``pollutant`` with the pixel values of ``rasters`` on the same date.

    Parameters
    ----------
    stations : pandas.DataFrame
        From :func:`read_stations`.
    rasters : DataArray or mapping name -> DataArray
        ``(time, y, x)`` on one grid (e.g. ``{"aod": aod, "rh": rh}``); a single array is named by
        its ``name`` (default ``"aod"``). ``time`` is matched by UTC date.
    pollutant : str
        Which pollutant's rows to use.
    tz : str
        Time zone whose calendar day defines a station-day (``"Asia/Kolkata"`` for CPCB 24-h means);
        raster dates are taken as given.

    Returns
    -------
    xarray.Dataset
        Dim ``obs`` (one per station-day with a raster date): ``station_id``, ``time``, ``lon``, ``lat``,
        ``observed`` (float64 daily mean, canonical unit), ``n_records``, and one float32 variable per
        raster, lazy when the raster is (the fit computes it). Station-days with no raster date are
        left out.

    Raises
    ------
    StationsOutsideGridError, CollocationError
    """
    arrs = dict(rasters) if isinstance(rasters, Mapping) else {str(rasters.name or "aod"): rasters}
    first = next(iter(arrs.values()))
    require_same_grid(*arrs.values())
    for k, a in arrs.items():
        if "time" not in a.dims:
            raise CollocationError(f"raster {k!r} has no 'time' dimension; add one with "
                                   "arr.expand_dims(time=[date]) so station dates can be matched.")
    pol = _ALIASES.get(pollutant.lower(), pollutant.lower())
    sel = stations[stations["pollutant"] == pol]
    if sel.empty:
        have = sorted(set(stations["pollutant"]))
        raise CollocationError(f"no {pol} rows in the station table (pollutants: {have}).")
    pix = station_pixels(sel, first).set_index("station_id")
    local = sel["time"].dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None)
    daily = (sel.assign(day=local.dt.floor("D").astype("datetime64[ns]")).groupby(["station_id", "day"], sort=True)
             .agg(observed=("value", "mean"), n_records=("value", "size")).reset_index())
    rdays = pd.DatetimeIndex(first["time"].values).floor("D")
    tindex = pd.Series(np.arange(len(rdays)), index=rdays)
    tindex = tindex[~tindex.index.duplicated()]
    daily = daily[daily["day"].isin(tindex.index)]
    if daily.empty:
        raise CollocationError(
            f"no {pol} station-day matches a raster date: stations {sel['time'].min():%Y-%m-%d}.."
            f"{sel['time'].max():%Y-%m-%d}, raster {rdays.min():%Y-%m-%d}..{rdays.max():%Y-%m-%d}.")
    ti = xr.DataArray(tindex[daily["day"]].to_numpy(), dims="obs")
    yi = xr.DataArray(pix.loc[daily["station_id"], "row"].to_numpy(), dims="obs")
    xi = xr.DataArray(pix.loc[daily["station_id"], "col"].to_numpy(), dims="obs")
    data: dict[str, Any] = {
        "station_id": ("obs", daily["station_id"].to_numpy().astype(str)),
        "time": ("obs", daily["day"].to_numpy()),
        "lon": ("obs", pix.loc[daily["station_id"], "lon"].to_numpy()),
        "lat": ("obs", pix.loc[daily["station_id"], "lat"].to_numpy()),
        "observed": ("obs", daily["observed"].to_numpy(np.float64)),
        "n_records": ("obs", daily["n_records"].to_numpy(np.int64)),
    }
    for k, a in arrs.items():
        data[k] = a.isel(time=ti, y=yi, x=xi).variable  # lazy vectorised pick, dims ("obs",)
    unit = POLLUTANT_UNITS[pol][0]
    return xr.Dataset(data, attrs={"pollutant": pol, "units": unit, "matching": f"station daily mean by {tz} date"})

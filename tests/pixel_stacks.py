"""Pixel series built by hand for the rule and label tests: one row of pixels as Sentinel-1 and
Sentinel-2 stacks for the self-training label tests (a VH course in dB per pixel, 0.3 dB of speckle,
a fixed seed, VV 6 dB brighter; an (NDVI, LSWI) pair per clear date, turned into the reflectance
bands the optical rule reads, NIR 0.3), and VH point series for the SAR rule's tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

DAYS = np.arange(0, 312, 12)  # 2023-01-01 to 2023-11-07, one date every 12 days
TIME = np.datetime64("2023-01-01") + DAYS.astype("timedelta64[D]")
DRY, WATER = (0.20, -0.10), (-0.20, 0.30)  # (NDVI, LSWI) of a clear date


def row_stacks(db: list[np.ndarray], optical: list[list[tuple[float, float]]],
               chunked: bool) -> tuple[xr.Dataset, xr.Dataset]:  # fmt: skip
    """SAR (VH, VV linear) and optical (every date clear) stacks of one row of pixels; ``chunked``:
    dask-chunked two pixels per chunk."""
    vh_db = np.stack(db, axis=-1)[:, None, :] + np.random.default_rng(0).normal(0, 0.3, (DAYS.size, 1, len(db)))
    vh = (10 ** (vh_db / 10)).astype(np.float32)
    coords = {"time": TIME, "y": [0.0], "x": np.arange(float(len(db)))}
    sar = xr.Dataset({"vh": (("time", "y", "x"), vh), "vv": (("time", "y", "x"), 4 * vh)}, coords=coords)
    nd = np.array([[v[0] for v in p] for p in optical], np.float32).T[:, None, :]
    ls = np.array([[v[1] for v in p] for p in optical], np.float32).T[:, None, :]
    nir = np.full(nd.shape, 0.3, np.float32)
    bands = {"nir": nir, "red": nir * (1 - nd) / (1 + nd), "swir16": nir * (1 - ls) / (1 + ls),
             "blue": np.full(nd.shape, 0.04, np.float32), "green": np.full(nd.shape, 0.06, np.float32)}
    opt = xr.Dataset({b: (("time", "y", "x"), v.astype(np.float32)) for b, v in bands.items()}, coords=coords)
    if chunked:
        return sar.chunk({"time": -1, "x": 2}), opt.chunk({"time": -1, "x": 2})
    return sar, opt


def vh_points(db_cols: np.ndarray, step: int = 6, start: str = "2023-01-03") -> xr.DataArray:
    """VH point series ``(time, point)`` in linear power from ``db_cols`` (dB, one column per point),
    one date every ``step`` days from ``start``."""
    db = np.asarray(db_cols, np.float32)
    t = pd.date_range(start, periods=db.shape[0], freq=f"{step}D")
    return xr.DataArray((10 ** (db / 10)).astype(np.float32), dims=("time", "point"), coords={"time": t}, name="vh")


def optical_points(series: dict[str, str], start: str) -> xr.Dataset:
    """Optical point series written as ``"day:ndvi/lswi/evi day:..."``, one string per point (days after
    ``start``); a day a point does not list is a lost (NaN) date for it.
    """
    reads = {n: {int(r.split(":")[0]): [float(v) for v in r.split(":")[1].split("/")] for r in s.split()}
             for n, s in series.items()}
    days = sorted({d for r in reads.values() for d in r})
    arr = np.full((3, len(days), len(reads)), np.nan, np.float32)
    for p, r in enumerate(reads.values()):
        for t, d in enumerate(days):
            if d in r:
                arr[:, t, p] = r[d]
    time = np.datetime64(start) + np.asarray(days).astype("timedelta64[D]")
    return xr.Dataset({v: (("time", "point"), arr[i]) for i, v in enumerate(("ndvi", "lswi", "evi"))},
                      coords={"time": time})


def random_optical(rng: np.random.Generator, shape: tuple[int, int, int], ranges: dict[str, tuple[float, float]],
                   step_days: int) -> xr.Dataset:  # fmt: skip
    """A random optical stack of ``shape`` (dates, rows, columns): each band of ``ranges`` uniform in its
    (low, high) reflectance, a fifth of the values missing, one date every ``step_days`` from 2023-01-01."""
    bands = {}
    for b, (lo, hi) in ranges.items():
        v = rng.uniform(lo, hi, shape).astype(np.float32)
        v[rng.random(v.shape) < 0.2] = np.nan
        bands[b] = (("time", "y", "x"), v)
    time = np.datetime64("2023-01-01") + (np.arange(shape[0]) * step_days).astype("timedelta64[D]")
    return xr.Dataset(bands, coords={"time": time})

"""Air Quality Index on rasters: India National AQI (CPCB 2014) and US EPA AQI (2012, 2024 tables).

Breakpoint tables are versioned data files (``tables/*.csv``, described in ``tables/README.md``), loaded once
and validated. :func:`subindex` turns a surface concentration into a sub-index; :func:`aqi` takes the maximum
over pollutants with the standard's minimum-pollutant rule and derives the category, the dominant pollutant
and QA bits; :func:`aqi_from_concentrations` does both. Everything is lazy on dask input and identical on numpy
input (one numpy kernel each, wrapped once with :func:`xarray.apply_ufunc`). Rules: docs/science/air_quality.md.

An AQI computed from satellite-estimated PM2.5 alone is a **"satellite-estimated PM2.5 sub-index"**, never a
CPCB or EPA AQI (CPCB needs >= 3 measured pollutants): pass ``require_min_pollutants=False`` and the outputs
say so in their ``long_name``.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import xarray as xr

from ..errors import AQIUnitsError, ConfigError
from ..io.grid import require_same_grid
from ..io.layers import LayerSpec
from ..units import normalise_unit

__all__ = [
    "Standard", "STANDARDS", "Breakpoints", "Category", "AQIStandard", "load_standard",
    "parse_standard_csv", "subindex", "aqi", "aqi_from_concentrations", "POLLUTANT_CODES", "POLLUTANT_LABELS",
    "QA_ABOVE_TABLE", "QA_MIN_POLLUTANTS", "QA_NEGATIVE_INPUT", "QA_UNVERIFIED_BREAKPOINT", "QA_FLAGS", "LAYER_SPECS",
]

Standard = Literal["cpcb:2014", "epa:2024", "epa:2012"]
STANDARDS: tuple[str, ...] = ("cpcb:2014", "epa:2024", "epa:2012")
_FILES = {"cpcb:2014": "cpcb_2014.csv", "epa:2024": "epa_2024.csv", "epa:2012": "epa_2012.csv"}
_TITLES = {
    "cpcb:2014": "India National Air Quality Index (CPCB 2014)",
    "epa:2024": "US EPA Air Quality Index (EPA-454/B-24-002, 2024)",
    "epa:2012": "US EPA Air Quality Index (2012 table, EPA-454/B-13-001)",
}
# Above the top row: CPCB reports 500 (recommendation), EPA extends the last segment (docs/science/air_quality.md).
_ABOVE: dict[str, Literal["cap", "extrapolate"]] = {"cpcb:2014": "cap", "epa:2024": "extrapolate",
                                                   "epa:2012": "extrapolate"}
# Minimum-pollutant rule: (at least n pollutants, one of these). EPA has none.
_MIN_RULE: dict[str, tuple[int, tuple[str, ...]]] = {"cpcb:2014": (3, ("pm25", "pm10")),
                                                     "epa:2024": (1, ()), "epa:2012": (1, ())}

#: Codes of the ``dominant`` layer; on ties the lowest code wins.
POLLUTANT_CODES: Mapping[str, int] = MappingProxyType({
    "pm25": 1, "pm10": 2, "no2": 3, "o3": 4, "o3_8h": 5, "o3_1h": 6, "co": 7, "so2": 8, "nh3": 9, "pb": 10})
POLLUTANT_LABELS: Mapping[str, str] = MappingProxyType({
    "pm25": "PM2.5", "pm10": "PM10", "no2": "NO2", "o3": "O3", "o3_8h": "O3 (8-h)", "o3_1h": "O3 (1-h)",
    "co": "CO", "so2": "SO2", "nh3": "NH3", "pb": "Pb"})
_DOMINANT_COLOURS = ("8C510A", "D8B365", "F46D43", "74ADD1", "4575B4", "313695", "7F7F7F", "FEE090", "1A9850",
                     "762A83")

QA_ABOVE_TABLE = 1
"""A concentration above the top breakpoint: CPCB capped at 500, EPA extrapolated (O3 8-h: undefined)."""
QA_MIN_POLLUTANTS = 2
"""The minimum-pollutant rule failed (CPCB: < 3 pollutants or no PM2.5/PM10) although some data exist."""
QA_NEGATIVE_INPUT = 4
"""A negative concentration was dropped (sub-index NaN)."""
QA_UNVERIFIED_BREAKPOINT = 8
"""A sub-index came from a table row marked unverified (e.g. the CPCB Severe upper bounds)."""
QA_FLAGS: Mapping[int, str] = MappingProxyType({
    QA_ABOVE_TABLE: "above_table", QA_MIN_POLLUTANTS: "min_pollutants_failed",
    QA_NEGATIVE_INPUT: "negative_input", QA_UNVERIFIED_BREAKPOINT: "unverified_breakpoint"})
_U8, _U16 = 255, 65535
_EPS = 1e-9  # floor(c*10^d + 1e-9), docs/science/air_quality.md#aqi-computation; also added before rounding half up


@dataclass(frozen=True)
class Breakpoints:
    """One pollutant's breakpoint table; plain tuples, so it pickles and tokenizes into dask graphs."""

    standard: str
    """``"cpcb:2014"``, ``"epa:2024"`` or ``"epa:2012"``."""
    pollutant: str
    """agromap pollutant key (``pm25``, ``o3_8h``...)."""
    unit: str
    """Concentration unit: ``ug/m3``, ``mg/m3``, ``ppm`` or ``ppb``."""
    decimals: int
    """Inputs are truncated to this many decimals before the lookup."""
    periods: tuple[str, ...]
    """Averaging period per row (``1h``, ``8h``, ``24h``)."""
    c_lo: tuple[float, ...]
    """Band lower bounds times ``10**decimals`` (integers, except off-grid unverified bounds)."""
    c_hi: tuple[float, ...]
    """Band upper bounds times ``10**decimals``."""
    i_lo: tuple[float, ...]
    """Index band lower bounds."""
    i_hi: tuple[float, ...]
    """Index band upper bounds."""
    category: tuple[int, ...]
    """Category code (1-6) per row."""
    verified: tuple[bool, ...]
    """False where the row is not confirmed against its primary document."""
    above: Literal["cap", "extrapolate", "undefined"]
    """What happens above the top row (``undefined``: EPA tables ending below 500, i.e. O3 8-h)."""


@dataclass(frozen=True)
class Category:
    """One AQI category: code, name, ``RRGGBB`` colour and index range."""

    code: int
    name: str
    colour: str
    i_lo: int
    i_hi: int


@dataclass(frozen=True)
class AQIStandard:
    """A validated standard: its per-pollutant tables and its categories."""

    name: str
    """Key such as ``"cpcb:2014"``."""
    title: str
    """Human name for ``long_name`` attributes."""
    tables: tuple[Breakpoints, ...]
    categories: tuple[Category, ...]

    @property
    def pollutants(self) -> tuple[str, ...]:
        """Pollutant keys of this standard, in file order."""
        return tuple(t.pollutant for t in self.tables)

    def table(self, pollutant: str) -> Breakpoints:
        """The :class:`Breakpoints` of ``pollutant``; a :class:`ConfigError` listing the valid keys."""
        for t in self.tables:
            if t.pollutant == pollutant:
                return t
        raise ConfigError(f"{self.name} has no pollutant {pollutant!r}; use one of {', '.join(self.pollutants)}.")


def _bad(source: str, msg: str) -> ConfigError:
    return ConfigError(f"AQI breakpoint table {source}: {msg}")


def parse_standard_csv(text: str, source: str = "<string>") -> AQIStandard:
    """Parse and validate a breakpoint CSV (format in ``tables/README.md``); :class:`ConfigError` if invalid."""
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows:
        raise _bad(source, "no rows.")
    names = {f"{r['standard']}:{r['version']}" for r in rows}
    if len(names) != 1:
        raise _bad(source, f"one standard per file, found {sorted(names)}.")
    name = names.pop()
    by_pollutant: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_pollutant.setdefault(r["pollutant"], []).append(r)
    tables = tuple(_parse_pollutant(name, p, rs, source) for p, rs in by_pollutant.items())
    return AQIStandard(name, _TITLES.get(name, name), tables, _categories(name, rows, source))


def _parse_pollutant(std: str, pollutant: str, rows: list[dict[str, str]], source: str) -> Breakpoints:
    where = f"{source} ({pollutant})"
    if pollutant not in POLLUTANT_CODES:
        raise _bad(where, f"unknown pollutant key; known: {', '.join(POLLUTANT_CODES)}.")
    for key in ("unit", "truncation_decimals"):
        if len({r[key] for r in rows}) != 1:
            raise _bad(where, f"{key} differs between rows.")
    try:
        dec = int(rows[0]["truncation_decimals"])
        rows = sorted(rows, key=lambda r: int(r["i_lo"]))
        clo, chi = [Decimal(r["c_lo"]) for r in rows], [Decimal(r["c_hi"]) for r in rows]
        ilo, ihi = [int(r["i_lo"]) for r in rows], [int(r["i_hi"]) for r in rows]
        cat = [int(r["category"]) for r in rows]
    except (ValueError, InvalidOperation) as exc:
        raise _bad(where, f"non-numeric bound or code ({exc}).") from None
    verified = [r["verified"].strip().lower() == "true" for r in rows]
    step = Decimal(1).scaleb(-dec)
    for k in range(len(rows)):
        if not (clo[k] < chi[k] and ilo[k] < ihi[k]):
            raise _bad(where, f"row {k + 1} needs c_lo < c_hi and i_lo < i_hi.")
        if clo[k] % step or (chi[k] % step and (verified[k] or k != len(rows) - 1)):
            raise _bad(where, f"row {k + 1} bounds are finer than {dec} decimals (only an unverified top "
                              "c_hi may be).")
        if k and ilo[k] != ihi[k - 1] + 1:
            raise _bad(where, f"index bands not contiguous at row {k + 1} ({ihi[k - 1]} then {ilo[k]}).")
        if k and clo[k] - chi[k - 1] not in (0, step):
            raise _bad(where, f"concentration gap or overlap at row {k + 1} ({chi[k - 1]} then {clo[k]}).")
        if k and cat[k] < cat[k - 1]:
            raise _bad(where, "category codes must not decrease.")
    if (ilo[0] == 0) != (clo[0] == 0):
        raise _bad(where, "a table starting at index 0 must start at concentration 0, and only then.")
    above = _ABOVE.get(std, "extrapolate")
    return Breakpoints(
        std, pollutant, rows[0]["unit"], dec, tuple(r["averaging_period"] for r in rows),
        tuple(float(c.scaleb(dec)) for c in clo), tuple(float(c.scaleb(dec)) for c in chi),
        tuple(map(float, ilo)), tuple(map(float, ihi)), tuple(cat), tuple(verified),
        "undefined" if above == "extrapolate" and ihi[-1] < 500 else above,
    )


def _categories(std: str, rows: list[dict[str, str]], source: str) -> tuple[Category, ...]:
    cats: dict[int, Category] = {}
    for r in rows:
        code, lo, hi = int(r["category"]), int(r["i_lo"]), int(r["i_hi"])
        old = cats.get(code)
        if old is not None and (old.name, old.colour) != (r["category_name"], r["colour"].upper()):
            raise _bad(source, f"category {code} has two names or colours.")
        lo, hi = (min(lo, old.i_lo), max(hi, old.i_hi)) if old else (lo, hi)
        cats[code] = Category(code, r["category_name"], r["colour"].upper(), lo, hi)
    out = tuple(cats[c] for c in sorted(cats))
    if [c.code for c in out] != list(range(1, len(out) + 1)) or out[0].i_lo != 0:
        raise _bad(source, "categories must be numbered 1..n from index 0.")
    for a, b in zip(out, out[1:]):
        if b.i_lo != a.i_hi + 1:
            raise _bad(source, f"category index ranges not contiguous ({a.name}, {b.name}).")
    return out


@functools.cache
def load_standard(standard: str) -> AQIStandard:
    """The packaged, validated tables of ``standard`` (``cpcb:2014``, ``epa:2024``, ``epa:2012``), cached."""
    if standard not in _FILES:
        raise ConfigError(f"unknown AQI standard {standard!r}; use one of {', '.join(STANDARDS)}.")
    fname = _FILES[standard]
    text = resources.files("agromap.airquality").joinpath("tables", fname).read_text(encoding="utf-8")
    std = parse_standard_csv(text, fname)
    if std.name != standard:
        raise _bad(fname, f"holds {std.name}, expected {standard}.")
    return std


# ---------------------------------------------------------------------------------------------- units
# Mass per volume for 1 ppb (ug/m3) or 1 ppm (mg/m3) at 25 degC and 1 atm: molar mass / 24.45.
_PPB_TO_UG = {"no2": 1.88, "so2": 2.62, "o3": 1.96, "o3_8h": 1.96, "o3_1h": 1.96, "co": 1.15, "nh3": 0.70}


def _check_units(conc: xr.DataArray, table: Breakpoints) -> None:
    label, want, name = POLLUTANT_LABELS[table.pollutant], table.unit, conc.name or table.pollutant
    got = conc.attrs.get("units")
    if not isinstance(got, str) or not got.strip():
        raise AQIUnitsError(f"{name!r} has no 'units' attribute; the {table.standard} {label} sub-index needs a "
                            f"surface concentration in {want}. Set it: conc.assign_attrs(units={want!r}).")
    norm, canon = normalise_unit(got), normalise_unit(want)
    if norm == canon:
        return
    if norm.startswith("mol") or norm in ("dobson", "du"):
        raise AQIUnitsError(f"{name!r} is in {got!r}: a column is not a surface concentration. The "
                            f"{table.standard} {label} sub-index needs a surface concentration in {want}; convert "
                            "the column with a calibrated column-to-surface model first, or publish the column "
                            "layer itself (e.g. no2_trop_column) without an AQI.")
    if norm in ("1", "", "dimensionless", "none"):
        raise AQIUnitsError(f"{name!r} is dimensionless ({got!r}), e.g. an aerosol optical depth, not a "
                            f"concentration. Estimate surface {label} in {want} first (AOD -> PM2.5, "
                            "docs/science/air_quality.md#pm25-from-aod), then compute the sub-index.")
    hint = ""
    if {norm, canon} <= {"ug m-3", "mg m-3"}:
        hint = " Multiply by 1000 for mg -> ug, divide for ug -> mg."
    elif {norm, canon} <= {"ppm", "ppb"}:
        hint = " Multiply by 1000 for ppm -> ppb, divide for ppb -> ppm."
    elif table.pollutant in _PPB_TO_UG:
        hint = (f" At 25 degC and 1 atm, 1 ppb {label} is {_PPB_TO_UG[table.pollutant]} ug/m3 (1 ppm is as many "
                "mg/m3); convert explicitly and set the units attribute.")
    raise AQIUnitsError(f"{name!r} is in {got!r}, but the {table.standard} {label} table is in {want}.{hint}")


# ---------------------------------------------------------------------------------------------- kernels
def _subindex_kernel(c: np.ndarray, *, table: Breakpoints) -> tuple[np.ndarray, np.ndarray]:
    """Sub-index (float32, NaN nodata) and QA bits (uint8) of ``c`` (docs/science/air_quality.md#aqi-computation)."""
    c = np.asarray(c)
    x = c.astype(np.float64)
    # A value within the input dtype's precision below a truncation step counts as that step.
    eps = float(np.finfo(c.dtype).eps) if c.dtype.kind == "f" else 0.0
    valid = np.isfinite(x) & (x >= 0)
    scaled = np.where(valid, x, 0.0) * 10.0**table.decimals
    # Truncate with the 1e-9 (see _EPS) plus the input's own precision: float32 0.077 is 0.07699999958.
    t = np.floor(scaled + _EPS + scaled * eps)
    c_lo, c_hi = np.asarray(table.c_lo), np.asarray(table.c_hi)
    i_lo, i_hi = np.asarray(table.i_lo), np.asarray(table.i_hi)
    idx = np.searchsorted(c_hi, t, side="left")  # first band whose upper bound >= t; lower band wins on repeats
    above = idx == len(c_hi)
    j = np.minimum(idx, len(c_hi) - 1)
    index = i_lo[j] + (i_hi[j] - i_lo[j]) * (t - c_lo[j]) / (c_hi[j] - c_lo[j])
    if table.above == "cap":
        index = np.where(above, i_hi[-1], index)
    out = np.floor(index + 0.5 + _EPS)  # round half up; np.round would round half to even
    undefined = (t < c_lo[0]) | (above & (table.above == "undefined"))
    out = np.where(valid & ~undefined, out, np.nan).astype(np.float32)
    flags = np.where(valid & above, QA_ABOVE_TABLE, 0) | np.where(np.isfinite(x) & (x < 0), QA_NEGATIVE_INPUT, 0)
    unverified = ~np.asarray(table.verified)[j] & valid & ~undefined
    flags = flags | np.where(unverified, QA_UNVERIFIED_BREAKPOINT, 0)
    return out, flags.astype(np.uint8)


def _aqi_kernel(*arrays: np.ndarray, n_sub: int, codes: tuple[int, ...], need_pm: bool, pm: tuple[int, ...],
                min_n: int, require: bool, cat_hi: tuple[float, ...]) -> tuple[np.ndarray, ...]:
    """AQI, category, dominant code, pollutant count and QA bits from sub-indices (+ per-pollutant QA bits)."""
    arrays = tuple(np.broadcast_arrays(*arrays))
    subs = np.stack([a.astype(np.float32, copy=False) for a in arrays[:n_sub]])
    valid = ~np.isnan(subs)
    n = valid.sum(axis=0)
    pick = np.argmax(np.where(valid, subs, -np.inf), axis=0)  # first maximum: the lowest code on ties
    top = np.take_along_axis(subs, pick[None], axis=0)[0]
    ok = n >= min_n
    if need_pm:  # one of PM2.5/PM10 must be valid; with none of them supplied, never
        ok &= valid[list(pm)].any(axis=0) if pm else False
    qa = np.zeros(n.shape, dtype=np.uint8)
    for f in arrays[n_sub:]:
        qa |= f.astype(np.uint8)
    qa |= np.where((n > 0) & ~ok, QA_MIN_POLLUTANTS, 0).astype(np.uint8)
    keep = (n > 0) & (ok if require else True)
    value = np.where(keep, np.clip(top, 0, _U16 - 1), _U16).astype(np.uint16)
    cat = np.minimum(np.searchsorted(np.asarray(cat_hi), np.where(keep, top, 0), side="left"), len(cat_hi) - 1)
    category = np.where(keep, cat + 1, _U8).astype(np.uint8)
    dominant = np.where(keep, np.asarray(codes, dtype=np.uint8)[pick], _U8).astype(np.uint8)
    return value, category, dominant, n.astype(np.uint8), qa


# ---------------------------------------------------------------------------------------------- public API
def _subindex_pair(conc: xr.DataArray, pollutant: str, standard: str) -> tuple[xr.DataArray, xr.DataArray]:
    std = load_standard(standard)
    table = std.table(pollutant)
    if not isinstance(conc, xr.DataArray) or conc.dtype.kind not in "fiu":
        raise ConfigError(f"{pollutant}: expected a numeric xarray.DataArray of concentrations, got "
                          f"{type(conc).__name__} of {getattr(conc, 'dtype', '?')}.")
    _check_units(conc, table)
    value, flags = xr.apply_ufunc(
        functools.partial(_subindex_kernel, table=table), conc, output_core_dims=[[], []],
        dask="parallelized", output_dtypes=[np.float32, np.uint8], keep_attrs=False)
    label = POLLUTANT_LABELS[pollutant]
    common = {"aqi_standard": standard, "AQI_STANDARD": standard, "pollutant": pollutant}
    value = value.rename(f"{pollutant}_subindex").assign_attrs(
        long_name=f"{label} sub-index, {std.title}", units="index", nodata=float("nan"),
        concentration_units=table.unit, averaging_period="/".join(dict.fromkeys(table.periods)),
        truncation_decimals=table.decimals, above_table=table.above, **common)
    flags = flags.rename(f"{pollutant}_subindex_qa").assign_attrs(
        long_name=f"{label} sub-index QA bits", flag_masks=list(QA_FLAGS), flag_meanings=" ".join(QA_FLAGS.values()),
        **common)
    return value, flags


def subindex(conc: xr.DataArray, pollutant: str, standard: Standard = "cpcb:2014") -> xr.DataArray:
    """Sub-index of one pollutant from its surface concentration (docs/science/air_quality.md#aqi-computation).

    Parameters
    ----------
    conc : xarray.DataArray
        Surface concentration, any real dtype, numpy or dask, any dims (``(y, x)``, ``(time, y, x)``,
        ``(time, point)``); NaN is nodata. ``attrs["units"]`` is required and must match the table:
        ``ug/m3`` (CPCB; CPCB CO ``mg/m3``; EPA PM), ``ppm`` (EPA O3, CO) or ``ppb`` (EPA SO2, NO2); spellings
        such as ``µg m-3`` are accepted. Averaging period as in ``tables/README.md``.
    pollutant : str
        ``pm25 pm10 no2 o3 co so2 nh3 pb`` (CPCB) or ``pm25 pm10 no2 o3_8h o3_1h co so2`` (EPA).
    standard : {"cpcb:2014", "epa:2024", "epa:2012"}
        Breakpoint table.

    Returns
    -------
    xarray.DataArray
        float32 integer sub-index named ``<pollutant>_subindex``; NaN where the input is NaN, negative, or
        outside the table's domain (EPA O3 8-h above 0.200 ppm, O3 1-h below 0.125 ppm). Inputs are truncated to
        the table precision (float32 inputs within one unit of float32 precision below a step, such as float32
        0.077, count as that step), interpolated, rounded half up. Above the top row CPCB gives 500 and EPA extends the
        last segment (both set the ``above_table`` QA bit; see :func:`aqi_from_concentrations`). Lazy on dask
        input, with the input's chunks.

    Raises
    ------
    AQIUnitsError
        ``units`` missing or different from the table's (a mol m-2 column is not a surface concentration).
    ConfigError
        Unknown standard or pollutant.

    Examples
    --------
    >>> from agromap.testing import make_raster
    >>> subindex(make_raster([[25.0, 75.0]], attrs={"units": "ug/m3"}), "pm25").values
    array([[ 42., 149.]], dtype=float32)
    """
    return _subindex_pair(conc, pollutant, standard)[0]


def _as_mapping(obj: Mapping[str, xr.DataArray] | xr.Dataset | None) -> dict[str, xr.DataArray]:
    if obj is None:
        return {}
    if isinstance(obj, xr.Dataset):
        return {str(k): v for k, v in obj.data_vars.items()}
    return dict(obj)


def aqi(subindices: Mapping[str, xr.DataArray] | xr.Dataset, standard: Standard = "cpcb:2014", *,
        flags: Mapping[str, xr.DataArray] | xr.Dataset | None = None,
        require_min_pollutants: bool = True) -> xr.Dataset:
    """Overall AQI (maximum sub-index), category, dominant pollutant and QA bits.

    Parameters
    ----------
    subindices : mapping or Dataset
        ``{pollutant: sub-index}`` float32 (NaN nodata) from :func:`subindex` of the same ``standard``, on one
        grid, numpy or dask. EPA ``o3_8h`` and ``o3_1h`` may both be given: the larger counts.
    standard : {"cpcb:2014", "epa:2024", "epa:2012"}
        Standard of the sub-indices; gives the categories and the minimum-pollutant rule.
    flags : mapping or Dataset, optional
        Per-pollutant uint8 QA bits (second output of :func:`aqi_from_concentrations`), OR-ed into ``qa``.
        Without them, ``qa`` only knows the minimum-pollutant rule.
    require_min_pollutants : bool
        True (default): apply the standard's rule (CPCB: >= 3 pollutants, one of PM2.5/PM10; EPA: >= 1); pixels
        failing it are nodata with the ``min_pollutants_failed`` bit. False: report the maximum anyway, for
        satellite single-pollutant estimates; the result is then labelled a "satellite-estimated PM2.5
        sub-index" (or an estimated maximum sub-index), **never an AQI**, in ``long_name`` and ``aqi_estimate``.

    Returns
    -------
    xarray.Dataset
        ``aqi`` uint16 (nodata 65535), ``category`` uint8 1-6 (Good..Severe/Hazardous, nodata 255; colours in
        attrs), ``dominant`` uint8 pollutant code (:data:`POLLUTANT_CODES`, lowest code on ties, nodata 255),
        ``n_pollutants`` uint8 (valid sub-indices per pixel), ``qa`` uint8 bits (:data:`QA_FLAGS`). Lazy on dask
        input; nothing is computed.
    """
    std = load_standard(standard)
    subs, qas = _as_mapping(subindices), _as_mapping(flags)
    if not subs:
        raise ConfigError(f"aqi() needs at least one sub-index; pollutants of {standard}: {', '.join(std.pollutants)}.")
    for key, arr in subs.items():
        std.table(key)  # ConfigError for keys the standard does not know
        if not isinstance(arr, xr.DataArray) or arr.dtype.kind != "f":
            raise ConfigError(f"sub-index {key!r} must be a float xarray.DataArray with NaN nodata, as subindex() "
                              f"returns, got {type(arr).__name__} of {getattr(arr, 'dtype', '?')}; decode a stored "
                              "uint16 layer first (65535 -> NaN).")
        other = arr.attrs.get("aqi_standard")
        if other is not None and other != standard:
            raise ConfigError(f"sub-index {key!r} was computed with {other}, not {standard}; recompute it with "
                              f"subindex(conc, {key!r}, {standard!r}).")
    if unknown := sorted(set(qas) - set(subs)):
        raise ConfigError(f"flags given for {unknown} without a sub-index; pass flags only for {sorted(subs)}.")
    order = sorted(subs, key=POLLUTANT_CODES.__getitem__)
    min_n, pm_keys = _MIN_RULE[standard]
    arrays = [subs[k] for k in order] + [qas[k] for k in order if k in qas]
    require_same_grid(*arrays)
    kernel = functools.partial(
        _aqi_kernel, n_sub=len(order), codes=tuple(POLLUTANT_CODES[k] for k in order),
        need_pm=bool(pm_keys), pm=tuple(i for i, k in enumerate(order) if k in pm_keys), min_n=min_n,
        require=require_min_pollutants, cat_hi=tuple(float(c.i_hi) for c in std.categories))
    outs = xr.apply_ufunc(kernel, *arrays, output_core_dims=[[]] * 5, dask="parallelized",
                          output_dtypes=[np.uint16, np.uint8, np.uint8, np.uint8, np.uint8], keep_attrs=False)
    long_name = _aqi_long_name(std, order, require_min_pollutants)
    cats = std.categories
    common = {"aqi_standard": standard, "AQI_STANDARD": standard}
    attrs: list[dict[str, Any]] = [
        {"long_name": long_name, "units": "index", "nodata": _U16},
        {"long_name": f"{long_name}: category", "units": "class", "nodata": _U8,
         "flag_values": [c.code for c in cats], "flag_meanings": " ".join(c.name.replace(" ", "_") for c in cats),
         "colours": [c.colour for c in cats]},
        {"long_name": f"{long_name}: dominant pollutant", "units": "class", "nodata": _U8,
         "flag_values": list(POLLUTANT_CODES.values()), "flag_meanings": " ".join(POLLUTANT_CODES)},
        {"long_name": "number of valid sub-indices", "units": "1"},
        {"long_name": "AQI QA bits", "units": "1", "flag_masks": list(QA_FLAGS),
         "flag_meanings": " ".join(QA_FLAGS.values())},
    ]
    names = ("aqi", "category", "dominant", "n_pollutants", "qa")
    ds = xr.Dataset({n: o.assign_attrs(**a, **common) for n, o, a in zip(names, outs, attrs)})
    return ds.assign_attrs(aqi_estimate=str(not require_min_pollutants).lower(), pollutants=" ".join(order),
                           min_pollutant_rule=f">= {min_n} pollutants" + (f", one of {'/'.join(pm_keys)}"
                                                                          if pm_keys else ""), **common)


def _aqi_long_name(std: AQIStandard, order: list[str], require: bool) -> str:
    if require:
        return std.title
    if order == ["pm25"]:
        return f"satellite-estimated PM2.5 sub-index ({std.name} table), not an AQI"
    labels = ", ".join(POLLUTANT_LABELS[k] for k in order)
    return f"estimated maximum sub-index of {labels} ({std.name} table, minimum-pollutant rule not applied), not an AQI"


def aqi_from_concentrations(concentrations: Mapping[str, xr.DataArray] | xr.Dataset, standard: Standard = "cpcb:2014",
                            *, require_min_pollutants: bool = True) -> xr.Dataset:
    """Sub-indices and AQI from surface concentrations in one lazy graph.

    Parameters
    ----------
    concentrations : mapping or Dataset
        ``{pollutant: concentration}`` as for :func:`subindex` (``units`` attribute required), one grid.
    standard, require_min_pollutants
        As for :func:`aqi`.

    Returns
    -------
    xarray.Dataset
        The :func:`aqi` variables (``qa`` includes every pollutant's ``above_table``, ``negative_input`` and
        ``unverified_breakpoint`` bits) plus ``<pollutant>_subindex`` float32 for each input. Lazy on dask input.
    """
    pairs = {k: _subindex_pair(v, k, standard) for k, v in _as_mapping(concentrations).items()}
    out = aqi({k: v for k, (v, _) in pairs.items()}, standard, flags={k: f for k, (_, f) in pairs.items()},
              require_min_pollutants=require_min_pollutants)
    return out.assign({v.name: v for v, _ in pairs.values()})


# ---------------------------------------------------------------------------------------------- layers
_SAT = ("computed from satellite-estimated PM2.5 alone it is a satellite-estimated PM2.5 sub-index, "
        "never an AQI")


def _layer_specs() -> dict[str, LayerSpec]:
    specs: dict[str, LayerSpec] = {}
    for short, key in (("cpcb", "cpcb:2014"), ("epa", "epa:2024")):
        std = load_standard(key)
        tag = (("AQI_STANDARD", key),)
        specs[f"aqi_category_{short}"] = LayerSpec(
            f"aqi_category_{short}", "class", "uint8", _U8, "class",
            f"{std.title} category, 1 {std.categories[0].name} .. 6 {std.categories[-1].name}; where {_SAT}",
            classes=tuple((c.code, c.name, c.colour) for c in std.categories), tags=tag)
        for p in std.pollutants:
            what = ("PM2.5 sub-index; where " + _SAT) if p == "pm25" else f"{POLLUTANT_LABELS[p]} sub-index"
            specs[f"aqi_{p}_subindex_{short}"] = LayerSpec(
                f"aqi_{p}_subindex_{short}", "continuous", "uint16", _U16, "index", f"{std.title}: {what}", tags=tag)
    specs["aqi_value"] = LayerSpec(
        "aqi_value", "continuous", "uint16", _U16, "index",
        f"AQI, maximum sub-index (standard in the AQI_STANDARD tag); where {_SAT}")
    specs["aqi_dominant"] = LayerSpec(
        "aqi_dominant", "class", "uint8", _U8, "class", "Pollutant giving the AQI (lowest code on ties)",
        classes=tuple((c, POLLUTANT_LABELS[p], col) for (p, c), col in zip(POLLUTANT_CODES.items(), _DOMINANT_COLOURS)))
    specs["aqi_qa"] = LayerSpec(
        "aqi_qa", "continuous", "uint8", _U8, "1",
        "AQI QA bits: " + ", ".join(f"{b} {n}" for b, n in QA_FLAGS.items()), overview_resampling="nearest")
    return specs


#: Output layers of this module (docs/architecture.md#layer-registry); the pipeline builders export with these.
LAYER_SPECS: Mapping[str, LayerSpec] = MappingProxyType(_layer_specs())

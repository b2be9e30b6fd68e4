"""Spectral indices on reflectance (docs/science/indices_and_masks.md#spectral-indices).

One private numpy kernel per formula family, wrapped once with ``xarray.apply_ufunc(dask=
"parallelized")``: numpy and dask inputs take the same path, nothing computes, chunks and
coordinates (``spatial_ref``) are kept. Inputs are reflectance in 0-1, NaN = nodata. Outputs are
float32; a zero denominator or a negative square-root argument gives NaN, never ±inf; NaN
propagates; nothing is clipped.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import xarray as xr

from .errors import ConfigError, MissingBandError
from .index_bands import INDEX_BANDS
from .io.grid import require_same_grid

__all__ = [
    "INDICES", "IndexSpec", "compute_index", "ndvi", "evi", "lswi", "ndwi_mcfeeters", "ndwi", "mndwi",
    "nbr", "nbr2", "bais2", "savi", "ndbi", "ndsi", "ndfi", "mirbi",
]  # fmt: skip

_F32 = np.float32
_Out = npt.NDArray[np.float32]
_In = npt.NDArray[Any]
_Fn = TypeVar("_Fn", bound=Callable[..., xr.DataArray])


def _f32(a: _In) -> _Out:
    return np.asarray(a).astype(_F32, copy=False)


def _no_inf(out: _Out) -> _Out:
    # Finite reflectance can still overflow float32 (a subnormal denominator); that is no data.
    out[np.isinf(out)] = np.nan
    return out


def _safe_divide(num: _Out, den: _Out) -> _Out:
    out = np.full(np.broadcast_shapes(num.shape, den.shape), np.nan, dtype=_F32)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        np.divide(num, den, out=out, where=den != 0)
    return _no_inf(out)


def _safe_sqrt(a: _Out) -> _Out:
    out = np.full(a.shape, np.nan, dtype=_F32)
    np.sqrt(a, out=out, where=a >= 0)  # NaN compares False, so it stays NaN
    return out


_BLOCK = 1 << 15
"""Elements per block of :func:`_blocked`: the block's inputs, result and scratch arrays (about
200 kB) stay in the CPU cache through all of a formula's steps."""


def _blocked(kernel: Callable[..., None], n_scratch: int, *arrays: _In) -> _Out:
    """``kernel(out, *inputs, *scratch)`` block by block into a new float32 array.

    A formula written as whole-array numpy expressions streams every intermediate array through
    memory (a ``(time, y, x)`` tile's is 12 MB); run on blocks of :data:`_BLOCK` elements with
    ``out=`` arrays, the same operations in the same order give the same float32 values from cache.
    ``scratch`` holds ``n_scratch`` float32 then two bool arrays of the block's shape.
    Inputs of different shapes (broadcasting) or layouts are taken whole, in one block.
    """
    arrs = [_f32(a) for a in arrays]
    shape = np.broadcast_shapes(*(a.shape for a in arrs))
    out = np.empty(shape, dtype=_F32)
    whole = not all(a.shape == shape and a.flags.c_contiguous for a in arrs) or out.size == 0
    step = out.size if whole else min(out.size, _BLOCK)
    block: tuple[int, ...] = shape if whole else (step,)
    scratch: list[npt.NDArray[Any]] = [np.empty(block, dtype=_F32) for _ in range(n_scratch)]
    scratch += [np.empty(block, dtype=bool) for _ in range(2)]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if whole:
            kernel(out, *arrs, *scratch)
            return out
        flat, res = [a.reshape(-1) for a in arrs], out.reshape(-1)
        for i in range(0, res.size, step):
            n = min(step, res.size - i)
            kernel(res[i:i + n], *(f[i:i + n] for f in flat), *(t[:n] for t in scratch))
    return out


def _divide_into(out: _Out, den: _Out, bad: npt.NDArray[np.bool_], inf: npt.NDArray[np.bool_]) -> None:
    """``out /= den``, NaN where ``den`` is 0 or the quotient is infinite: :func:`_safe_divide` in place."""
    np.divide(out, den, out=out)
    np.equal(den, 0, out=bad)
    np.isinf(out, out=inf)
    np.logical_or(bad, inf, out=bad)
    np.copyto(out, _F32(np.nan), where=bad)


def _nd_block(out: _Out, a: _Out, b: _Out, den: _Out, bad: npt.NDArray[np.bool_],
              inf: npt.NDArray[np.bool_]) -> None:
    np.subtract(a, b, out=out)
    np.add(a, b, out=den)
    _divide_into(out, den, bad, inf)


def _nd_kernel(a: _In, b: _In) -> _Out:
    """(a - b) / (a + b)."""
    return _blocked(_nd_block, 1, a, b)


def _evi_block(out: _Out, n: _Out, r: _Out, b: _Out, den: _Out, tmp: _Out, bad: npt.NDArray[np.bool_],
               inf: npt.NDArray[np.bool_]) -> None:
    np.subtract(n, r, out=out)
    np.multiply(out, _F32(2.5), out=out)
    np.multiply(r, _F32(6.0), out=den)
    np.add(n, den, out=den)
    np.multiply(b, _F32(7.5), out=tmp)
    np.subtract(den, tmp, out=den)
    np.add(den, _F32(1.0), out=den)
    _divide_into(out, den, bad, inf)


def _evi_kernel(nir: _In, red: _In, blue: _In) -> _Out:
    """2.5 (n - r) / (n + 6 r - 7.5 b + 1), evaluated in that order."""
    return _blocked(_evi_block, 2, nir, red, blue)


def _savi_kernel(nir: _In, red: _In, soil: np.float32) -> _Out:
    """(1 + L) (n - r) / (n + r + L), evaluated in that order."""
    gain = _F32(1.0) + soil

    def block(out: _Out, n: _Out, r: _Out, den: _Out, bad: npt.NDArray[np.bool_],
              inf: npt.NDArray[np.bool_]) -> None:
        np.subtract(n, r, out=out)
        np.multiply(out, gain, out=out)
        np.add(n, r, out=den)
        np.add(den, soil, out=den)
        _divide_into(out, den, bad, inf)

    return _blocked(block, 1, nir, red)


def _bais2_kernel(re2: _In, re3: _In, n2: _In, red: _In, s2: _In) -> _Out:
    e2, e3, b8a, r, b12 = _f32(re2), _f32(re3), _f32(n2), _f32(red), _f32(s2)
    # Negative reflectance (S2 PB >= 04.00 allows it) can make either radicand negative.
    veg = _F32(1.0) - _safe_sqrt(_safe_divide(e2 * e3 * b8a, r))
    swir = _safe_divide(b12 - b8a, _safe_sqrt(b12 + b8a)) + _F32(1.0)
    with np.errstate(over="ignore"):
        return _no_inf(veg * swir)


def _mirbi_kernel(s2: _In, s1: _In) -> _Out:
    return _F32(10.0) * _f32(s2) - _F32(9.8) * _f32(s1) + _F32(2.0)


def _wrap(kernel: Callable[..., _Out], name: str, long_name: str, *arrays: xr.DataArray, **kwargs: Any) -> xr.DataArray:
    require_same_grid(*arrays)
    out: xr.DataArray = xr.apply_ufunc(kernel, *arrays, kwargs=kwargs, dask="parallelized", output_dtypes=[np.float32])
    return out.rename(name).assign_attrs(units="1", long_name=long_name)


_ND_SECTIONS = """

Parameters
----------
{a}, {b} : xarray.DataArray
    Reflectance (about 0-1; NaN = nodata), any real dtype, numpy or dask, on the same grid.

Returns
-------
xarray.DataArray
    ``{name}``, float32 in [-1, 1] for non-negative reflectance; NaN where an input is NaN or
    the sum is 0. Lazy if the inputs are, with their chunks and coordinates.

References
----------
{reference}

Examples
--------
>>> {name}(xr.DataArray([0.375, 0.25]), xr.DataArray([0.125, 0.0])).values
array([0.5, 1. ], dtype=float32)
"""


def _nd_doc(reference: str) -> Callable[[_Fn], _Fn]:
    """Append the sections shared by every normalised difference to a one-line docstring."""

    def deco(fn: _Fn) -> _Fn:
        a, b = inspect.signature(fn).parameters
        fn.__doc__ = (fn.__doc__ or "").rstrip() + _ND_SECTIONS.format(a=a, b=b, name=fn.__name__, reference=reference)
        return fn

    return deco


@_nd_doc("Rouse, J. W. et al. (1974), Monitoring vegetation systems in the Great Plains with ERTS. NASA SP-351.")
def ndvi(nir: xr.DataArray, red: xr.DataArray) -> xr.DataArray:
    """Normalized Difference Vegetation Index, (N - R) / (N + R)."""
    return _wrap(_nd_kernel, "ndvi", "Normalized Difference Vegetation Index", nir, red)


@_nd_doc(
    "Xiao, X. et al. (2005), Mapping paddy rice agriculture in southern China using multi-temporal "
    "MODIS images. Remote Sensing of Environment 95(4). Gao (1996) named it NDWI; on S2, ``nir08`` "
    "(B8A, 20 m) may stand in for ``nir``."
)
def lswi(nir: xr.DataArray, swir16: xr.DataArray) -> xr.DataArray:
    """Land Surface Water Index, (N - S1) / (N + S1)."""
    return _wrap(_nd_kernel, "lswi", "Land Surface Water Index", nir, swir16)


@_nd_doc(
    "McFeeters, S. K. (1996), IJRS 17(7), doi:10.1080/01431169608948714. It correlates with NDVI "
    "at r = -0.97: wet-versus-dry tests should use LSWI or MNDWI (docs/science/indices_and_masks.md#index-rules)."
)
def ndwi_mcfeeters(green: xr.DataArray, nir: xr.DataArray) -> xr.DataArray:
    """Normalized Difference Water Index after McFeeters, (G - N) / (G + N)."""
    return _wrap(_nd_kernel, "ndwi_mcfeeters", "Normalized Difference Water Index (McFeeters)", green, nir)


#: Alias of :func:`ndwi_mcfeeters` (green/NIR), not Gao's NIR/SWIR index, which is :func:`lswi`.
ndwi = ndwi_mcfeeters


@_nd_doc("Xu, H. (2006), IJRS 27(14), doi:10.1080/01431160600589179.")
def mndwi(green: xr.DataArray, swir16: xr.DataArray) -> xr.DataArray:
    """Modified Normalized Difference Water Index, (G - S1) / (G + S1)."""
    return _wrap(_nd_kernel, "mndwi", "Modified Normalized Difference Water Index", green, swir16)


@_nd_doc(
    "Key, C. H. & Benson, N. C., USGS OFR 02-11 (FIREMON), doi:10.3133/ofr0211. On S2, ``nir08`` "
    "(B8A, 20 m) may stand in for ``nir``."
)
def nbr(nir: xr.DataArray, swir22: xr.DataArray) -> xr.DataArray:
    """Normalized Burn Ratio, (N - S2) / (N + S2)."""
    return _wrap(_nd_kernel, "nbr", "Normalized Burn Ratio", nir, swir22)


@_nd_doc("USGS, Landsat Normalized Burn Ratio 2 product guide.")
def nbr2(swir16: xr.DataArray, swir22: xr.DataArray) -> xr.DataArray:
    """Normalized Burn Ratio 2, (S1 - S2) / (S1 + S2)."""
    return _wrap(_nd_kernel, "nbr2", "Normalized Burn Ratio 2", swir16, swir22)


@_nd_doc("Zha, Y. et al. (2003), IJRS 24(3), doi:10.1080/0143116031000139863.")
def ndbi(swir16: xr.DataArray, nir: xr.DataArray) -> xr.DataArray:
    """Normalized Difference Built-up Index, (S1 - N) / (S1 + N)."""
    return _wrap(_nd_kernel, "ndbi", "Normalized Difference Built-up Index", swir16, nir)


@_nd_doc("Hall, D. K. et al. (1995), Remote Sensing of Environment 54(2). Same formula as MNDWI.")
def ndsi(green: xr.DataArray, swir16: xr.DataArray) -> xr.DataArray:
    """Normalized Difference Snow Index, (G - S1) / (G + S1)."""
    return _wrap(_nd_kernel, "ndsi", "Normalized Difference Snow Index", green, swir16)


@_nd_doc("Boschetti, M. et al. (2017), PhenoRice, Remote Sensing of Environment 194; cropmodels/phenorice.")
def ndfi(red: xr.DataArray, swir22: xr.DataArray) -> xr.DataArray:
    """Normalized Difference Flood Index (PhenoRice), (R - S2) / (R + S2)."""
    return _wrap(_nd_kernel, "ndfi", "Normalized Difference Flood Index", red, swir22)


def evi(nir: xr.DataArray, red: xr.DataArray, blue: xr.DataArray) -> xr.DataArray:
    """Enhanced Vegetation Index, 2.5 (N - R) / (N + 6 R - 7.5 B + 1).

    Parameters
    ----------
    nir, red, blue : xarray.DataArray
        Reflectance in 0-1 (the constants assume it: EVI on scaled DN is wrong; NaN = nodata),
        any real dtype, numpy or dask, on the same grid.

    Returns
    -------
    xarray.DataArray
        ``evi``, float32, about [-1, 1] over land but unbounded as the denominator nears 0
        (water, cloud edges: flag |EVI| > 1 downstream); NaN where an input is NaN or the
        denominator is 0. Lazy if the inputs are.

    References
    ----------
    Huete, A. et al. (2002), Remote Sensing of Environment 83, doi:10.1016/S0034-4257(02)00096-2.

    Examples
    --------
    >>> evi(xr.DataArray([0.5]), xr.DataArray([0.125]), xr.DataArray([0.0])).values
    array([0.41666666], dtype=float32)
    """
    return _wrap(_evi_kernel, "evi", "Enhanced Vegetation Index", nir, red, blue)


def savi(nir: xr.DataArray, red: xr.DataArray, L: float = 0.5) -> xr.DataArray:  # noqa: N803
    """Soil-Adjusted Vegetation Index, (1 + L) (N - R) / (N + R + L).

    Parameters
    ----------
    nir, red : xarray.DataArray
        Reflectance in 0-1 (``L`` assumes it), any real dtype, numpy or dask, same grid.
        NaN is nodata.
    L : float
        Soil-brightness correction; 0.5 (Huete 1988, HLS) suits most cover, 0 gives NDVI.

    Returns
    -------
    xarray.DataArray
        ``savi``, float32, in [-(1 + L), 1 + L] for non-negative reflectance; NaN where an
        input is NaN or the denominator is 0. Lazy if the inputs are.

    References
    ----------
    Huete, A. R. (1988), A soil-adjusted vegetation index (SAVI). Remote Sensing of
    Environment 25(3), doi:10.1016/0034-4257(88)90106-X.

    Examples
    --------
    >>> savi(xr.DataArray([0.5]), xr.DataArray([0.0])).values
    array([0.75], dtype=float32)
    """
    return _wrap(_savi_kernel, "savi", "Soil-Adjusted Vegetation Index", nir, red, soil=_F32(L))


def bais2(
    rededge2: xr.DataArray, rededge3: xr.DataArray, nir08: xr.DataArray, red: xr.DataArray, swir22: xr.DataArray
) -> xr.DataArray:
    """Burned Area Index for Sentinel-2, (1 - sqrt(RE2 RE3 N2 / R)) ((S2 - N2) / sqrt(S2 + N2) + 1).

    Parameters
    ----------
    rededge2, rededge3, nir08, red, swir22 : xarray.DataArray
        Sentinel-2 reflectance of B06, B07, B8A, B04, B12 (about 0-1), any real dtype, numpy
        or dask, same (20 m) grid. NaN is nodata. The index needs B8A, not B08.

    Returns
    -------
    xarray.DataArray
        ``bais2``, float32, unbounded (burned areas are high); NaN where an input is NaN,
        ``red`` or ``swir22 + nir08`` is 0, or either square root has a negative argument.
        Lazy if the inputs are.

    References
    ----------
    Filipponi, F. (2018), BAIS2: Burned Area Index for Sentinel-2. Proceedings 2(7),
    doi:10.3390/ecrs-2-05177.

    Examples
    --------
    >>> one = xr.DataArray([0.25])
    >>> bais2(one, one, one, xr.DataArray([0.0625]), xr.DataArray([0.75])).values
    array([0.75], dtype=float32)
    """
    long_name = "Burned Area Index for Sentinel-2"
    return _wrap(_bais2_kernel, "bais2", long_name, rededge2, rededge3, nir08, red, swir22)


def mirbi(swir22: xr.DataArray, swir16: xr.DataArray) -> xr.DataArray:
    """Mid-Infrared Burn Index, 10 S2 - 9.8 S1 + 2.

    Parameters
    ----------
    swir22, swir16 : xarray.DataArray
        Reflectance in 0-1, any real dtype, numpy or dask, same grid. NaN is nodata.

    Returns
    -------
    xarray.DataArray
        ``mirbi``, float32, about [-7.8, 12] for reflectance in 0-1; NaN where an input is NaN.
        Lazy if the inputs are.

    References
    ----------
    Trigg, S. & Flasse, S. (2001), An evaluation of different bi-spectral spaces for
    discriminating burned shrub-savannah. IJRS 22(13).

    Examples
    --------
    >>> mirbi(xr.DataArray([0.5]), xr.DataArray([0.5])).values
    array([2.1], dtype=float32)
    """
    return _wrap(_mirbi_kernel, "mirbi", "Mid-Infrared Burn Index", swir22, swir16)


@dataclass(frozen=True)
class IndexSpec:
    """One entry of :data:`INDICES`."""

    function: Callable[..., xr.DataArray]
    """The public index function; band arrays are passed positionally, in ``bands`` order."""
    bands: tuple[str, ...]
    """Common band names (docs/science/indices_and_masks.md#common-band-names) the function takes, in order."""


#: Index name -> function and the common band names it reads, for :func:`compute_index`.
INDICES: Mapping[str, IndexSpec] = {
    "ndvi": IndexSpec(ndvi, INDEX_BANDS["ndvi"]),
    "evi": IndexSpec(evi, INDEX_BANDS["evi"]),
    "lswi": IndexSpec(lswi, INDEX_BANDS["lswi"]),
    "ndwi_mcfeeters": IndexSpec(ndwi_mcfeeters, INDEX_BANDS["ndwi_mcfeeters"]),
    "ndwi": IndexSpec(ndwi_mcfeeters, INDEX_BANDS["ndwi"]),
    "mndwi": IndexSpec(mndwi, INDEX_BANDS["mndwi"]),
    "nbr": IndexSpec(nbr, INDEX_BANDS["nbr"]),
    "nbr2": IndexSpec(nbr2, INDEX_BANDS["nbr2"]),
    "bais2": IndexSpec(bais2, INDEX_BANDS["bais2"]),
    "savi": IndexSpec(savi, INDEX_BANDS["savi"]),
    "ndbi": IndexSpec(ndbi, INDEX_BANDS["ndbi"]),
    "ndsi": IndexSpec(ndsi, INDEX_BANDS["ndsi"]),
    "ndfi": IndexSpec(ndfi, INDEX_BANDS["ndfi"]),
    "mirbi": IndexSpec(mirbi, INDEX_BANDS["mirbi"]),
}


def compute_index(ds: xr.Dataset, name: str, *, bands: Mapping[str, str] | None = None, **params: Any) -> xr.DataArray:
    """Compute the index ``name`` from the bands of ``ds``.

    Parameters
    ----------
    ds : xarray.Dataset
        Reflectance bands under common names (``nir``, ``red``, ...), numpy or dask.
    name : str
        A key of :data:`INDICES` (case-insensitive).
    bands : mapping, optional
        Substitutions, band the index expects -> variable of ``ds`` to use instead, e.g.
        ``{"nir": "nir08"}`` for LSWI or NBR on the Sentinel-2 20 m grid.
    **params
        Index parameters, e.g. ``L=0.5`` for SAVI.

    Returns
    -------
    xarray.DataArray
        As the index function returns it: float32, named after the index, lazy if ``ds`` is.

    Raises
    ------
    ConfigError
        When ``name`` is not a known index.
    MissingBandError
        When a band the index needs is not a variable of ``ds``.

    Examples
    --------
    >>> ds = xr.Dataset({"nir": ("x", [0.5]), "red": ("x", [0.25])})
    >>> compute_index(ds, "NDVI").values
    array([0.33333334], dtype=float32)
    """
    key = name.lower()
    spec = INDICES.get(key)
    if spec is None:
        raise ConfigError(f"unknown index {name!r}; known indices: {', '.join(sorted(INDICES))}.")
    renames = dict(bands or {})
    unused = sorted(set(renames) - set(spec.bands))
    if unused:
        raise ConfigError(f"bands= maps {unused}, which index {key!r} does not read; it reads {spec.bands}.")
    wanted = [renames.get(b, b) for b in spec.bands]
    present = [str(v) for v in ds.data_vars]
    for band in wanted:
        if band not in ds.data_vars:
            raise MissingBandError(
                f"index {key!r} needs band {band!r}, which is not in the dataset (bands present: "
                f"{', '.join(present) or 'none'}); load it, or map another band with bands={{...}}."
            )
    return spec.function(*(ds[b] for b in wanted), **params)

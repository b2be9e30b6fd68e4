"""Output layers: how each science product is stored (dtype, nodata, scale, classes, overviews).

One :class:`LayerSpec` per layer, gathered in :data:`agromap.layer_registry.LAYERS`
(docs/architecture.md#layer-registry). The writers
(:mod:`agromap.io.write`) and the STAC builder (:mod:`agromap.io.stac`) read everything they
need from the spec, so a product is described once. :func:`encode` turns the float32/bool science
output into the stored dtype lazily, at the export edge only (docs/architecture.md#dtypes-and-nodata).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

from ..errors import ConfigError

if TYPE_CHECKING:  # imported where used: describing a layer must not load the array stack
    import numpy as np
    import xarray as xr

__all__ = ["LayerSpec", "LayerKind", "OverviewResampling", "BASE_SPECS", "encode", "class_slug"]

LayerKind = Literal["class", "continuous"]
OverviewResampling = Literal["mode", "nearest", "average"]

# GDAL 3.10's COG driver knows no MIN/MAX overview resampling ("Unsupported resampling method"),
# so only these are accepted; `max` (natural for flood_duration_days) must wait for it.
_RESAMPLINGS: frozenset[str] = frozenset({"mode", "nearest", "average"})
_DTYPES: frozenset[str] = frozenset({"uint8", "uint16", "int16", "int32", "uint32", "float32"})


@dataclass(frozen=True)
class LayerSpec:
    """How one output layer is stored, tagged and described.

    Frozen and made of str/number/tuple fields only, so it pickles into dask graphs and
    tokenizes deterministically.
    """

    name: str
    """Layer name; also the default band description and STAC asset key."""
    kind: LayerKind
    """``"class"`` for categorical maps (colormap, mode overviews), ``"continuous"`` otherwise."""
    dtype: str
    """Stored numpy dtype name (``"uint8"``, ``"int16"``, ``"float32"``...)."""
    nodata: float | int
    """Stored nodata value; ``nan`` for float layers."""
    units: str
    """Physical unit of the decoded value (``"1"`` for dimensionless, ``"class"`` for classes)."""
    description: str
    """One-line human description (STAC and the band's ``DESCRIPTION`` tag)."""
    scale: float = 1.0
    """Decoded value = stored * scale + offset."""
    offset: float = 0.0
    """See ``scale``."""
    overview_resampling: OverviewResampling | None = None
    """COG overview resampling; ``None`` derives ``mode`` for classes and ``average`` otherwise."""
    classes: tuple[tuple[int, str, str], ...] = ()
    """Class layers: ``(value, name, "RRGGBB")``; gives the colormap, ``CLASS_<n>`` tags and STAC classes."""
    tags: tuple[tuple[str, str], ...] = field(default=())
    """Extra dataset tags written into every file of this layer."""

    def __post_init__(self) -> None:
        # Exceptions, not asserts: asserts vanish under python -O (docs/architecture.md#errors-and-exit-codes).
        import numpy as np

        if self.kind not in ("class", "continuous"):
            raise ConfigError(f"layer {self.name!r}: kind {self.kind!r} is not 'class' or 'continuous'.")
        if self.dtype not in _DTYPES:
            raise ConfigError(f"layer {self.name!r}: dtype {self.dtype!r} is not one of {sorted(_DTYPES)}.")
        if self.overview_resampling is None:
            object.__setattr__(self, "overview_resampling", "mode" if self.kind == "class" else "average")
        if self.overview_resampling not in _RESAMPLINGS:
            raise ConfigError(
                f"layer {self.name!r}: overview_resampling {self.overview_resampling!r} is not one of "
                f"{sorted(_RESAMPLINGS)} (GDAL {_gdal_version()} COG driver)."
            )
        if self.kind == "class" and self.overview_resampling == "average":
            raise ConfigError(f"layer {self.name!r}: class layers need 'mode' or 'nearest' overviews, "
                              "since averaging invents classes.")
        is_float = np.dtype(self.dtype).kind == "f"
        if is_float and not np.isnan(self.nodata):
            raise ConfigError(f"layer {self.name!r}: float layers use NaN as nodata, got {self.nodata!r}.")
        if not is_float:
            info = np.iinfo(self.dtype)
            if not (np.isfinite(self.nodata) and info.min <= self.nodata <= info.max):
                raise ConfigError(f"layer {self.name!r}: nodata {self.nodata!r} does not fit {self.dtype}.")
        if self.kind == "class":
            if is_float or not self.classes:
                raise ConfigError(f"layer {self.name!r}: class layers need an integer dtype and a class table.")
            for value, _name, colour in self.classes:
                if value == self.nodata or len(colour) != 6 or colour.strip("0123456789ABCDEFabcdef"):
                    raise ConfigError(
                        f"layer {self.name!r}: class {value} must differ from nodata and have an "
                        f"'RRGGBB' colour, got {colour!r}."
                    )

    @property
    def is_float(self) -> bool:
        """Whether the stored dtype is floating point (NaN nodata)."""
        import numpy as np

        return np.dtype(self.dtype).kind == "f"

    @property
    def predictor(self) -> int:
        """TIFF predictor for DEFLATE: 2 (horizontal) for integers, 3 (floating point) for floats."""
        return 3 if self.is_float else 2

    def colormap(self) -> dict[int, tuple[int, int, int, int]]:
        """GDAL colour table ``{value: (r, g, b, 255)}``; the TIFF palette has no alpha (nodata gives it)."""
        return {v: (int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16), 255) for v, _n, c in self.classes}

    def class_tags(self) -> dict[str, str]:
        """Band tags ``CLASS_<value>=<name>``."""
        return {f"CLASS_{v}": n for v, n, _c in self.classes}


def _gdal_version() -> str:
    import rasterio

    return str(rasterio.__gdal_version__)


def _float_index(name: str, description: str) -> LayerSpec:
    return LayerSpec(name, "continuous", "float32", float("nan"), "1", description)


_SPECS: tuple[LayerSpec, ...] = (
    _float_index("ndvi", "Normalized Difference Vegetation Index (Rouse et al. 1974)"),
    _float_index("evi", "Enhanced Vegetation Index (Huete et al. 2002)"),
    _float_index("lswi", "Land Surface Water Index (Xiao et al. 2005)"),
    _float_index("ndwi", "Normalized Difference Water Index, green/NIR (McFeeters 1996)"),
    _float_index("mndwi", "Modified NDWI, green/SWIR1 (Xu 2006)"),
    _float_index("nbr", "Normalized Burn Ratio (Key & Benson)"),
    _float_index("bais2", "Burned Area Index for Sentinel-2 (Filipponi 2018)"),
    _float_index("savi", "Soil Adjusted Vegetation Index, L = 0.5 (Huete 1988)"),
    _float_index("ndbi", "Normalized Difference Built-up Index (Zha et al. 2003)"),
    LayerSpec("water_mask", "class", "uint8", 255, "class", "Surface water mask",
              classes=((0, "not water", "C8C8C8"), (1, "water", "0000FF"))),
    # Stored as percent in uint8 with scale 0.01, so readers that apply scale get a 0-1 fraction.
    LayerSpec("valid_fraction", "continuous", "uint8", 255, "1",
              "Fraction of valid (cloud-free, unmasked) observations per pixel", scale=0.01),
)

#: Specs of the layers that belong to no single product (spectral indices, the water mask, the
#: per-date valid fraction); product specs live with their science and are gathered, with these,
#: by the layer registry (:mod:`agromap.layer_registry`).
BASE_SPECS: MappingProxyType[str, LayerSpec] = MappingProxyType({s.name: s for s in _SPECS})


def _encode_block(
    block: np.ndarray, *, dtype: str, nodata: float, scale: float, offset: float
) -> np.ndarray:
    """Encode one block; module level (not a closure) so it pickles to distributed workers."""
    import numpy as np

    if block.dtype == np.bool_:
        block = block.astype(np.uint8)
    # float64 for the arithmetic only, so a uint16 or int32 stored value is not rounded by float32.
    vals = block.astype(np.float64)
    if scale != 1.0 or offset != 0.0:
        vals = (vals - offset) / scale
    out_dt = np.dtype(dtype)
    if out_dt.kind == "f":
        return vals.astype(out_dt)
    vals = np.rint(vals)
    info = np.iinfo(out_dt)
    # NaN, and values the dtype cannot hold, become nodata instead of wrapping around silently.
    bad = ~np.isfinite(vals) | (vals < info.min) | (vals > info.max)
    return np.where(bad, nodata, vals).astype(out_dt)


def encode(arr: xr.DataArray, spec: LayerSpec) -> xr.DataArray:
    """Convert a science output to the layer's stored representation, lazily.

    Parameters
    ----------
    arr : xarray.DataArray
        float32 (NaN = nodata) or bool values in physical units, numpy or dask.
        An array already in ``spec.dtype`` (other than float) is taken as encoded and returned as is.
    spec : LayerSpec
        The target layer.

    Returns
    -------
    xarray.DataArray
        ``spec.dtype``, same coordinates and chunks; lazy when ``arr`` is (nothing is computed).
        Integers: ``round((value - offset) / scale)``; NaN, and values outside the dtype's range or
        equal to nodata, become ``spec.nodata``. Floats: float32 with NaN. ``attrs`` gain
        ``nodata``, ``scale_factor``, ``add_offset`` and ``units``.
    """
    import numpy as np

    out_dt = np.dtype(spec.dtype)
    if arr.dtype == out_dt and out_dt.kind != "f":
        return arr.assign_attrs(_attrs(spec))
    if arr.dtype.kind not in "fbiu":
        raise ConfigError(f"layer {spec.name!r}: cannot encode dtype {arr.dtype}; expected float32 or bool.")
    kernel = functools.partial(
        _encode_block, dtype=spec.dtype, nodata=float(spec.nodata), scale=spec.scale, offset=spec.offset
    )
    if arr.chunks is not None:
        # meta= and dtype= keep dask from calling the kernel on fake input while building the graph.
        data = arr.data.map_blocks(kernel, dtype=out_dt, meta=np.empty((0,) * arr.ndim, dtype=out_dt))
    else:
        data = kernel(np.asarray(arr.data))
    return arr.copy(data=data).assign_attrs(_attrs(spec))


def _attrs(spec: LayerSpec) -> dict[str, object]:
    return {"nodata": spec.nodata, "scale_factor": spec.scale, "add_offset": spec.offset, "units": spec.units}


def class_slug(name: str) -> str:
    """A class name as it appears in column names (``"Flooded rice"`` -> ``flooded_rice``, as in ``flooded_rice_ha``)."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")

"""Run configuration: YAML parsed once, at the boundary, into strict pydantic models.

Unknown keys, duplicate keys and wrong types are errors, reported all at once with their
location (``areas.0.inputs.1.kind: ...``) before any data is opened.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from ..errors import ConfigError
from .products.registry import config_models, product_names
from .schema import IsoDateTime, Nodata, Strict

if TYPE_CHECKING:  # the grid module loads the array stack; a configuration check does not need it
    from ..io.gridspec import GridSpec

__all__ = [
    "RunConfig",
    "AreaConfig",
    "GridConfig",
    "LayerConfig",
    "load_config",
    "parse_config",
    "PRODUCTS",
    "INPUT_KINDS",
]

#: The product names users may write as ``product:`` (from the product registry).
PRODUCTS: tuple[str, ...] = product_names()


class GridConfig(Strict):
    """Target grid; omitted = the first input's grid (its finest band)."""

    crs: str | None = None
    """Target CRS, e.g. ``EPSG:32643`` (with ``resolution``)."""
    resolution: Annotated[float, Field(gt=0)] | None = None
    """Pixel size in CRS units (metres for UTM, degrees for EPSG:4326)."""
    bounds: tuple[float, float, float, float] | None = None
    """``[left, bottom, right, top]`` in ``crs``; omitted: the first input's footprint."""
    resampling: Literal["nearest", "bilinear", "average", "cubic"] = "nearest"
    """For continuous bands; class and QA bands always use nearest."""

    @model_validator(mode="after")
    def _complete(self) -> GridConfig:
        if (self.crs is None) != (self.resolution is None):
            raise ValueError("give both crs and resolution, or neither (to use the first input's grid)")
        if self.bounds is not None and self.crs is None:
            raise ValueError("bounds need crs and resolution")
        if self.bounds is not None:
            left, bottom, right, top = self.bounds
            if not (left < right and bottom < top):
                raise ValueError("bounds must be [left, bottom, right, top] with left < right and bottom < top")
        return self

    def spec(self, chunk: int) -> GridSpec | None:
        """The declared grid as a :class:`GridSpec`, or ``None`` when CRS or resolution are left to the input."""
        if self.crs is None or self.resolution is None:
            return None
        from ..io.gridspec import GridSpec

        return GridSpec(self.crs, self.resolution, self.bounds, chunk)


class BandFile(Strict):
    path: str
    """GeoTIFF/COG file, relative to the configuration file."""
    band: Annotated[int, Field(ge=1)] = 1
    """Band index in the file (1-based)."""


def _band_entry(value: Any) -> Any:
    # Accept "file.tif", ["file.tif", 2] or {path:, band:}.
    if isinstance(value, str):
        return {"path": value}
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return {"path": value[0], "band": value[1]}
    return value


class FilesInput(Strict):
    """GeoTIFF/COG files with a band map (single- or multi-band)."""

    kind: Literal["files"]
    """Selects this input type."""
    datetime: IsoDateTime
    """Acquisition date or time (ISO 8601); files rarely carry it."""
    bands: dict[str, BandFile]
    """Common band name -> ``file.tif``, ``[file.tif, band]`` or ``{path:, band:}``."""
    scale: float | dict[str, float] = 1.0
    """``value = DN * scale + offset``: one number, or one per band."""
    offset: float | dict[str, float] = 0.0
    """Added after ``scale``: one number, or one per band."""
    nodata: Nodata = "auto"
    """DN meaning nodata; ``auto`` takes each file's own tag."""
    raw: tuple[str, ...] = ()
    """Bands kept in their stored integer type (class or QA layers such as ``scl``)."""
    id: str | None = None
    """Scene id in the manifest; default: the first file's name and the date."""

    _coerce = field_validator("bands", mode="before")(lambda v: {k: _band_entry(x) for k, x in v.items()}
                                                      if isinstance(v, dict) else v)


class Sentinel2Input(Strict):
    """A Sentinel-2 L2A product folder."""

    kind: Literal["sentinel2_l2a"]
    """Selects this input type."""
    path: str
    """Product folder (``B02.tif``... or a SAFE folder with ``*_B02_10m.jp2``)."""
    bands: tuple[str, ...] = ("blue", "green", "red", "nir", "nir08", "swir16", "swir22", "scl")
    """Common band names to read."""
    processing_baseline: str | None = Field(None, pattern=r"^\d{2}\.\d{2}$")
    """``04.00``-style baseline when the folder's metadata cannot tell it (it decides the BOA offset)."""


class LandsatInput(Strict):
    """A Landsat Collection 2 Level-2 product folder."""

    kind: Literal["landsat_c2"]
    """Selects this input type."""
    path: str
    """Product folder with its MTL (txt, json or xml) and band files."""
    bands: tuple[str, ...] = ("blue", "green", "red", "nir", "swir16", "swir22")
    """Common band names to read (``qa_pixel`` for the cloud mask)."""


class Sentinel1Input(Strict):
    """Sentinel-1 backscatter GeoTIFF(s) in dB or linear power."""

    kind: Literal["sentinel1"]
    """Selects this input type."""
    datetime: IsoDateTime
    """Acquisition date or time (ISO 8601)."""
    units: Literal["db", "linear"]
    """Units of the files; agromap works in linear power and writes dB at export."""
    bands: dict[Literal["vv", "vh", "hh", "hv", "angle"], BandFile]
    """Polarisation -> ``file.tif``, ``[file.tif, band]`` or ``{path:, band:}``; optionally ``angle``:
    the incidence angle in degrees (15-50 for IW/EW, never converted from dB), with which the flood
    product brings backscatter to a reference angle."""
    id: str | None = None
    """Scene id in the manifest; default: the first file's name and the date."""
    orbit: Annotated[int, Field(ge=1, le=175)] | str | None = None
    """Orbit track of the acquisition: its relative orbit (1-175), ``ascending``/``descending`` or a
    name. Default: read from the files' GeoTIFF tags or a Sentinel-1 product/SAFE/OPERA name in their
    paths. Dates of different tracks get their incidence offsets removed by the SAR rice rule."""

    _coerce = field_validator("bands", mode="before")(lambda v: {k: _band_entry(x) for k, x in v.items()}
                                                      if isinstance(v, dict) else v)


class FolderInput(Strict):
    """A folder of single-band files named by date and band (``2023-06-01_red.tif``): one scene per date."""

    kind: Literal["folder"]
    """Selects this input type."""
    path: str
    """The folder."""
    bands: tuple[str, ...] = Field(min_length=1)
    """Band names as written in the file names; every date needs all of them."""
    pattern: str = "{date}_{band}.tif"
    """File name pattern with ``{date}`` (``2023-06-01`` or ``20230601``) and ``{band}``, optionally
    ``{orbit}`` (letters and digits: a SAR file's orbit track)."""
    scale: float = 1.0
    """``value = DN * scale + offset``."""
    offset: float = 0.0
    """Added after ``scale``."""
    nodata: Nodata = "auto"
    """DN meaning nodata; ``auto`` takes each file's own tag."""
    raw: tuple[str, ...] = ()
    """Bands kept in their stored integer type (class or QA layers)."""
    sar_units: Literal["db", "linear"] | None = None
    """Set for backscatter bands: they are read as Sentinel-1 (linear power inside agromap)."""
    orbit: Annotated[int, Field(ge=1, le=175)] | str | None = None
    """Backscatter bands: the orbit track of every file (relative orbit 1-175, ``ascending``/``descending``
    or a name). A pattern with ``{orbit}`` (``{date}_{orbit}_{band}.tif``) names each file's track instead;
    default: each date's GeoTIFF tags or Sentinel-1 product names."""


class StacInput(Strict):
    """One STAC item JSON (path or URL); read band by band with file-tile chunks."""

    kind: Literal["stac_item"]
    """Selects this input type."""
    path: str
    """Item JSON file or URL."""
    bands: tuple[str, ...] | None = None
    """Common band names (or asset keys); default: the Sentinel-2 bands and ``scl`` the item has."""
    asset_root: str | None = None
    """A local folder holding downloaded copies of remote assets (matched by file name)."""
    sign: str | None = None
    """Dotted name of an href-signing function, e.g. ``planetary_computer.sign``."""


class StacItemsInput(Strict):
    """STAC items from local or remote JSON: ItemCollection file(s) or item files, read by odc-stac."""

    kind: Literal["stac_items"]
    items: str | list[str]
    """An ItemCollection or item JSON (path or URL), or a list of them."""
    bands: tuple[str, ...] = Field(min_length=1)
    """Common names (or asset keys): red, nir, scl..."""
    asset_root: str | None = None
    """A local folder holding downloaded copies of remote assets (matched by file name)."""
    sign: str | None = None
    """Dotted name of an href-signing function, e.g. ``planetary_computer.sign``."""


class StacSearchInput(Strict):
    """A STAC API search (pystac-client): catalogue, collections, area, dates and filters."""

    kind: Literal["stac_search"]
    url: str = Field(pattern=r"^https?://")
    """Root URL of the STAC API (the landing page whose ``/search`` endpoint is queried)."""
    collections: list[str] = Field(min_length=1)
    """Collection ids to search, e.g. ``sentinel-2-l2a``."""
    datetime: str
    """``2023-06-01/2023-11-30`` (an RFC 3339 interval) or one date."""
    bands: tuple[str, ...] = Field(min_length=1)
    """Common names (or asset keys) to load: red, nir, scl..."""
    bbox: tuple[float, float, float, float] | None = None
    """(west, south, east, north) in degrees; default: the area's polygon or its grid bounds."""
    intersects: str | None = None
    """A vector file (GeoJSON, GeoPackage) whose polygons' union is searched, e.g. the district."""
    query: dict[str, dict[str, Any]] = {}
    """Query-extension filters: ``{"eo:cloud_cover": {"lt": 60}}``."""
    filter: dict[str, Any] | None = None
    """A CQL2-JSON filter for APIs with the filter extension."""
    max_items: Annotated[int, Field(ge=1)] = 500
    """Most items taken from the search (pages are followed until this many); a guard against a too-wide query."""
    limit: Annotated[int, Field(ge=1, le=10000)] = 100
    """Page size asked of the server."""
    sign: str | None = None
    """Dotted name of an href-signing function, e.g. ``planetary_computer.sign``."""

    @model_validator(mode="after")
    def _one_area(self) -> StacSearchInput:
        if self.bbox is not None and self.intersects is not None:
            raise ValueError("give bbox or intersects, not both")
        if self.bbox is not None:
            w, s, e, n = self.bbox
            if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
                raise ValueError("bbox must be [west, south, east, north] in degrees with west < east, south < north")
        return self


class S5PL2Input(Strict):
    """Sentinel-5P Level-2 swath files of one product, QA-filtered and binned daily onto the area grid.

    The area needs a declared EPSG:4326 grid (crs, resolution in degrees, bounds).
    """

    kind: Literal["s5p_l2"]
    paths: list[str] = Field(min_length=1)
    """Files or glob patterns (relative to the YAML)."""
    product: Literal["NO2", "CO", "SO2", "HCHO", "AER_AI"] | None = None
    """The Level-2 product in the files; default: read from each file's metadata (all must agree)."""
    qa_threshold: float | None = None
    """Default: the product's own (NO2 0.75, CO/SO2/HCHO 0.5, AER_AI 0.8; docs/science/air_quality.md)."""
    method: Literal["auto", "area", "point"] = "auto"
    """Swath-to-grid binning: ``area`` weights each ground pixel by its overlap with a cell (needs the
    pixel corners), ``point`` puts each pixel in the cell holding its centre; ``auto`` uses ``area``
    when the file has corners."""


class S5PL3Input(Strict):
    """A gridded Level-3 trace-gas raster (GeoTIFF or GPKG:file:table) in a stated unit."""

    kind: Literal["s5p_l3"]
    path: str
    """The raster (relative to the YAML)."""
    units: str
    """Unit of the raster's values: mol m-2, mmol m-2, umol m-2, molec cm-2 or DU (converted to mol m-2);
    stated because gridded products rarely carry it."""
    product: Literal["NO2", "CO", "SO2", "HCHO", "AER_AI"] = "NO2"
    """The trace gas the raster holds."""
    datetime: IsoDateTime
    """Date (ISO 8601) the raster stands for."""
    band: Annotated[int, Field(ge=1)] = 1
    """Band of the raster to read (1-based)."""


class AodInput(Strict):
    """Aerosol optical depth: the Sentinel-2 L2A AOT band, or a MAIAC Optical_Depth_055 raster (+ AOD_QA)."""

    kind: Literal["aod"]
    source: Literal["s2_aot", "maiac"]
    """``s2_aot``: the Sentinel-2 L2A AOT band (scaled by 0.001); ``maiac``: MODIS MAIAC Optical_Depth_055."""
    path: str
    """The AOD raster or GDAL subdataset name (relative to the YAML)."""
    qa_path: str | None = None
    """MAIAC only: the AOD_QA raster (same bands and grid) whose cloud mask and QA bits filter the AOD;
    without it only the valid range is used."""
    datetime: IsoDateTime
    """Date (ISO 8601) of the observation."""


InputConfig = Annotated[
    FilesInput | Sentinel2Input | LandsatInput | Sentinel1Input | StacInput | FolderInput | S5PL2Input | S5PL3Input
    | AodInput | StacItemsInput | StacSearchInput,
    Field(discriminator="kind"),
]
#: The ``kind:`` values of the input models; each has one loader in :mod:`agromap.pipeline.input_registry`.
INPUT_KINDS: tuple[str, ...] = tuple(get_args(m.model_fields["kind"].annotation)[0]
                                     for m in get_args(get_args(InputConfig)[0]))


class MaskConfig(Strict):
    """Which pixels count as valid before products are computed."""

    scl_invalid: tuple[int, ...] = (0, 1, 3, 8, 9, 10, 11)
    """Sentinel-2 SCL classes masked (nodata, saturated, shadow, clouds, cirrus, snow)."""
    qa_pixel_snow: bool = False
    """Also mask Landsat ``QA_PIXEL`` snow/ice (bit 5)."""


class DistrictsConfig(Strict):
    """Polygons (GeoJSON, GeoPackage, Shapefile) for per-district tables of every layer."""

    path: str
    """Polygon file, relative to the configuration file."""
    id_field: str
    """Attribute with each district's unique code (the tables' row key)."""
    name_field: str | None = None
    """Attribute with a readable name, added to the tables."""


#: One layer entry: the configuration model of whichever product plug-in its ``product`` names.
if TYPE_CHECKING:
    # The union is assembled at run time from the registered products, so a type checker sees any layer.
    LayerConfig = Any
else:
    LayerConfig = Annotated[Union[config_models()], Field(discriminator="product")]  # noqa: UP007 (a runtime tuple)


class DatesConfig(Strict):
    """How acquisitions become dates: grouping in time and mosaicking of tiles within a date."""

    group_by: str = "solar_day"
    """``solar_day`` (UTC time + longitude/15 h, the default), ``time`` (exact timestamps) or a
    duration such as ``2h`` (acquisitions no further apart share a date)."""
    mosaic: Literal["first", "best_quality"] = "first"
    """Overlapping scenes of one date: the first valid pixel in the order inputs are listed, or
    the pixel with the best Sentinel-2 SCL class."""

    @field_validator("group_by")
    @classmethod
    def _group_by(cls, v: str) -> str:
        if v in ("solar_day", "time"):
            return v
        import pandas as pd

        try:
            if pd.Timedelta(v) <= pd.Timedelta(0):
                raise ValueError
        except ValueError:
            raise ValueError("group_by must be 'solar_day', 'time' or a positive duration such as '2h'") from None
        return v


class AreaConfig(Strict):
    """An area of interest: inputs put on one grid and the layers made from them."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    """Names the area's output folder."""
    grid: GridConfig = GridConfig()
    """The grid every input is put on."""
    inputs: list[InputConfig] = Field(min_length=1)
    """Scenes, by ``kind``; the ones of one date are mosaicked."""
    mask: MaskConfig = MaskConfig()
    """Which pixels are valid before products are computed."""
    dates: DatesConfig = DatesConfig()
    """How acquisitions become dates."""
    layers: list[LayerConfig] = Field(min_length=1)
    """Products to make, by ``product`` (see the layer sections below)."""
    districts: DistrictsConfig | None = None
    """Polygons for per-district tables of every layer."""
    exceedance: dict[str, float] = {}
    """Per-district exceedance days: layer name -> limit, e.g. {pm25_sat: 60} (CPCB 24-h PM2.5 µg m-3)."""


class RunConfig(Strict):
    """A whole run: areas, execution settings and guard rails."""

    version: Literal[1] = 1
    """Version of this configuration format."""
    name: str = Field("run", pattern=r"^[A-Za-z0-9_-]+$")
    """Names the run's STAC catalog."""
    scheduler: str = "threads"
    """``threads`` (dask's threaded scheduler: the fastest on one machine, so the default),
    ``local`` (a dask.distributed LocalCluster sized to the machine, with its dashboard),
    ``synchronous``, or a scheduler address such as ``tcp://10.0.0.5:8786``."""
    chunk: Annotated[int, Field(ge=256, multiple_of=256)] = 1024
    """Dask chunk edge in pixels."""
    max_graph_chunks: Annotated[int, Field(ge=1)] | None = None
    """Most input chunks (one chunk: one tile of one band of one date) one task graph may hold.
    A larger area is computed as successive graphs over spatial blocks of its grid, with the same
    outputs byte for byte; layers that depend on a statistic of the whole area (flood thresholds,
    a self-trained classifier) still run as one graph. Default (unset): 4096. ``agromap run
    --max-graph-chunks`` overrides."""
    max_pixels: Annotated[int, Field(gt=0)] = 1_600_000_000
    """Largest band an input may have (pixels): a guard against decompression bombs."""
    areas: list[AreaConfig] = Field(min_length=1)
    """Areas of interest, each with its own grid, inputs and layers."""
    mapsheets: bool = False
    """Also write a PNG and PDF map sheet per decision layer (``<out>/mapsheets``)."""
    allow_remote: bool = False
    """Read over the network: ``https://``/``s3://`` paths, STAC API searches, remote STAC items and
    hrefs, GDAL ``/vsi...`` paths. Off by default: a configuration or STAC item written by someone
    else must not make this machine call out (``agromap run --allow-remote`` overrides)."""
    allow_outside_paths: bool = False
    """Read local STAC asset hrefs outside the item's folder (and its ``asset_root``); off by
    default (``agromap run --allow-outside-paths`` overrides)."""
    base_dir: str = Field(".", exclude=True)
    """Directory relative input paths resolve against (the config file's folder)."""

    @model_validator(mode="after")
    def _unique_areas(self) -> RunConfig:
        names = [a.name for a in self.areas]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"area names must be unique; repeated: {sorted(dup)}")
        return self

    def href(self, path: str) -> str:
        """Like :meth:`resolve`, but a URL (``https://``, ``s3://``, ``/vsicurl/``) is kept as it is."""
        from ..io.remote import resolve_href

        return resolve_href(path, self.base_dir)

    def resolve(self, path: str) -> Path:
        """``path`` relative to the configuration file's folder (``~`` expanded; absolute paths kept)."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (Path(self.base_dir) / p)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses duplicate mapping keys instead of keeping the last one."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise ConfigError(f"mapping key at line {key_node.start_mark.line + 1} is a {type(key).__name__}; "
                              "keys must be plain names.")
        if key in seen:
            raise ConfigError(f"duplicate key {key!r} at line {key_node.start_mark.line + 1}; keep one of them.")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _format_errors(exc: ValidationError, source: str) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check spelling; see pipelines/demo.yaml for the schema)"
        elif err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc, msg = _tag_error(err, loc)
        parts.append(f"{loc}: {msg}")
    return f"{source}: invalid configuration: " + "; ".join(parts)


def _tag_error(err: Any, loc: str) -> tuple[str, str]:
    """Location and message of a missing or unknown ``kind`` (an input) or ``product`` (a layer)."""
    field = str((err.get("ctx") or {}).get("discriminator", "")).strip("'")
    what, known = ("input kind", INPUT_KINDS) if field == "kind" else ("product", PRODUCTS)
    if err["type"] == "union_tag_not_found":
        return loc, f"no {field!r} given; choose one of {', '.join(known)}"
    return f"{loc}.{field}", f"unknown {what} {err['input'].get(field)!r}; choose one of {', '.join(known)}"


def parse_config(data: Any, *, source: str = "config", base_dir: str | Path = ".") -> RunConfig:
    """Validate a mapping (already loaded from YAML) into a :class:`RunConfig`."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping with an 'areas' list, got {type(data).__name__}.")
    try:
        return RunConfig.model_validate({**data, "base_dir": str(base_dir)})
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, source)) from None


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a YAML run file; relative paths resolve against its folder."""
    p = Path(path)
    text = _read_config_text(p)
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML ({str(exc).splitlines()[0]}).") from None
    except RecursionError:
        raise ConfigError(f"{p}: the YAML is nested too deeply to be a run configuration.") from None
    try:
        return parse_config(data, source=str(p), base_dir=p.resolve().parent)
    except RecursionError:
        raise ConfigError(f"{p}: the configuration is nested too deeply.") from None


#: A run configuration is a few KB; anything this large is not one (and must not fill memory).
MAX_CONFIG_BYTES = 1 << 20


def _read_config_text(p: Path) -> str:
    """The file's text: a regular file, at most MAX_CONFIG_BYTES, UTF-8; checked before it is read."""
    import os
    import stat

    try:
        st = os.stat(p)
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the configuration ({exc.strerror}).") from None
    if not stat.S_ISREG(st.st_mode):  # a FIFO would block, /dev/zero would never end
        raise ConfigError(f"{p}: the configuration is not a regular file; give the path of a YAML file.")
    if st.st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{p}: {st.st_size:,} bytes is too large for a run configuration "
                          f"(limit {MAX_CONFIG_BYTES:,}); check the path.")
    try:
        with open(p, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the configuration ({exc.strerror}).") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{p}: too large for a run configuration (limit {MAX_CONFIG_BYTES:,} bytes).")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text (byte {exc.start}); save the configuration as UTF-8.") from None

"""``agromap validate`` without the array stack: headers, dates, the run grid and each layer's needs.

The full plan (:func:`agromap.pipeline.runner.plan_run`) opens every header and builds every
layer's lazy graph, which means importing xarray, dask and the science modules and building
thousands of tasks only to throw them away. This module reaches the same verdict for the common
cases from headers alone: it finds each input's files (:mod:`agromap.io.discover`), opens their
headers (:mod:`agromap.io.header`), groups the scenes into dates and builds the run grid as the
stack would, and asks each layer's product plug-in whether the area has what it needs
(``Product.preflight``), which also names the files the layer will write.

It proves validity, it does not diagnose: whatever it does not model (an input kind, a product
option, a grouping rule) and whatever it finds wrong raises :class:`~agromap.errors.PlanNeeded`,
and the caller then runs the full plan, which accepts or refuses the configuration with the
messages ``agromap run`` gives. A verdict can therefore only differ from ``run``'s if this module
accepts something the full plan refuses; tests/test_60_cli.py runs both on every shipped pipeline
and on bad inputs to keep it so.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import PlanNeeded
from ..io.header import RasterHeader, read_header
from ..io.slices import slice_labels, solar_offset_hours
from .area_inputs import AreaInputs

if TYPE_CHECKING:
    from odc.geo.geobox import GeoBox

    from .config import AreaConfig, RunConfig

__all__ = ["BandHeader", "LightScene", "AreaSummary", "check_run", "check_area", "scene_dates",
           "run_geobox"]


@dataclass(frozen=True)
class BandHeader:
    """One band of one file as the run will read it: where, and on which grid."""

    path: str
    index: int
    """1-based band index in the file."""
    geobox: GeoBox
    raw: bool
    """Kept in its stored (integer) type: class and QA bands."""


@dataclass(eq=False)
class LightScene:
    """One acquisition as its loader would return it, with headers instead of lazy arrays."""

    id: str
    datetime: _dt.datetime
    """Acquisition time, UTC."""
    bands: dict[str, BandHeader]
    """By common name, in the loader's order (the finest band of the first scene sets the grid)."""


@dataclass(frozen=True)
class AreaSummary:
    """What ``agromap validate`` prints of a valid area."""

    name: str
    n_scenes: int
    geobox: GeoBox
    stems: list[str] = field(default_factory=list)


def _utc(text: str) -> _dt.datetime:
    """An acquisition time as the loaders make it: naive means UTC."""
    try:
        t = _dt.datetime.fromisoformat(str(text).strip())
    except ValueError:
        raise PlanNeeded(f"datetime {text!r} needs pandas") from None
    return t.replace(tzinfo=_dt.timezone.utc) if t.tzinfo is None else t.astimezone(_dt.timezone.utc)


# ---- inputs: one header reader per kind ---------------------------------------------------------


class _Headers:
    """Each file's header read once per check (a multi-band file serves several bands)."""

    def __init__(self, max_pixels: int) -> None:
        self.max_pixels = max_pixels
        self._seen: dict[str, RasterHeader] = {}

    def band(self, path: str, index: int, raw: bool) -> BandHeader:
        hdr = self._seen.get(path)
        if hdr is None:
            hdr = self._seen[path] = read_header(path, max_pixels=self.max_pixels)
        if not 1 <= index <= hdr.count:
            raise PlanNeeded(f"{path}: band {index} of {hdr.count}")
        if hdr.crs_wkt is None:
            raise PlanNeeded(f"{path}: no CRS")
        from affine import Affine
        from odc.geo.geobox import GeoBox

        return BandHeader(hdr.path, index, GeoBox((hdr.height, hdr.width), Affine(*hdr.transform), hdr.crs_wkt), raw)

    def tags(self, path: str) -> dict[str, str]:
        hdr = self._seen.get(path) or read_header(path, max_pixels=self.max_pixels)
        return dict(hdr.tags)


def _files(cfg: RunConfig, inp: Any, area: AreaConfig, headers: _Headers) -> list[LightScene]:
    bands = {n: headers.band(cfg.href(b.path), b.band, n in inp.raw) for n, b in inp.bands.items()}
    return [LightScene(inp.id or "", _utc(inp.datetime), bands)]


def _sentinel1(cfg: RunConfig, inp: Any, area: AreaConfig, headers: _Headers) -> list[LightScene]:
    bands = {n: headers.band(cfg.href(b.path), b.band, False) for n, b in inp.bands.items()}
    _s1_track(headers, [cfg.href(b.path) for n, b in inp.bands.items()], list(inp.bands), inp.orbit)
    return [LightScene(inp.id or "", _utc(inp.datetime), bands)]


def _s1_track(headers: _Headers, paths: list[str], names: list[str], orbit: Any) -> None:
    """The loader's track lookup (declared, tags, names): the same checks, nothing kept."""
    from ..sensors.s1_bands import INCIDENCE_BAND
    from ..sensors.s1_orbit import track_metadata, track_of

    paths = [p for p, n in zip(paths, names) if n != INCIDENCE_BAND]
    tags = headers.tags(paths[0]) if paths and orbit is None else None
    track_metadata(track_of(declared=orbit, tags=tags, names=paths))


def _folder(cfg: RunConfig, inp: Any, area: AreaConfig, headers: _Headers) -> list[LightScene]:
    from ..io.discover import folder_scenes

    root = cfg.resolve(inp.path)
    scenes = []
    for (date, track), files in folder_scenes(root, inp.pattern, inp.bands):
        if inp.sar_units is not None:
            from ..sensors.s1_bands import INCIDENCE_BAND, POLARISATIONS

            if not set(files) <= {*POLARISATIONS, INCIDENCE_BAND}:
                raise PlanNeeded("backscatter bands that are not polarisations")
            bands = {b: headers.band(str(p), 1, False) for b, p in files.items()}
            _s1_track(headers, [str(p) for p in files.values()], list(files), track or inp.orbit)
        else:
            bands = {b: headers.band(str(p), 1, b in inp.raw) for b, p in files.items()}
        scenes.append(LightScene(f"{root.name}-{date}", _utc(date), bands))
    return scenes


def _stac_item(cfg: RunConfig, inp: Any, area: AreaConfig, headers: _Headers) -> list[LightScene]:
    """The checks of :func:`agromap.io.loaders.load_stac_item`: the item, its assets' headers, its time."""
    from ..io.stac_items import asset_index, band_asset, read_items
    from ..sensors import s2_l2a
    from ..sensors.s1_orbit import stac_track_metadata

    if inp.sign:
        raise PlanNeeded("a signed STAC item")
    items = read_items(cfg.href(inp.path))
    if len(items) != 1:
        raise PlanNeeded("several items in one stac_item input")
    it = items[0]
    asset_root = cfg.resolve(inp.asset_root) if inp.asset_root else None
    wanted = inp.bands or tuple(n for n in (*s2_l2a.BANDS, "scl") if n in asset_index(it))
    bands = {}
    for name in wanted:
        ba = band_asset(it, name, asset_root=asset_root)
        bands[name] = headers.band(ba.href, 1, ba.raw)
    if it.datetime is None or it.datetime.tzinfo is None:
        raise PlanNeeded("an item without a time zone-aware datetime")
    stac_track_metadata(it.properties)
    props = it.properties
    if "s2:processing_baseline" in props or str(props.get("constellation", "")).lower() == "sentinel-2":
        s2_l2a.radiometry_from_metadata(stac_properties=props, product_name=it.id)
    return [LightScene(it.id, it.datetime.astimezone(_dt.timezone.utc), bands)]


#: Input kinds checked from headers; any other kind is left to the full plan.
READERS: Mapping[str, Callable[[RunConfig, Any, AreaConfig, _Headers], list[LightScene]]] = {
    "files": _files,
    "sentinel1": _sentinel1,
    "folder": _folder,
    "stac_item": _stac_item,
}


# ---- dates and grid: what io.scene.stack_scenes and run_geobox decide --------------------------


def scene_dates(scenes: list[LightScene], group_by: str) -> dict[int, _dt.datetime]:
    """The date (earliest acquisition of its slice) of each scene, by ``id(scene)``, as
    :func:`agromap.io.scene.group_scenes` groups them (``solar_day`` and ``time`` only).
    """
    if group_by == "time":
        keys: dict[int, Any] = {id(s): s.datetime for s in scenes}
    elif group_by == "solar_day":
        keys = {}
        for s in scenes:
            local = s.datetime + _dt.timedelta(hours=solar_offset_hours(next(iter(s.bands.values())).geobox))
            keys[id(s)] = local.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        raise PlanNeeded(f"group_by {group_by!r}")
    return slice_labels(scenes, keys)


def run_geobox(scenes: list[LightScene], area: AreaConfig, chunk: int) -> GeoBox:
    """The run grid as :func:`agromap.io.scene.run_geobox` makes it."""
    from ..io.gridspec import covering, geobox_from_spec

    first = scenes[0]
    like = min((b.geobox for b in first.bands.values()), key=lambda g: abs(g.resolution.x))
    spec = area.grid.spec(chunk)
    if spec is not None:
        return geobox_from_spec(spec, like=like)
    dates = scene_dates(scenes, area.dates.group_by)
    same = [s for s in scenes if dates[id(s)] == dates[id(first)] and s is not first]
    if not same:
        return like
    return covering(like, (band.geobox for scene in same for band in scene.bands.values()))


def _stack(scenes: list[LightScene], gbox: GeoBox, group_by: str) -> tuple[tuple[_dt.datetime, ...],
                                                                          dict[str, tuple[bool, ...]]]:
    """Dates and per-date band presence of the stack; the overlap checks of its regridding."""
    from ..io.gridspec import overlaps

    dates = scene_dates(scenes, group_by)
    by_date: dict[_dt.datetime, list[LightScene]] = {}
    for s in scenes:
        by_date.setdefault(dates[id(s)], []).append(s)
    order = sorted(by_date)
    for when in order:
        group = by_date[when]
        if len(group) > 1:  # tiles of a pass that miss the area add nothing
            inside = [s for s in group if any(overlaps(b.geobox, gbox) for b in s.bands.values())]
            group = by_date[when] = inside or group[:1]
        for s in group:
            for name, b in s.bands.items():
                if b.geobox != gbox and not overlaps(b.geobox, gbox):
                    raise PlanNeeded(f"{name} of {s.id} does not overlap the grid")
    names = {n for s in scenes for n in s.bands}
    present = {n: tuple(any(n in s.bands for s in by_date[w]) for w in order) for n in sorted(names)}
    return tuple(order), present


# ---- areas and runs -------------------------------------------------------------------------------


def check_area(cfg: RunConfig, area: AreaConfig) -> AreaSummary:
    """Check one area from headers; its summary, or :class:`PlanNeeded`.

    Raises
    ------
    PlanNeeded
        Something the light check does not model or finds wrong: the full plan decides.
    AgromapError
        A fault found by the same code the full plan runs first (headers, folders, districts).
    """
    from ..io.trust import allow_inputs
    from .products.registry import get_product

    with allow_inputs(remote=cfg.allow_remote, outside_paths=cfg.allow_outside_paths):
        headers = _Headers(cfg.max_pixels)
        scenes: list[LightScene] = []
        for inp in area.inputs:
            reader = READERS.get(inp.kind)
            if reader is None:
                raise PlanNeeded(f"input kind {inp.kind!r}")
            scenes.extend(reader(cfg, inp, area, headers))
        if not scenes:
            raise PlanNeeded("no scenes")
        gbox = run_geobox(scenes, area, cfg.chunk)
        dates, present = _stack(scenes, gbox, area.dates.group_by)
        raw = frozenset(n for s in scenes for n, b in s.bands.items() if b.raw)
        if "scl" in present and "scl" not in raw or "qa_pixel" in present and "qa_pixel" not in raw:
            raise PlanNeeded("a QA band read as physical values")
        inputs = AreaInputs(area, gbox, dates, present, raw, cfg.resolve)
        stems: list[str] = []
        for layer in area.layers:
            product = get_product(layer.product)
            if product.preflight is None:
                raise PlanNeeded(f"product {layer.product!r} declares no preflight")
            stems.extend(product.preflight(inputs, layer))
        if len(set(stems)) != len(stems):
            raise PlanNeeded("a layer would be written twice")
        if area.districts is not None:
            from .preflight import check_district_grid, check_districts

            d = area.districts
            check_districts(cfg.resolve(d.path), d.id_field, d.name_field, gbox, area.name)
            check_district_grid(cfg.resolve(d.path), d.id_field, d.name_field, gbox)
    return AreaSummary(area.name, len(scenes), gbox, stems)


def check_run(cfg: RunConfig) -> list[AreaSummary]:
    """Every area of ``cfg`` from headers, after the scheduler name as the plan checks it.

    Input kinds are not looked up in the loader registry (that imports every loader, and with
    them the array stack): a kind without a header reader here goes to the full plan, which
    checks it.
    """
    from .products.registry import get_product
    from .scheduler import check_scheduler

    check_scheduler(cfg.scheduler)
    for area in cfg.areas:  # before any file is opened: what is not modelled here costs nothing
        for inp in area.inputs:
            if inp.kind not in READERS:
                raise PlanNeeded(f"input kind {inp.kind!r}")
        for layer in area.layers:
            if get_product(layer.product).preflight is None:
                raise PlanNeeded(f"product {layer.product!r} declares no preflight")
    return [check_area(cfg, area) for area in cfg.areas]

"""The I/O edges: readers onto a grid (ingest) and COG/STAC writers (export)."""

from .._lazy import attach

__all__, __getattr__, __dir__ = attach(__name__, {
    # readers
    "load_sentinel2_l2a": ".loaders",
    "load_landsat_c2": ".loaders",
    "load_sentinel1": ".loaders",
    "load_stac_item": ".loaders",
    "load_folder": ".loaders",
    "load_files": ".loaders",
    "load_stac": ".stac_search",
    "search_items": ".stac_search",
    "open_band": ".read",
    # the grid
    "stack_scenes": ".scene",
    "run_geobox": ".scene",
    "geobox_of": ".grid",
    "crs_of": ".grid",
    "attach_geobox": ".grid",
    "to_grid": ".grid",
    # export
    "publish_cog": ".write",
})

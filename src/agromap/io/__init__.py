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
    "read_station_csv": ".stations_read",
    "read_pm25_model": ".pm25_model_io",
    # the grid
    "stack_scenes": ".scene",
    "run_geobox": ".scene",
    "geobox_of": ".grid",
    "crs_of": ".grid",
    "attach_geobox": ".grid",
    "to_grid": ".grid",
    # export
    "publish_cog": ".write",
    "write_pm25_model": ".pm25_model_io",
})

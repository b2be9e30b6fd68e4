"""agromap: satellite rasters to rice, air-quality and disaster decision layers.

``import agromap as am`` gives the functions a notebook needs, each imported on first use so that
importing the package (and starting the ``agromap`` command) stays fast:

- data in and out: :func:`load` (inputs to one lazy Dataset on one grid, ``.odc`` and ``.rio``
  ready) and :func:`to_cog` (the export edge: a validated Cloud-Optimised GeoTIFF);
- spectral indices and masks: :func:`compute_index`, :func:`ndvi`, :func:`evi`, :func:`lswi`,
  :func:`ndwi`, :func:`mndwi`, :func:`nbr`, :func:`savi`, :func:`scl_valid`,
  :func:`qa_pixel_valid`, :func:`apply_mask`, :func:`water_mask`;
- rice: the phenology rules (:func:`optical_rice_rule`, :func:`sar_rice_rule`), the self-trained
  map (:func:`self_trained_rice_map`), the supervised classifier (:func:`temporal_features`,
  :func:`read_labels`, :func:`extract_samples`, :func:`train_rice_model`,
  :func:`load_rice_model`, :func:`predict_rice`), seasons, areas and accuracy
  (:func:`split_seasons`, :func:`mapped_area_ha`, :func:`olofsson`);
- disasters: :func:`flood_map`, :func:`dnbr`, :func:`burn_severity`, :func:`vci`;
- air quality: :func:`grid_s5p`, :func:`estimate_pm25`, :func:`subindex`, :func:`aqi`,
  :func:`aqi_from_concentrations`;
- pictures: :func:`true_colour`, :func:`index_map`, :func:`class_map`, :func:`time_series`.

Using any of them also registers the ``.agromap`` accessor on xarray objects (as
``import agromap.accessor`` does). Every function is lazy on dask-backed input: nothing is computed
until :func:`to_cog`, ``.compute()`` or a plot.
"""

from ._lazy import attach
from ._version import __version__


def _register_accessor() -> None:
    from . import accessor  # noqa: F401  (registers ds.agromap / da.agromap)


_names, __getattr__, __dir__ = attach(__name__, {
    # data in and out
    "load": ".api",
    "to_cog": ".accessor:write_cog",
    # spectral indices and masks
    "compute_index": ".indices",
    "ndvi": ".indices",
    "evi": ".indices",
    "lswi": ".indices",
    "ndwi": ".indices",
    "mndwi": ".indices",
    "nbr": ".indices",
    "savi": ".indices",
    "scl_valid": ".masks",
    "qa_pixel_valid": ".masks",
    "apply_mask": ".masks",
    "water_mask": ".water",
    # rice: rules, self-trained, supervised, seasons, area and accuracy
    "optical_rice_rule": ".rice.rules_optical",
    "sar_rice_rule": ".rice.rules_sar",
    "self_trained_rice_map": ".rice.self_trained",
    "temporal_features": ".rice.features",
    "read_labels": ".rice.labels",
    "extract_samples": ".rice.labels",
    "train_rice_model": ".rice.model:train",
    "load_rice_model": ".rice.model:load_model",
    "predict_rice": ".rice.model:predict",
    "split_seasons": ".rice.seasons",
    "mapped_area_ha": ".area",
    "olofsson": ".rice.accuracy",
    # disasters
    "flood_map": ".disaster.flood",
    "dnbr": ".disaster.burn",
    "burn_severity": ".disaster.burn",
    "vci": ".disaster.drought",
    # air quality
    "grid_s5p": ".airquality.s5p",
    "estimate_pm25": ".airquality.pm25",
    "subindex": ".airquality.aqi",
    "aqi": ".airquality.aqi",
    "aqi_from_concentrations": ".airquality.aqi",
    # pictures
    "true_colour": ".plot",
    "index_map": ".plot",
    "class_map": ".plot",
    "time_series": ".plot",
}, on_first_use=_register_accessor)

__all__ = ["__version__", *_names]

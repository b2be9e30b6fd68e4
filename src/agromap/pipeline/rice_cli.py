"""``agromap rice-*`` commands: train a model, classify point tables, draw reference samples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..errors import AgromapError, ConfigError, CorruptInputError
from ..io.trust import check_regular_file

__all__ = ["register"]


def _fail(exc: AgromapError) -> None:
    typer.echo(f"agromap: error: {exc}", err=True)
    raise typer.Exit(exc.exit_code)


def train_cmd(
    config: Annotated[Path, typer.Argument(help="Pipeline YAML whose area provides the image stack.")],
    area: Annotated[str, typer.Option(help="Area (name in the YAML) to extract features from.")],
    labels: Annotated[Path, typer.Option(help="Labelled points/polygons (GeoJSON, GeoPackage, CSV with x,y).")],
    out: Annotated[Path, typer.Option(help="Model file to write (.skops; a .json sidecar goes beside it).")],
    class_field: Annotated[str, typer.Option(help="Label column holding the class (1 rice, 0 other).")] = "class",
    block_size: Annotated[float, typer.Option(help="Cross-validation block edge in metres.")] = 10_000.0,
    trees: Annotated[int, typer.Option(help="Random-forest trees.")] = 200,
) -> None:
    """Train the supervised rice classifier with spatially blocked cross-validation and save it (skops)."""
    import math

    from ..rice.features import temporal_features
    from ..rice.labels import extract_samples, read_labels
    from ..rice.model import TrainParams, save_model, train
    from .config import load_config
    from .runner import plan_area

    if not (math.isfinite(block_size) and block_size > 0):
        _fail(ConfigError(f"--block-size must be a positive number of metres, not {block_size!r}."))
    if trees < 1:
        _fail(ConfigError(f"--trees must be at least 1, not {trees}."))
    try:
        cfg = load_config(config)
        match = [a for a in cfg.areas if a.name == area]
        if not match:
            raise ConfigError(f"{config}: no area named {area!r}; areas are {[a.name for a in cfg.areas]}.")
        plan = plan_area(cfg, match[0])
        ds = plan.dataset
        optical = ds if "red" in ds else None
        sar = ds[[v for v in ("vh", "vv") if v in ds]] if "vh" in ds else None
        feats = temporal_features(optical=optical, sar=sar)
        gdf = read_labels(check_regular_file(labels, "label file"), class_column=class_field)
        # Training is an export edge of its own: the labelled pixels are computed once, here.
        samples = extract_samples(gdf, feats, block_size_m=block_size).compute()
        model = train(samples, TrainParams(n_estimators=trees))
        out.parent.mkdir(parents=True, exist_ok=True)
        digest = save_model(model, out)
    except AgromapError as exc:
        _fail(exc)
    cv = model.metadata["cv"]
    typer.echo(json.dumps({"model": str(out), "sha256": digest, "n_samples": model.metadata.get("n_samples"),
                           "cv_mean": cv["mean"], "cv_folds": len(cv["folds"]),
                           "cv_folds_requested": cv["n_splits_requested"],
                           "cv_fold_reduction": cv.get("fold_reduction", "")}, indent=1, default=str))


def points_cmd(
    table: Annotated[Path, typer.Argument(help="Point time series: CSV (long format) or NetCDF (time, point).")],
    out: Annotated[Path, typer.Argument(help="CSV of labels to write.")],
    method: Annotated[str, typer.Option(help="optical or sar.")] = "optical",
) -> None:
    """Classify field points with the same rice rules as the maps (rice class, seasons, dates)."""
    from ..rice.tuning import classify_points

    if method not in ("optical", "sar"):
        _fail(ConfigError(f"--method must be optical or sar, not {method!r}."))
    try:
        check_regular_file(table, "point table")  # a named pipe would block the reader forever
        classify_points(table, out, method=method)  # type: ignore[arg-type]
    except AgromapError as exc:
        _fail(exc)
    typer.echo(f"labels written to {out}")


def sample_cmd(
    class_map: Annotated[Path, typer.Argument(help="Published rice_class COG (the strata).")],
    out: Annotated[Path, typer.Argument(help="GeoJSON of points to visit or interpret.")],
    rice: Annotated[int, typer.Option(help="Points in mapped rice.")] = 100,
    other: Annotated[int, typer.Option(help="Points in mapped non-rice.")] = 100,
    seed: Annotated[int, typer.Option(help="Random seed (the same seed gives the same points).")] = 0,
    blind: Annotated[bool, typer.Option(help="Leave the map class out, so interpreters are not biased.")] = True,
) -> None:
    """Draw a stratified random reference sample (strata = map classes) for the accuracy assessment."""
    import rasterio
    import xarray as xr
    from odc.geo.geobox import GeoBox

    from ..io.grid import attach_geobox
    from ..io.read import read_header
    from ..rice.sampling import REFERENCE_COLUMN, stratified_sample, write_geojson

    try:
        hdr = read_header(str(check_regular_file(class_map, "class map")))
        if hdr.count != 1 or hdr.crs_wkt is None or not hdr.dtype.startswith("uint"):
            raise CorruptInputError(f"{class_map}: not a rice class map (expected one unsigned-integer band with a "
                                    "CRS, as written by agromap run).")
        try:
            with rasterio.open(class_map) as src:
                values = src.read(1)
                gbox = GeoBox((src.height, src.width), src.transform, src.crs.to_wkt())
        except rasterio.errors.RasterioError as exc:
            raise CorruptInputError(f"{class_map}: failed to decode ({str(exc).splitlines()[0]}).") from None
        arr = attach_geobox(xr.DataArray(values, dims=("y", "x")), gbox)
        points = stratified_sample(arr, {0: other, 1: rice}, seed=seed, class_names={0: "non-rice", 1: "rice"})
        write_geojson(points, out, blind=blind)
    except AgromapError as exc:
        _fail(exc)
    typer.echo(f"{len(points)} points written to {out}; fill its '{REFERENCE_COLUMN}' column (1 rice, 0 other) after "
               "interpretation, then set reference_sample on the rice layer")


def register(app: typer.Typer) -> None:
    """Add the rice commands (``rice-train``, ``rice-points``...) to the ``agromap`` application."""
    app.command("rice-train")(train_cmd)
    app.command("rice-points")(points_cmd)
    app.command("rice-sample")(sample_cmd)



"""``agromap pm25-fit``: calibrate PM2.5 on aerosol optical depth against ground stations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..errors import AgromapError, ConfigError

__all__ = ["register"]


def fit_cmd(
    config: Annotated[Path, typer.Argument(help="Pipeline YAML whose area provides the AOD rasters.")],
    area: Annotated[str, typer.Option(help="Area (name in the YAML) with an aod input.")],
    stations: Annotated[Path, typer.Option(help="CSV: station_id, lon, lat, time, pollutant, value, unit.")],
    out: Annotated[Path, typer.Option(help="JSON model file to write (use it as `method: model`).")],
    form: Annotated[str, typer.Option(help="linear or loglog.")] = "linear",
    tz: Annotated[str, typer.Option(help="Time zone of station days, e.g. Asia/Kolkata.")] = "UTC",
) -> None:
    """Fit PM2.5 = f(AOD) on station-collocated pixels, with station-grouped cross-validation."""
    from ..airquality.pm25 import fit_pm25, save_model
    from ..airquality.stations import collocate, read_stations
    from .config import load_config
    from .runner import plan_area

    if form not in ("linear", "loglog"):
        typer.echo(f"agromap: error: --form must be linear or loglog, not {form!r}.", err=True)
        raise typer.Exit(2)
    try:
        cfg = load_config(config)
        match = [a for a in cfg.areas if a.name == area]
        if not match:
            raise ConfigError(f"{config}: no area named {area!r}; areas are {[a.name for a in cfg.areas]}.")
        ds = plan_area(cfg, match[0]).dataset
        if "aod" not in ds:
            raise ConfigError(f"area {area!r} has no aod input; add one (kind: aod).")
        # Fitting is an export edge of its own: the station pixels are computed once, here.
        table = collocate(read_stations(stations), {"aod": ds["aod"]}, tz=tz).compute()
        model = fit_pm25(table, form=form)  # type: ignore[arg-type]
        out.parent.mkdir(parents=True, exist_ok=True)
        save_model(model, out)
    except AgromapError as exc:
        typer.echo(f"agromap: error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    typer.echo(json.dumps({"model": str(out), "form": form, "cv": model.cv.__dict__ if hasattr(model.cv, "__dict__")
                           else model.cv}, indent=1, default=str))


def register(app: typer.Typer) -> None:
    """Add the air-quality commands to the ``agromap`` application."""
    app.command("pm25-fit")(fit_cmd)

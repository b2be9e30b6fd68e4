"""The ``agromap`` command line: the only place that sets up logging and exit codes."""

from __future__ import annotations

import json
import logging
import sys
import warnings
from pathlib import Path
from typing import Annotated, Optional

import typer
from rasterio.errors import NotGeoreferencedWarning

from .._version import __version__
from ..errors import EXIT_CODES, AgromapError

log = logging.getLogger("agromap")

_EPILOG = "Exit codes: " + "; ".join(f"{code} {text}" for code, text in EXIT_CODES.items())

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="agromap: satellite rasters to rice, air-quality and disaster layers (COG + STAC).",
    epilog=_EPILOG,
    pretty_exceptions_enable=False,
)


class _RunIdFilter(logging.Filter):
    """Stamps every record with the run id, so batch logs of concurrent runs can be told apart."""

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id

    def filter(self, record: logging.LogRecord) -> bool:
        record.run_id = self.run_id
        return True


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name,
                 "run_id": getattr(record, "run_id", None), "message": record.getMessage()}
        return json.dumps(entry)


class _OncePerRun(logging.Filter):
    """GDAL (through rasterio) repeats a warning for every read of a file: print each text once."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("rasterio") or record.levelno >= logging.ERROR:
            return True
        text = record.getMessage()
        if text in self._seen:
            return False
        self._seen.add(text)
        return True


def _setup_logging(verbose: bool, log_format: str, run_id: str = "-") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_OncePerRun())
    if log_format == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s [%(run_id)s] %(message)s"))
    handler.addFilter(_RunIdFilter(run_id))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # GDAL speaks through rasterio's logger; keep it quiet unless asked.
    logging.getLogger("rasterio").setLevel(logging.DEBUG if verbose else logging.WARNING)
    for noisy in ("distributed", "tornado", "asyncio", "bokeh", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.ERROR)


def _fail(exc: AgromapError) -> None:
    typer.echo(f"agromap: error: {exc}", err=True)
    raise typer.Exit(exc.exit_code)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"agromap {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version_callback, is_eager=True,
                                                    help="Print the version and exit.")] = None,
) -> None:
    """agromap command line."""


@app.command("run")
def run_cmd(
    config: Annotated[Path, typer.Argument(help="Pipeline YAML, e.g. pipelines/demo.yaml.")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output directory (default runs/<name>).")] = None,
    scheduler: Annotated[Optional[str], typer.Option(help="local, threads, synchronous or tcp://host:port.")] = None,
    wait_lock: Annotated[float, typer.Option(help="Seconds to wait for another run's lock (default: exit 5).")] = 0.0,
    force: Annotated[bool, typer.Option("--force", help="Recompute every layer, even up-to-date ones.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging, GDAL included.")] = False,
    log_format: Annotated[str, typer.Option(help="text or json (for batch jobs).")] = "text",
) -> None:
    """Run a pipeline: ingest, compute every stale layer once, publish COGs, STAC items and a manifest."""
    from .runner import new_run_id

    run_id = new_run_id()
    _setup_logging(verbose, log_format, run_id)
    from .config import load_config
    from .runner import run

    # A progress bar only for a person watching a terminal; cron and CI get plain log lines.
    progress = sys.stderr.isatty() and log_format == "text"
    try:
        cfg = load_config(config)
        out_dir = out or Path("runs") / cfg.name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN reductions are expected over clouds
            warnings.simplefilter("ignore", NotGeoreferencedWarning)  # odc-geo warps bare numpy blocks
            result = run(cfg, out_dir, scheduler=scheduler, run_id=run_id, wait_lock=wait_lock, force=force,
                         progress=progress, argv=sys.argv)
    except AgromapError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        typer.echo("agromap: interrupted", err=True)
        raise typer.Exit(130) from None
    n, fresh = len(result.outputs), len(result.computed)
    log.info("%d layer(s) in %s: %d computed, %d up to date (manifest.json, catalog.json)",
             n, result.out_dir, fresh, n - fresh)
    for w in result.warnings:
        log.warning(w)
    _log_key_figures(result)


def _log_key_figures(result: object) -> None:
    """The decision figures of the run (hectares flooded, burned, rice) on the console."""
    from ..mapsheet import key_figures

    for line in key_figures(result.out_dir, result.manifest):  # type: ignore[attr-defined]
        log.info("%s", line)


@app.command("validate")
def validate_cmd(
    config: Annotated[Path, typer.Argument(help="Pipeline YAML to check.")],
) -> None:
    """Check a configuration and its inputs (headers, bands, grids) without computing anything."""
    _setup_logging(False, "text")
    from .config import load_config
    from ..io.grid import crs_name
    from .runner import plan_run

    try:
        cfg = load_config(config)
        plans = plan_run(cfg)
    except AgromapError as exc:
        _fail(exc)
    for plan in plans:
        g = plan.geobox
        typer.echo(f"{plan.config.name}: {len(plan.scenes)} scene(s) on {g.shape.y}x{g.shape.x} px "
                   f"in {crs_name(g.crs)}; {len(plan.layers)} layer(s): {', '.join(p.stem for p in plan.layers)}")
    typer.echo("configuration and inputs are valid")


@app.command("show-versions")
def show_versions_cmd() -> None:
    """Print agromap, GDAL, PROJ and library versions (for bug reports)."""
    from .._versions import show_versions

    show_versions()


def _register_product_commands() -> None:
    from . import aq_cli, delivery_cli, rice_cli

    rice_cli.register(app)
    aq_cli.register(app)
    delivery_cli.register(app)


_register_product_commands()


def main() -> None:
    """Console-script entry point."""
    app()

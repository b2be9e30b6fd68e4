"""The ``agromap`` command line: the only place that sets up logging and exit codes."""

from __future__ import annotations

import errno
import json
import logging
import signal
import sys
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from .._version import __version__
from ..errors import EXIT_CODES, AgromapError, ConfigError, RunInterrupted, RunTerminated, output_error

if TYPE_CHECKING:
    from .config import RunConfig

log = logging.getLogger("agromap")

# Click rewraps help text; "\b" keeps the exit-code table one code per line.
_EPILOG = "\b\nExit codes:\n" + "\n".join(f"  {code:>3}  {text}" for code, text in EXIT_CODES.items())
_DEBUG = False

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
    # Only agromap's own messages at INFO: libraries imported on the way (numexpr, distributed...) may
    # announce themselves at INFO, which would break the one-line error contract on stderr.
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    logging.getLogger("agromap").setLevel(logging.DEBUG if verbose else logging.INFO)
    # GDAL speaks through rasterio's logger; keep it quiet unless asked.
    logging.getLogger("rasterio").setLevel(logging.DEBUG if verbose else logging.WARNING)
    for noisy in ("distributed", "tornado", "asyncio", "bokeh"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.CRITICAL)
    logging.getLogger("matplotlib").setLevel(logging.DEBUG if verbose else logging.WARNING)


def _fail(exc: AgromapError) -> None:
    typer.echo(f"agromap: error: {_one_line(exc)}", err=True)
    raise typer.Exit(exc.exit_code)


def _one_line(exc: BaseException | str) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 2000 else text[:2000] + " ..."


_ALLOW_REMOTE_HELP = ("Allow network inputs (https/s3 URLs, STAC API searches, GDAL /vsi paths), as "
                      "allow_remote: true in the configuration does.")
_ALLOW_OUTSIDE_HELP = ("Allow STAC asset hrefs outside the item's folder, as allow_outside_paths: true in the "
                       "configuration does.")


def _with_access(cfg: RunConfig, remote: bool, outside: bool) -> RunConfig:
    """The configuration with the command line's --allow-* switches turned on (they never turn one off)."""
    update = {k: True for k, v in (("allow_remote", remote), ("allow_outside_paths", outside)) if v}
    return cfg.model_copy(update=update) if update else cfg


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"agromap {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version_callback, is_eager=True,
                                                    help="Print the version and exit.")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show the Python traceback of unexpected errors.")] = False,
) -> None:
    """agromap command line."""
    global _DEBUG
    _DEBUG = debug


@app.command("run")
def run_cmd(
    config: Annotated[Path, typer.Argument(help="Pipeline YAML, e.g. pipelines/demo.yaml.")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output directory (default runs/<name>).")] = None,
    scheduler: Annotated[Optional[str], typer.Option(help="local, threads, synchronous or tcp://host:port.")] = None,
    wait_lock: Annotated[float, typer.Option(help="Seconds to wait for another run's lock (default: exit 5).")] = 0.0,
    force: Annotated[bool, typer.Option("--force", help="Recompute every layer, even up-to-date ones.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging, GDAL included.")] = False,
    log_format: Annotated[str, typer.Option(help="text or json (for batch jobs).")] = "text",
    allow_remote: Annotated[bool, typer.Option("--allow-remote", help=_ALLOW_REMOTE_HELP)] = False,
    allow_outside_paths: Annotated[bool, typer.Option("--allow-outside-paths", help=_ALLOW_OUTSIDE_HELP)] = False,
    max_graph_chunks: Annotated[Optional[int], typer.Option(
        min=1, help="Most input chunks in one task graph; larger areas run as successive spatial blocks "
        "(default: the configuration's max_graph_chunks, else 4096).")] = None,
) -> None:
    """Run a pipeline: ingest, compute every stale layer once, publish COGs, STAC items and a manifest."""
    from .run_id import new_run_id

    if log_format not in ("text", "json"):
        _fail(ConfigError(f"--log-format must be text or json, not {log_format!r}."))
    run_id = new_run_id()
    _setup_logging(verbose, log_format, run_id)
    from .config import load_config
    from .noop import unchanged_run

    # A progress bar only for a person watching a terminal; cron and CI get plain log lines.
    progress = sys.stderr.isatty() and log_format == "text"
    try:
        cfg = _with_access(load_config(config), allow_remote, allow_outside_paths)
        if max_graph_chunks is not None:  # outputs do not depend on it: layers stay up to date
            cfg = cfg.model_copy(update={"max_graph_chunks": max_graph_chunks})
        out_dir = out or Path("runs") / cfg.name
        # Decided from file stamps before the array stack is even imported (a nightly re-run).
        same = None if force else unchanged_run(cfg, out_dir, scheduler=scheduler, wait_lock=wait_lock)
        if same is not None:
            log.info("nothing changed since run %s: %d layer(s) up to date in %s; the output folder is left "
                     "as it is", same.get("run_id"), len(same["outputs"]), out_dir)
            for w in same.get("warnings") or []:
                log.warning(w)
            _log_key_figures(out_dir, same)
            return
        from rasterio.errors import NotGeoreferencedWarning

        from .runner import run

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN reductions are expected over clouds
            warnings.simplefilter("ignore", NotGeoreferencedWarning)  # odc-geo warps bare numpy blocks
            result = run(cfg, out_dir, scheduler=scheduler, run_id=run_id, wait_lock=wait_lock, force=force,
                         progress=progress, argv=sys.argv)
    except AgromapError as exc:
        _fail(exc)
    n, fresh = len(result.outputs), len(result.computed)
    log.info("%d layer(s) in %s: %d computed, %d up to date (manifest.json, catalog.json)",
             n, result.out_dir, fresh, n - fresh)
    for w in result.warnings:
        log.warning(w)
    _log_key_figures(result.out_dir, result.manifest)


def _log_key_figures(out_dir: Path, manifest: dict) -> None:
    """The decision figures of the run (hectares flooded, burned, rice) on the console; an unchanged
    re-run repeats the ones kept from the run that published the manifest.
    """
    from .noop import remember_lines, remembered_lines

    lines = remembered_lines(out_dir, manifest.get("run_id"))
    if lines is None:
        from ..mapsheet import key_figures

        lines = key_figures(out_dir, manifest)
        remember_lines(out_dir, manifest.get("run_id"), lines)
    for line in lines:
        log.info("%s", line)


@app.command("validate")
def validate_cmd(
    config: Annotated[Path, typer.Argument(help="Pipeline YAML to check.")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Also check this output folder.")] = None,
    scheduler: Annotated[Optional[str], typer.Option(help="Also check this scheduler (an address is contacted, "
                                                           "with a 10 s deadline).")] = None,
    allow_remote: Annotated[bool, typer.Option("--allow-remote", help=_ALLOW_REMOTE_HELP)] = False,
    allow_outside_paths: Annotated[bool, typer.Option("--allow-outside-paths", help=_ALLOW_OUTSIDE_HELP)] = False,
) -> None:
    """Check a configuration and its inputs (headers, bands, grids, district files, output folder,
    scheduler) without computing anything.
    """
    _setup_logging(False, "text")
    from ..io.gridspec import crs_name
    from .config import load_config
    from .preflight import check_output_folder
    from .scheduler import check_scheduler, probe_scheduler

    try:
        cfg = _with_access(load_config(config), allow_remote, allow_outside_paths)
        areas = _checked_areas(cfg)
        sched = check_scheduler(scheduler or cfg.scheduler)
        if "://" in sched:
            probe_scheduler(sched)
        if out is not None:
            check_output_folder(out, create=False)
    except AgromapError as exc:
        _fail(exc)
    for name, n_scenes, g, stems in areas:
        typer.echo(f"{name}: {n_scenes} scene(s) on {g.shape.y}x{g.shape.x} px "
                   f"in {crs_name(g.crs)}; {len(stems)} layer(s): {', '.join(stems)}")
    typer.echo("configuration and inputs are valid")


def _checked_areas(cfg: RunConfig) -> list[tuple[str, int, Any, list[str]]]:
    """(area, scenes, grid, layer stems) of a valid configuration: from headers when the light
    check settles it (:mod:`agromap.pipeline.light_plan`), else from the full plan ``run`` builds,
    which also words every refusal as ``run`` does.
    """
    from .light_plan import check_run

    try:
        return [(a.name, a.n_scenes, a.geobox, a.stems) for a in check_run(cfg)]
    except Exception as why:  # PlanNeeded, or a fault the full plan will report in its own words
        log.debug("validate: the full plan decides (%s: %s)", type(why).__name__, why)
    from .runner import plan_run

    return [(p.config.name, len(p.scenes), p.geobox, [one.stem for one in p.layers]) for p in plan_run(cfg)]


@app.command("show-versions")
def show_versions_cmd() -> None:
    """Print agromap, GDAL, PROJ and library versions (for bug reports)."""
    from .._versions import show_versions

    show_versions()


@app.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema of the run configuration (for editors that check and complete YAML)."""
    from .config_schema import config_json_schema

    typer.echo(json.dumps(config_json_schema(), indent=2))


def _register_product_commands() -> None:
    from . import aq_cli, delivery_cli, rice_cli

    rice_cli.register(app)
    aq_cli.register(app)
    delivery_cli.register(app)


_register_product_commands()


def _quiet_shutdown() -> None:
    """After Ctrl-C or SIGTERM: no more log lines or tracebacks from threads being torn down."""
    logging.disable(logging.CRITICAL)
    threading.excepthook = lambda args: None
    sys.unraisablehook = lambda unraisable: None
    warnings.simplefilter("ignore")


_SIGNALLED: list[int] = []


def _on_signal(signum: int, frame: object) -> None:
    _SIGNALLED.append(signum)
    _quiet_shutdown()
    raise RunTerminated() if signum == signal.SIGTERM else RunInterrupted()


def _exit_interrupted(exc: BaseException | None = None) -> None:
    _quiet_shutdown()
    code = 143 if signal.SIGTERM in _SIGNALLED else 130 if _SIGNALLED else getattr(exc, "exit_code", 130)
    what = "terminated (SIGTERM)" if code == 143 else "interrupted"
    sys.stderr.write(f"agromap: error: {what}; staging files removed, lock released, nothing half-written. "
                     "Run again to finish (completed layers are kept).\n")
    sys.exit(code)


_WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENAMETOOLONG)


def main() -> None:
    """Console-script entry point: one line per error with a documented exit code, no traceback.

    Unexpected errors (exit 1, a bug) show their traceback only with ``--debug``. SIGTERM is
    handled like Ctrl-C: the run's clean-up runs, the lock is released, the exit code is 143
    (130 for Ctrl-C).
    """
    # Recent typer carries its own copy of click, whose exception classes are not click's.
    try:
        from typer._click.exceptions import ClickException, UsageError
    except ImportError:  # pragma: no cover - a typer that uses click itself
        from click.exceptions import ClickException, UsageError  # type: ignore[assignment]
    aborts: Any = tuple({typer.Abort, *_click_classes("Abort")})
    exits: Any = tuple({typer.Exit, *_click_classes("Exit")})

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        rv = app(standalone_mode=False, prog_name="agromap")
    except aborts as exc:  # click turns KeyboardInterrupt into Abort
        _exit_interrupted(exc.__cause__ or exc)
    except KeyboardInterrupt as exc:
        _exit_interrupted(exc)
    except UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "agromap"
        sys.stderr.write(f"agromap: error: {_one_line(exc.format_message())} (see '{where} --help').\n")
        sys.exit(2)
    except ClickException as exc:
        sys.stderr.write(f"agromap: error: {_one_line(exc.format_message())}\n")
        sys.exit(exc.exit_code)
    except exits as exc:
        if _SIGNALLED or isinstance(exc.__cause__, KeyboardInterrupt):
            _exit_interrupted(exc.__cause__)
        sys.exit(exc.exit_code)
    except Exception as exc:
        if _SIGNALLED:  # the signal's exception can be replaced by a library's own while unwinding
            _exit_interrupted(exc)
        _exit_for(exc)
    if _SIGNALLED:  # typer turns Ctrl-C into a silent return value of 130
        _exit_interrupted()
    sys.exit(rv if isinstance(rv, int) else 0)


def _exit_for(exc: Exception) -> None:
    """Exit with the one-line message and the documented code of an error a command raised."""
    if isinstance(exc, AgromapError):
        sys.stderr.write(f"agromap: error: {_one_line(exc)}\n")
        sys.exit(exc.exit_code)
    if isinstance(exc, OSError) and exc.errno in _WRITE_ERRNOS:
        err = output_error(exc)
        sys.stderr.write(f"agromap: error: {_one_line(err)}\n")
        sys.exit(err.exit_code)
    if isinstance(exc, MemoryError):
        sys.stderr.write("agromap: error: out of memory; lower 'chunk' in the configuration or add memory.\n")
        sys.exit(6)
    _unexpected(exc)  # a bug: say so in one line, traceback only when asked


def _click_classes(name: str) -> list[type[BaseException]]:
    """``name`` from click and from typer's copy of it, whichever exist."""
    found = []
    for module in ("click.exceptions", "typer._click.exceptions", "typer.exceptions"):
        try:
            cls = getattr(__import__(module, fromlist=[name]), name, None)
        except ImportError:
            continue
        if isinstance(cls, type):
            found.append(cls)
    return found


def _unexpected(exc: BaseException) -> None:
    if _DEBUG:
        import traceback

        traceback.print_exception(exc)
    sys.stderr.write(f"agromap: error: unexpected {type(exc).__name__}: {_one_line(exc)[:500]} (a bug; run "
                     "again with 'agromap --debug ...' for the traceback and report it).\n")
    sys.exit(1)

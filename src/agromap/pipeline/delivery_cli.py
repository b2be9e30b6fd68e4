"""``agromap mapsheet`` and ``agromap serve``: deliver a finished run as map sheets or a web map."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import AgromapError

__all__ = ["register"]


def mapsheet_cmd(
    run_dir: Annotated[Path, typer.Argument(help="Output folder of a finished run (has manifest.json).")],
    out: Annotated[Optional[Path], typer.Option(help="Where to write (default RUN_DIR/mapsheets).")] = None,
    layer: Annotated[Optional[list[str]], typer.Option(help="Only this layer (file stem or product); repeatable.")]
    = None,
    all_layers: Annotated[bool, typer.Option("--all", help="Also the continuous layers.")] = False,
) -> None:
    """Write a PNG and a PDF map sheet per decision layer and area (title, dates, legend, scale bar,
    north arrow, graticule, district hectares, sources and caveats).
    """
    from ..mapsheet import write_mapsheets

    try:
        files = write_mapsheets(run_dir, out_dir=out, layers=layer, all_layers=all_layers)
    except AgromapError as exc:
        typer.echo(f"agromap: error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    if not files:
        typer.echo(f"agromap: error: no decision layer with valid pixels in {run_dir}; use --all or --layer.",
                   err=True)
        raise typer.Exit(4)
    for f in files:
        typer.echo(str(f))


def serve_cmd(
    run_dir: Annotated[Path, typer.Argument(help="Output folder of a finished run (has catalog.json).")],
    host: Annotated[str, typer.Option(help="Address to listen on (local only by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 = any free port).")] = 8765,
    open_browser: Annotated[bool, typer.Option("--open/--no-open", help="Open the map in a browser.")] = False,
) -> None:
    """Serve a local web map of a run: layer list from the STAC catalog, tiles from the COGs,
    click for a pixel's value and class, district tables. Needs no internet.
    """
    from ..serve.app import make_server

    try:
        server = make_server(run_dir, host=host, port=port)
    except AgromapError as exc:
        typer.echo(f"agromap: error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    host_name, port_number = str(server.server_address[0]), server.server_address[1]
    url = f"http://{host_name}:{port_number}/"
    typer.echo(f"agromap: serving {run_dir} at {url} (Ctrl-C to stop)")
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        typer.echo("agromap: interrupted", err=True)
        raise typer.Exit(130) from None
    finally:
        server.server_close()


def register(app: typer.Typer) -> None:
    """Add the delivery commands (``mapsheet``, ``serve``) to the ``agromap`` application."""
    app.command("mapsheet")(mapsheet_cmd)
    app.command("serve")(serve_cmd)

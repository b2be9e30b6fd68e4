"""Versions of agromap and the libraries that decide its numbers, for bug reports and manifests."""

from __future__ import annotations

import platform
import sys
from importlib.metadata import PackageNotFoundError, version

__all__ = ["versions", "show_versions"]

_PACKAGES = ("numpy", "xarray", "dask", "distributed", "rasterio", "odc-geo", "pyproj", "pystac",
             "rio-cogeo", "pydantic", "scikit-learn", "skops")


def versions() -> dict[str, str]:
    """agromap, Python, GDAL, PROJ and key library versions as a flat mapping."""
    import rasterio
    from pyproj import proj_version_str

    from ._version import __version__

    out = {
        "agromap": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "GDAL": rasterio.__gdal_version__,
        "PROJ": proj_version_str,
    }
    for pkg in _PACKAGES:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def show_versions() -> None:
    """Print :func:`versions`, one ``name: version`` per line."""
    for key, value in versions().items():
        print(f"{key}: {value}")

"""agromap: satellite rasters to rice, air-quality and disaster decision layers."""

from ._version import __version__

__all__ = ["__version__"]

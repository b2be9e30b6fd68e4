"""Lazy public names for a package (PEP 562): a name's module is imported on first use.

``import agromap`` must stay cheap (the command line imports it before printing ``--help``), yet
``agromap.ndvi`` and ``agromap.rice.optical_rice_rule`` should just work in a notebook. A package
declares ``name -> "module"`` (or ``"module:attribute"`` for a different name there) once, and
:func:`attach` returns its ``__all__``, ``__getattr__`` and ``__dir__``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["attach"]


def attach(
    package: str,
    exports: Mapping[str, str],
    *,
    on_first_use: Callable[[], None] | None = None,
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__all__``, ``__getattr__`` and ``__dir__`` of a package with lazily imported names.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    exports : mapping
        Public name -> ``"module"`` or ``"module:attribute"``; a leading dot is relative to
        ``package``.
    on_first_use : callable, optional
        Called before the first name is imported (e.g. to register an xarray accessor).

    Returns
    -------
    tuple
        ``(__all__, __getattr__, __dir__)`` to assign at the package's top level.
    """
    names = list(exports)
    started: list[bool] = []

    def __getattr__(name: str) -> Any:
        target = exports.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        if on_first_use is not None and not started:
            started.append(True)
            on_first_use()
        module, _, attr = target.partition(":")
        value = getattr(importlib.import_module(module, package), attr or name)
        setattr(sys.modules[package], name, value)  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(names))

    return names, __getattr__, __dir__

"""Gathering plug-in records (products, input loaders) from the modules that declare them.

Both registries work the same way: a tuple of module names, each module holding a tuple of records
under one attribute, each record named by one field. A name registered twice is a configuration
error that says where, not a silent override.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ..errors import ConfigError

__all__ = ["gather"]


def gather(modules: tuple[str, ...], attribute: str, key: str, what: str) -> Mapping[str, Any]:
    """Every record of ``modules`` by name, in registration order (read-only).

    Parameters
    ----------
    modules : tuple of str
        Importable module names, in the order their records are listed.
    attribute : str
        The module-level tuple holding the records (``PRODUCTS``, ``LOADERS``).
    key : str
        The record field that names it (``name``, ``kind``).
    what : str
        How an error names a record (``product``, ``input kind``).

    Raises
    ------
    ConfigError
        A name registered twice.
    """
    out: dict[str, Any] = {}
    for module in modules:
        for record in getattr(importlib.import_module(module), attribute):
            name = getattr(record, key)
            if name in out:
                raise ConfigError(f"{what} {name!r} is registered twice ({module} and an earlier module).")
            out[name] = record
    return MappingProxyType(out)

"""The input registry: one loader per input ``kind``, the only way the runner turns inputs into scenes.

Each loader module lists its records in a module-level ``LOADERS`` tuple of :class:`InputLoader`;
:data:`MODULES` names those modules, one line each (as the product registry does). A loader takes
the run configuration (for paths and chunking), one validated input entry and its area, and
returns lazy :class:`~agromap.io.scene.Scene` objects; it reads headers only. The runner asks
:func:`load_input` and knows no input kind; ``agromap validate`` checks with
:func:`check_input_kinds` that every input of a configuration has a loader.

Registering a new input kind: its pydantic model joins the ``InputConfig`` union
(:mod:`agromap.pipeline.config`), and an :class:`InputLoader` with the same ``kind`` joins a
module's ``LOADERS``. A test checks that the union's kinds and the registered ones are the same.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .plugins import gather

if TYPE_CHECKING:  # loaders import the array stack where they run, not when the registry is read
    from ..io.scene import Scene
    from .config import AreaConfig, RunConfig

__all__ = ["InputLoader", "Loader", "MODULES", "loaders", "get_loader", "input_kinds", "load_input",
           "check_input_kinds"]

#: ``load(cfg, inp, area)``: the scenes of one input entry of an area, lazily.
Loader = Callable[["RunConfig", Any, "AreaConfig"], "list[Scene]"]

#: Modules holding input loaders (each with a ``LOADERS`` tuple), in the order kinds are listed.
MODULES: tuple[str, ...] = (
    "agromap.pipeline.scene_inputs",
    "agromap.pipeline.stac_inputs",
    "agromap.pipeline.aq_inputs",
)


@dataclass(frozen=True)
class InputLoader:
    """One input kind and the function that loads it."""

    kind: str
    """The ``kind:`` of the input entry, as in the configuration model's ``Literal``."""
    load: Loader
    """``load(cfg, inp, area) -> list[Scene]``; reads headers only."""


@functools.cache
def loaders() -> Mapping[str, InputLoader]:
    """Every registered loader by kind, in registration order (read-only)."""
    return gather(MODULES, "LOADERS", "kind", "input kind")


def input_kinds() -> tuple[str, ...]:
    """The input kinds that have a loader, in registration order."""
    return tuple(loaders())


def get_loader(kind: str) -> InputLoader:
    """The loader of ``kind``; a :class:`~agromap.errors.ConfigError` listing the known kinds."""
    try:
        return loaders()[kind]
    except KeyError:
        raise ConfigError(f"unknown input kind {kind!r}; choose one of {', '.join(input_kinds())}.") from None


def check_input_kinds(cfg: RunConfig) -> None:
    """Refuse, before anything is opened, a configuration with an input kind that has no loader."""
    for area in cfg.areas:
        for i, inp in enumerate(area.inputs):
            try:
                get_loader(inp.kind)
            except ConfigError as exc:
                raise ConfigError(f"area {area.name}, inputs.{i}: {exc}") from None


def load_input(cfg: RunConfig, inp: Any, area: AreaConfig) -> list[Scene]:
    """The scenes of one input entry of ``area``, by the loader registered for its ``kind``."""
    return get_loader(inp.kind).load(cfg, inp, area)

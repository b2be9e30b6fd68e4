"""What a product's preflight sees of an area: bands, dates and grid from headers, no pixel.

``agromap validate`` checks a configuration from file headers (:mod:`agromap.pipeline.light_plan`);
each product plug-in's ``preflight`` (:class:`agromap.pipeline.products.base.Product`) gets an
:class:`AreaInputs` and says whether the area has what its builder needs, and which files the
layer writes. Nothing here imports the array stack.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import PlanNeeded

if TYPE_CHECKING:
    from odc.geo.geobox import GeoBox

    from .config import AreaConfig

__all__ = ["AreaInputs", "naive_utc", "per_time_stems"]


@dataclass(frozen=True)
class AreaInputs:
    """What a product's ``preflight`` sees of an area: its bands, dates and grid, no pixel."""

    area: AreaConfig
    geobox: GeoBox
    dates: tuple[_dt.datetime, ...]
    """The stack's dates (each the earliest acquisition of its slice), sorted, UTC."""
    present: Mapping[str, tuple[bool, ...]]
    """Band -> whether each date has it (an area may mix sensors)."""
    raw: frozenset[str]
    """Bands kept in their stored integer type."""
    resolve: Callable[[str], Path]

    @property
    def bands(self) -> frozenset[str]:
        """Every band some date of the area has."""
        return frozenset(self.present)

    def need(self, bands: tuple[str, ...] | list[str], what: str) -> None:
        """Raise :class:`PlanNeeded` unless the area has every band of ``bands`` (the plan then says which is missing)."""
        missing = sorted(set(bands) - self.bands)
        if missing:
            raise PlanNeeded(f"{what} needs {missing}")

    def period(self, start: str, end: str) -> list[_dt.datetime]:
        """The area's dates within ``[start, end]``, both included (naive times are UTC, as the stack's)."""
        lo, hi = naive_utc(start), naive_utc(end)
        return [d for d in self.dates if lo <= d.replace(tzinfo=None) <= hi]



def naive_utc(text: str) -> _dt.datetime:
    """An ISO date or date-time of the configuration as a naive UTC datetime (as pandas reads a naive one).

    Raises :class:`PlanNeeded` for text ``datetime.fromisoformat`` does not take (pandas may).
    """
    try:
        t = _dt.datetime.fromisoformat(str(text).strip())
    except ValueError:
        raise PlanNeeded(f"date {text!r} needs pandas") from None
    if t.tzinfo is not None:
        raise PlanNeeded(f"date {text!r} carries a time zone")
    return t


def per_time_stems(inputs: AreaInputs, name: str, how: str) -> list[str]:
    """File stems of :func:`agromap.pipeline.products.base.per_time`: one per date, or one reduced."""
    if how == "each":
        return [f"{name}_{t:%Y%m%d}" for t in inputs.dates]
    return [f"{name}_{how}_{inputs.dates[0]:%Y%m%d}_{inputs.dates[-1]:%Y%m%d}"]

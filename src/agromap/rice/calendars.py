"""Rice crop calendars of South and South-East Asia, by name, from a small versioned table.

Each calendar is the set of **flooding / transplanting (or sowing) windows** of a region's rice
seasons, as calendar days of year: the part of the season in which the rules look for the flood
signal (see :class:`~agromap.rice.seasons.SeasonWindow`), not the whole crop cycle. The values
live in ``agromap/rice/tables/crop_calendars.csv`` (one row per season, ``MM-DD`` dates on a
365-day year, the sources of each row), read once and validated; ``docs/crop_calendars.md``
cites the publications behind them. Regional practice varies by a few weeks from year to year
and district to district: treat a calendar as a starting point and widen it when in doubt.

A calendar is used by name wherever the rules take windows::

    sar_rice_rule(vh, windows="mekong_delta")
    optical_rice_rule(ds, windows=calendar_windows("india_west_bengal"))

and in a pipeline's rice layer as ``calendar: mekong_delta``. No calendar is the default: without
one the rules look for seasons anywhere in the series.

:class:`SeasonWindow` and the two built-in rule calendars (:data:`CROP_CALENDARS`) are defined here,
below :mod:`agromap.rice.seasons`, which re-exports them.
"""

from __future__ import annotations

import csv
import datetime as _dt
import functools
import io
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from ..errors import ConfigError

__all__ = ["SeasonWindow", "CROP_CALENDARS", "TABLE_VERSION", "SOURCES", "CalendarSeason", "calendar_names",
           "calendar_windows", "calendar_table", "load_table"]  # fmt: skip


@dataclass(frozen=True)
class SeasonWindow:
    """A flooding/transplanting window of one rice season, in calendar day of year."""

    start_doy: int
    """First day of year of the window (1-366)."""
    end_doy: int
    """Last day of year, inclusive; smaller than ``start_doy`` when the window wraps the new year."""
    name: str = ""
    """Season name (``kharif``, ``boro``...), for reports."""

    def __post_init__(self) -> None:
        for v in (self.start_doy, self.end_doy):
            if not 1 <= int(v) <= 366:
                raise ConfigError(f"season window {self.name or ''!s} day of year {v} is outside 1-366; "
                                  "write windows as SeasonWindow(start_doy, end_doy, name).")

    def contains(self, doy: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Whether each day of year falls inside the window (wrap-around aware)."""
        d = np.asarray(doy)
        if self.start_doy <= self.end_doy:
            return np.asarray((d >= self.start_doy) & (d <= self.end_doy))
        return np.asarray((d >= self.start_doy) | (d <= self.end_doy))


#: Default flooding/transplanting windows per region (docs/science/rice.md#crop-calendars;
#: recommendation, unverified: override per region). Windows cover the transplanting period of
#: each season, not the whole crop cycle.
CROP_CALENDARS: Mapping[str, tuple[SeasonWindow, ...]] = MappingProxyType({
    # kharif transplanting Jun-Aug; rabi/boro transplanting mid Nov - Feb.
    "india": (SeasonWindow(152, 243, "kharif"), SeasonWindow(319, 59, "rabi")),
    # Boro Dec-Feb, Aus Apr-May, Aman Jul - mid Sep.
    "bangladesh": (SeasonWindow(335, 46, "boro"), SeasonWindow(91, 151, "aus"), SeasonWindow(182, 258, "aman")),
})


#: Version of the shipped table; bump it with every change of a row.
TABLE_VERSION = "2026.1"

#: Source keys of the table's ``source`` column -> citation (authors, year, title).
SOURCES: Mapping[str, str] = MappingProxyType({
    "riceatlas": "Laborte A.G., Gutierrez M.A., Balanza J.G., et al. 2017. RiceAtlas, a spatial database of "
                 "global rice calendars and production. Scientific Data 4:170074.",
    "usda_fas": "USDA Foreign Agricultural Service, International Production Assessment Division. Crop calendars "
                "for South Asia, Southeast Asia and East Asia (ipad.fas.usda.gov).",
    "giews": "FAO Global Information and Early Warning System (GIEWS). Country briefs and crop calendars.",
    "almanac": "Maclean J., Hardy B., Hettel G. (eds.) 2013. Rice Almanac, 4th edition. IRRI, Los Banos.",
    "kontgis2015": "Kontgis C., Schneider A., Ozdogan M. 2015. Mapping rice paddy extent and intensification in "
                   "the Vietnamese Mekong River Delta with dense time stacks of Landsat data. Remote Sensing of "
                   "Environment 169:255-269.",
    "brri": "Bangladesh Rice Research Institute (BRRI). Adhunik Dhaner Chash (Modern Rice Cultivation), Gazipur.",
    "drd": "Directorate of Rice Development, Government of India, Patna. Rice in India: state-wise rice seasons "
           "and sowing/transplanting periods.",
    "punjab2009": "Government of Punjab 2009. The Punjab Preservation of Sub-Soil Water Act (no paddy "
                  "transplanting before mid-June); Haryana Preservation of Sub-Soil Water Act 2009.",
    "maff": "Ministry of Agriculture, Forestry and Fisheries of Japan (MAFF). Crop statistics: rice planting "
            "and harvesting periods by prefecture.",
})

_COLUMNS = ("calendar", "country", "region", "season", "start", "end", "establishment", "source")


@dataclass(frozen=True)
class CalendarSeason:
    """One row of the table: a season's flooding/transplanting window and where it comes from."""

    calendar: str
    country: str
    region: str
    season: str
    start_doy: int
    end_doy: int
    establishment: str
    sources: tuple[str, ...]

    @property
    def window(self) -> SeasonWindow:
        """The season as a :class:`SeasonWindow` (start and end day of year)."""
        return SeasonWindow(self.start_doy, self.end_doy, self.season)


def _doy(text: str, where: str) -> int:
    try:
        month, day = (int(p) for p in text.split("-"))
        return _dt.date(2023, month, day).timetuple().tm_yday  # a 365-day year
    except ValueError:
        raise ConfigError(f"{where}: {text!r} is not a MM-DD date.") from None


def _overlap(a: SeasonWindow, b: SeasonWindow) -> bool:
    days = list(range(1, 366))
    return bool((a.contains(days) & b.contains(days)).any())


def load_table(text: str, *, source: str = "crop calendar table") -> tuple[CalendarSeason, ...]:
    """Parse and validate a calendar table (the CSV format of the shipped one).

    Checks: the exact columns, non-empty names (lower-case ``[a-z0-9_]``), ``MM-DD`` dates,
    known source keys, one row per (calendar, season), windows of one calendar that do not
    overlap (a date must belong to one season), and no name shadowing the rules' built-in ones.

    Raises
    ------
    ConfigError
        With the row number and what is wrong.
    """
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != _COLUMNS:
        raise ConfigError(f"{source}: columns must be {list(_COLUMNS)}, got {reader.fieldnames}.")
    rows: list[CalendarSeason] = []
    seen: set[tuple[str, str]] = set()
    for i, row in enumerate(reader, start=2):
        where = f"{source} line {i}"
        for key in ("calendar", "season"):
            v = row[key] or ""
            if not v or not all(c.islower() or c.isdigit() or c == "_" for c in v):
                raise ConfigError(f"{where}: {key} {v!r} must be lower-case letters, digits and '_'.")
        if (row["calendar"], row["season"]) in seen:
            raise ConfigError(f"{where}: season {row['season']!r} of {row['calendar']!r} is listed twice.")
        seen.add((row["calendar"], row["season"]))
        if row["calendar"] in CROP_CALENDARS:
            raise ConfigError(f"{where}: calendar name {row['calendar']!r} is already a built-in rule calendar.")
        keys = tuple(k for k in (row["source"] or "").split(";") if k)
        unknown = [k for k in keys if k not in SOURCES]
        if not keys or unknown:
            raise ConfigError(f"{where}: sources {unknown or '(none)'} are not among {sorted(SOURCES)}.")
        rows.append(CalendarSeason(row["calendar"], row["country"], row["region"], row["season"],
                                   _doy(row["start"], where), _doy(row["end"], where), row["establishment"], keys))
    for name in {r.calendar for r in rows}:
        wins = [r.window for r in rows if r.calendar == name]
        for j, a in enumerate(wins):
            for b in wins[j + 1:]:
                if _overlap(a, b):
                    raise ConfigError(f"{source}: calendar {name!r} has overlapping windows {a.name!r} and {b.name!r}.")
    if not rows:
        raise ConfigError(f"{source}: no calendar rows.")
    return tuple(rows)


@functools.cache
def calendar_table() -> tuple[CalendarSeason, ...]:
    """The shipped table, validated (read once per process)."""
    text = resources.files("agromap.rice").joinpath("tables", "crop_calendars.csv").read_text(encoding="utf-8")
    return load_table(text, source="agromap/rice/tables/crop_calendars.csv")


def calendar_names() -> tuple[str, ...]:
    """Every calendar name: the table's and the rules' built-in ones (``india``, ``bangladesh``), sorted."""
    return tuple(sorted({r.calendar for r in calendar_table()} | set(CROP_CALENDARS)))


def calendar_windows(name: str) -> tuple[SeasonWindow, ...]:
    """The season windows of a calendar, in the table's order (the order of the ``season`` axis).

    Raises
    ------
    ConfigError
        Unknown name (the message lists the known ones).
    """
    if name in CROP_CALENDARS:
        return tuple(CROP_CALENDARS[name])
    wins = tuple(r.window for r in calendar_table() if r.calendar == name)
    if not wins:
        raise ConfigError(f"unknown crop calendar {name!r}; known: {', '.join(calendar_names())}. Or pass season "
                          "windows: SeasonWindow(start_doy, end_doy, name).")
    return wins

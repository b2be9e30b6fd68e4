"""Which orbit track a Sentinel-1 acquisition was seen from: STAC, product names, GeoTIFF tags, config.

Two tracks see a field at different incidence angles, and their backscatter differs by 1-2 dB
over flat land; the SAR rice rule removes that offset per pixel when each date names its track
(:mod:`agromap.rice.rules_sar`). A track is a *relative orbit*: the orbit number within the
12-day, 175-orbit repeat cycle of one satellite, so every pass of one relative orbit sees a
place from the same geometry. Over one area a relative orbit passes either ascending or
descending, so the relative orbit alone names the track; the orbit direction is a coarser name
(two ascending relative orbits of one area may still differ in incidence angle).

Sources, most specific first (:func:`track_of`):

- STAC ``sat`` extension (``sat:relative_orbit``, ``sat:orbit_state``, ``sat:absolute_orbit``);
- GeoTIFF dataset tags (OPERA RTC-S1 ``TRACK_NUMBER``/``ORBIT_PASS_DIRECTION``, Earth Engine
  property names ``relativeOrbitNumber_start``/``orbitProperties_pass``, and plain
  ``RELATIVE_ORBIT``/``ORBIT_STATE``...);
- product metadata beside the files: a SAFE ``manifest.safe`` (``safe:relativeOrbitNumber``,
  ``s1:pass``) or the ``productInfo.json`` of the AWS ``sentinel-s1-l1c`` layout
  (``missionId``, ``absoluteOrbitNumber``), in the file's folder or up to two levels above;
- product and file names: the ESA product name (``S1A_IW_GRDH_1SDV_<start>_<stop>_<absolute
  orbit>_<datatake>_<crc>``), the SAFE measurement file name (``s1a-iw-grd-vh-<start>-<stop>-
  <absolute orbit>-<datatake>-<n>.tiff``) and OPERA RTC-S1 burst names (``..._T<track>-<burst>-IW<n>_...``).

The relative orbit of an absolute orbit number follows the mission's phasing: for Sentinel-1A
``(absolute - 73) mod 175 + 1``, for Sentinel-1B ``(absolute - 27) mod 175 + 1`` (P. Meadows,
Sentinel-1 Mission Performance Centre, ESA STEP forum "Sentinel-1 relative orbit from filename",
2017; checked on the products named there: S1A orbit 18302 and S1B orbit 7231 are both relative
orbit 30). Other units are not converted: their absolute orbit names no track here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Track", "ORBITS_PER_CYCLE", "relative_orbit", "track_from_stac", "track_from_tags", "track_from_name",
           "track_from_config", "track_from_product", "track_of", "track_metadata", "is_sar_item", "stac_track_metadata",
           "slice_label"]

#: Orbits in one repeat cycle of a Sentinel-1 unit (12 days).
ORBITS_PER_CYCLE = 175
#: Absolute orbit number offset of each unit's relative orbit 1 (see the module docstring).
_PHASE = {"S1A": 73, "S1B": 27}
_STATES = {"ascending": "ascending", "asc": "ascending", "a": "ascending",
           "descending": "descending", "desc": "descending", "d": "descending"}

# ESA product name (GRD, SLC, OCN) and SAFE measurement file name: the absolute orbit is the
# six-digit field after the two times.
_PRODUCT = re.compile(r"(?<![A-Za-z0-9])(S1[A-D])_\w{2}_\w{4}_\w{4}_\d{8}T\d{6}_\d{8}T\d{6}_(\d{6})_[0-9A-F]{6}",
                      re.IGNORECASE)
_MEASUREMENT = re.compile(r"(?<![A-Za-z0-9])(s1[a-d])-\w{2,3}\d?-\w{3}-\w{2}-\d{8}t\d{6}-\d{8}t\d{6}-(\d{6})-[0-9a-f]{6}",
                          re.IGNORECASE)
_OPERA = re.compile(r"OPERA_L2_RTC-S1_T(\d{3})-\d{6}-IW\d", re.IGNORECASE)

#: GeoTIFF tag names (case-insensitive) that hold the relative orbit, the direction, the
#: absolute orbit and the unit.
_TAG_RELATIVE = ("sat:relative_orbit", "relative_orbit", "relative_orbit_number", "track_number", "track",
                 "relativeorbitnumber_start", "rel_orbit")
_TAG_STATE = ("sat:orbit_state", "orbit_state", "orbit_pass_direction", "orbitproperties_pass", "pass",
              "pass_direction", "flight_direction")
_TAG_ABSOLUTE = ("sat:absolute_orbit", "absolute_orbit", "absolute_orbit_number", "orbitnumber_start", "abs_orbit")
_TAG_UNIT = ("platform", "mission_id", "mission", "platform_identifier", "spacecraft")


@dataclass(frozen=True)
class Track:
    """The orbit track of one acquisition and where it was read from."""

    relative_orbit: int | None
    """Relative orbit number (1-175), when known."""
    orbit_state: str | None
    """``ascending`` or ``descending``, when known."""
    source: str
    """Where it came from: ``stac``, ``tags``, ``product``, ``name`` or ``config``."""
    name: str | None = None
    """A label given as it is (config), used when there is neither number nor direction."""

    @property
    def label(self) -> str:
        """One string per track: the relative orbit (``"46"``), else the direction, else the given name."""
        if self.relative_orbit is not None:
            return str(self.relative_orbit)
        return self.orbit_state or self.name or ""


def relative_orbit(absolute: int, unit: str) -> int | None:
    """The relative orbit (1-175) of absolute orbit ``absolute`` of unit ``unit`` (``S1A``/``S1B``; None for others)."""
    phase = _PHASE.get(_unit(unit) or "")
    if phase is None or int(absolute) <= 0:
        return None
    return (int(absolute) - phase) % ORBITS_PER_CYCLE + 1


def _unit(text: Any) -> str | None:
    """``S1A``/``S1B``/``S1C``... from ``sentinel-1a``, ``Sentinel-1B``, ``S1A``, ``s1b``."""
    m = re.fullmatch(r"\s*(?:sentinel-?|s)1([a-d])\s*", str(text), re.IGNORECASE)
    return f"S1{m.group(1).upper()}" if m else None


def _state(value: Any) -> str | None:
    return _STATES.get(str(value).strip().lower()) if value is not None else None


def _int(value: Any) -> int | None:
    try:
        out = int(float(str(value).strip()))
    except (TypeError, ValueError):
        return None
    return out


def _valid_relative(value: Any) -> int | None:
    n = _int(value)
    return n if n is not None and 1 <= n <= ORBITS_PER_CYCLE else None


def track_from_stac(properties: Mapping[str, Any]) -> Track | None:
    """The track from STAC item properties (``sat`` extension), or None when they do not say."""
    rel = _valid_relative(properties.get("sat:relative_orbit"))
    state = _state(properties.get("sat:orbit_state"))
    if rel is None and properties.get("sat:absolute_orbit") is not None:
        absolute = _int(properties.get("sat:absolute_orbit"))
        rel = relative_orbit(absolute, str(properties.get("platform", ""))) if absolute is not None else None
    if rel is None and state is None:
        return None
    return Track(rel, state, "stac")


def track_from_tags(tags: Mapping[str, Any] | Sequence[tuple[str, Any]]) -> Track | None:
    """The track from a GeoTIFF's dataset tags (names case-insensitive), or None."""
    low = {str(k).strip().lower(): v for k, v in (tags.items() if isinstance(tags, Mapping) else tags)}

    def first(names: tuple[str, ...]) -> Any:
        return next((low[n] for n in names if n in low), None)

    rel = _valid_relative(first(_TAG_RELATIVE))
    state = _state(first(_TAG_STATE))
    if rel is None:
        absolute, unit = _int(first(_TAG_ABSOLUTE)), first(_TAG_UNIT)
        if absolute is not None and unit is not None:
            rel = relative_orbit(absolute, str(unit))
    if rel is None and state is None:
        return None
    return Track(rel, state, "tags")


def track_from_name(path: str | os.PathLike[str]) -> Track | None:
    """The track from a product, SAFE or OPERA name anywhere in ``path`` (folders included), or None."""
    text = os.fspath(path)
    m = _OPERA.search(text)
    if m:
        return Track(_valid_relative(m.group(1)), None, "name")
    for pattern in (_PRODUCT, _MEASUREMENT):
        m = pattern.search(text)
        if m:
            rel = relative_orbit(int(m.group(2)), m.group(1))
            if rel is not None:
                return Track(rel, None, "name")
    return None


#: Larger files are not product metadata (a manifest.safe is a few tens of kB).
_MAX_META_BYTES = 4 << 20
_SAFE_RELATIVE = re.compile(r"<safe:relativeOrbitNumber[^>]*>\s*(\d+)\s*<", re.IGNORECASE)
_SAFE_PASS = re.compile(r"<s1:pass>\s*(\w+)\s*<", re.IGNORECASE)


def _small_text(path: str) -> str | None:
    try:
        if os.path.getsize(path) > _MAX_META_BYTES:
            return None
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return None


def track_from_product(path: str | os.PathLike[str]) -> Track | None:
    """The track from a ``manifest.safe`` or ``productInfo.json`` in the folder of ``path`` or up to two above."""
    import json

    text_path = os.fspath(path)
    if "://" in text_path or text_path.startswith("/vsi"):  # remote: no folder to look into
        return None
    folder = os.path.dirname(os.path.abspath(text_path))
    for _ in range(3):
        text = _small_text(os.path.join(folder, "manifest.safe"))
        if text is not None:
            m, p = _SAFE_RELATIVE.search(text), _SAFE_PASS.search(text)
            rel, state = _valid_relative(m.group(1)) if m else None, _state(p.group(1)) if p else None
            if rel is not None or state is not None:
                return Track(rel, state, "product")
        text = _small_text(os.path.join(folder, "productInfo.json"))
        if text is not None:
            try:
                info = json.loads(text)
            except ValueError:
                info = None
            if isinstance(info, dict):
                absolute = _int(info.get("absoluteOrbitNumber"))
                rel = relative_orbit(absolute, str(info.get("missionId", ""))) if absolute is not None else None
                if rel is not None:
                    return Track(rel, None, "product")
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return None


def track_from_config(value: int | str) -> Track:
    """A track declared in the configuration: a relative orbit (1-175), ``ascending``/``descending``, or a name."""
    if isinstance(value, int) or str(value).strip().isdigit():
        rel = _valid_relative(value)
        if rel is None:
            from ..errors import ConfigError

            raise ConfigError(f"orbit {value!r} is not a Sentinel-1 relative orbit (1-{ORBITS_PER_CYCLE}); give "
                              "the relative orbit number, 'ascending'/'descending', or a track name.")
        return Track(rel, None, "config")
    state = _state(value)
    return Track(None, state, "config", None if state else str(value).strip())


def track_of(*, declared: int | str | None = None, stac: Mapping[str, Any] | None = None,
             tags: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
             names: Sequence[str | os.PathLike[str]] = ()) -> Track | None:
    """The track of one acquisition from the first source that names it: config, STAC, tags, the product
    metadata beside the first of ``names`` (local files), the names themselves.
    """
    if declared is not None and str(declared).strip():
        return track_from_config(declared)
    for found in (track_from_stac(stac) if stac else None, track_from_tags(tags) if tags else None,
                  track_from_product(names[0]) if names else None):
        if found is not None:
            return found
    for name in names:
        found = track_from_name(name)
        if found is not None:
            return found
    return None


def track_metadata(track: Track | None) -> dict[str, Any]:
    """Scene metadata naming the track (``orbit`` is the label the stack puts on ``time``); empty when unknown."""
    if track is None or not track.label:
        return {}
    return {"orbit": track.label, "orbit_source": track.source, "relative_orbit": track.relative_orbit,
            "orbit_state": track.orbit_state}


def is_sar_item(properties: Mapping[str, Any]) -> bool:
    """Whether STAC item properties describe a SAR acquisition (``sar`` extension or a Sentinel-1 platform).

    Optical items carry ``sat:relative_orbit`` too; only SAR dates need a track.
    """
    if any(str(k).startswith("sar:") for k in properties):
        return True
    return any("sentinel-1" in str(properties.get(k, "")).lower() for k in ("platform", "constellation"))


def stac_track_metadata(properties: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`track_metadata` of a SAR STAC item's ``sat`` properties; empty for other items."""
    return track_metadata(track_from_stac(properties)) if is_sar_item(properties) else {}


def slice_label(labels: Sequence[str | None]) -> str:
    """The track label of one date made of several scenes: their common label, ``a+b`` when they
    differ (a mosaic of two geometries is a track of its own), ``""`` when none is known.
    """
    known = sorted({str(x) for x in labels if x})
    return "+".join(known)

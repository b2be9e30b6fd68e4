"""Landsat Collection 2 Level-2: band map, MTL parsing, scaling and georeference from the MTL.

SR: rho = DN * 2.75e-5 - 0.2; ST: K = DN * 0.00341802 + 149.0 (both read from the MTL,
falling back to these published values). Collection 1 ``BQA`` bands are refused: their bits
differ from C2 ``QA_PIXEL`` (docs/science/indices_and_masks.md#landsat-collection-2-level-2).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from affine import Affine
from odc.geo.geobox import GeoBox

from ..errors import MetadataError

__all__ = ["BANDS_OLI", "BANDS_TM", "MTL", "read_mtl", "find_mtl"]

#: common name -> Landsat 8/9 OLI/TIRS C2 L2 file suffix. OLI has no broad NIR, so SR_B5 is ``nir``.
BANDS_OLI: dict[str, str] = {
    "coastal": "SR_B1",
    "blue": "SR_B2",
    "green": "SR_B3",
    "red": "SR_B4",
    "nir": "SR_B5",
    "swir16": "SR_B6",
    "swir22": "SR_B7",
    "lwir11": "ST_B10",
    "qa_pixel": "QA_PIXEL",
    "qa_radsat": "QA_RADSAT",
}

#: Landsat 4-7 TM/ETM+ C2 L2.
BANDS_TM: dict[str, str] = {
    "blue": "SR_B1",
    "green": "SR_B2",
    "red": "SR_B3",
    "nir": "SR_B4",
    "swir16": "SR_B5",
    "swir22": "SR_B7",
    "lwir": "ST_B6",
    "qa_pixel": "QA_PIXEL",
    "qa_radsat": "QA_RADSAT",
}

SR_SCALE, SR_OFFSET = 2.75e-5, -0.2
ST_SCALE, ST_OFFSET = 0.00341802, 149.0


def _parse_odl(text: str) -> dict[str, dict[str, str]]:
    groups: dict[str, dict[str, str]] = {}
    stack: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line == "END":
            continue
        key, _, value = (part.strip() for part in line.partition("="))
        if key == "GROUP":
            stack.append(value)
            groups.setdefault(value, {})
        elif key == "END_GROUP":
            if stack:
                stack.pop()
        elif stack:
            groups[stack[-1]][key] = value.strip('"')
    return groups


def _parse_json(text: str) -> dict[str, dict[str, str]]:
    root = json.loads(text)["LANDSAT_METADATA_FILE"]
    return {g: {k: str(v) for k, v in items.items()} for g, items in root.items()}


def _parse_xml(text: str) -> dict[str, dict[str, str]]:
    root = ET.fromstring(text)
    return {g.tag: {el.tag: (el.text or "").strip() for el in g} for g in root}


@dataclass(frozen=True)
class MTL:
    """A parsed Landsat C2 MTL (txt, json or xml): groups of key -> string value."""

    path: str
    groups: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]

    def group(self, name: str) -> dict[str, str]:
        """The ``key = value`` items of one MTL group, as a dict (empty if absent)."""
        return dict(dict(self.groups).get(name, ()))

    def get(self, key: str, default: str | None = None) -> str | None:
        """The first value of ``key`` in any group, or ``default``."""
        for _, items in self.groups:
            for k, v in items:
                if k == key:
                    return v
        return default

    @property
    def product_id(self) -> str:
        """``LANDSAT_PRODUCT_ID``, or the MTL file name without ``_MTL``."""
        return self.get("LANDSAT_PRODUCT_ID") or Path(self.path).name.rsplit("_MTL", 1)[0]

    @property
    def processing_level(self) -> str:
        """``PROCESSING_LEVEL`` (``L2SP``, ``L2SR``...), empty if absent."""
        return self.get("PROCESSING_LEVEL", "") or ""

    @property
    def spacecraft(self) -> str:
        """``SPACECRAFT_ID`` (``LANDSAT_8``...), empty if absent."""
        return self.get("SPACECRAFT_ID", "") or ""

    @property
    def datetime(self) -> str:
        """Acquisition time in ISO form from ``DATE_ACQUIRED`` and ``SCENE_CENTER_TIME``."""
        date = self.get("DATE_ACQUIRED")
        if not date:
            raise MetadataError(f"{self.path}: DATE_ACQUIRED missing from the MTL.")
        t = (self.get("SCENE_CENTER_TIME") or "00:00:00Z").rstrip("Z")
        return f"{date}T{t[:15]}"

    def band_map(self) -> dict[str, str]:
        """common name -> file suffix for this spacecraft."""
        return BANDS_TM if self.spacecraft in ("LANDSAT_4", "LANDSAT_5", "LANDSAT_7") else BANDS_OLI

    def scale_offset(self, suffix: str) -> tuple[float, float, bool]:
        """(scale, offset, raw) for a band file suffix such as ``SR_B4`` or ``ST_B10``."""
        if suffix.startswith("QA_"):
            return 1.0, 0.0, True
        m = re.fullmatch(r"SR_B(\d+)", suffix)
        if m:
            n = m.group(1)
            return (
                float(self.get(f"REFLECTANCE_MULT_BAND_{n}", str(SR_SCALE)) or SR_SCALE),
                float(self.get(f"REFLECTANCE_ADD_BAND_{n}", str(SR_OFFSET)) or SR_OFFSET),
                False,
            )
        if suffix.startswith("ST_B"):
            return (
                float(self.get(f"TEMPERATURE_MULT_BAND_{suffix}", str(ST_SCALE)) or ST_SCALE),
                float(self.get(f"TEMPERATURE_ADD_BAND_{suffix}", str(ST_OFFSET)) or ST_OFFSET),
                False,
            )
        raise MetadataError(f"{self.path}: no scaling rule for band {suffix!r}.")

    def geobox(self, shape: tuple[int, int]) -> GeoBox:
        """Georeference rebuilt from the MTL corners (pixel centres) and UTM zone.

        For files written without georeferencing (e.g. cropped samples); the MTL corner
        coordinates are pixel centres, hence the half-pixel shift to the outer edge.
        """
        proj = self.group("PROJECTION_ATTRIBUTES")
        try:
            zone = int(proj["UTM_ZONE"])
            res = float(proj.get("GRID_CELL_SIZE_REFLECTIVE", "30"))
            ulx, uly = float(proj["CORNER_UL_PROJECTION_X_PRODUCT"]), float(proj["CORNER_UL_PROJECTION_Y_PRODUCT"])
            lrx, lry = float(proj["CORNER_LR_PROJECTION_X_PRODUCT"]), float(proj["CORNER_LR_PROJECTION_Y_PRODUCT"])
        except (KeyError, ValueError) as exc:
            raise MetadataError(f"{self.path}: projection attributes incomplete ({exc}); cannot georeference.") from exc
        if proj.get("MAP_PROJECTION", "UTM") != "UTM":
            raise MetadataError(f"{self.path}: only UTM products can be georeferenced from the MTL.")
        rows, cols = shape
        want = (round((uly - lry) / res) + 1, round((lrx - ulx) / res) + 1)
        if want != (rows, cols):
            raise MetadataError(
                f"{self.path}: MTL corners describe {want[0]}x{want[1]} px at {res:g} m but the band "
                f"file is {rows}x{cols} px; the MTL does not belong to this file."
            )
        # Collection 2 uses north-zone EPSG codes with negative northings south of the equator.
        return GeoBox(shape, Affine(res, 0.0, ulx - res / 2, 0.0, -res, uly + res / 2), f"EPSG:{32600 + zone}")


def read_mtl(path: str | Path) -> MTL:
    """Parse an MTL in any of its three encodings (``_MTL.txt``, ``.json``, ``.xml``)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
        if p.suffix.lower() == ".json":
            groups = _parse_json(text)
        elif p.suffix.lower() == ".xml":
            groups = _parse_xml(text)
        else:
            groups = _parse_odl(text)
    except (OSError, ValueError, KeyError, ET.ParseError) as exc:
        raise MetadataError(f"{p}: not a readable Landsat MTL ({exc}).") from exc
    if not groups:
        raise MetadataError(f"{p}: no metadata groups found; is this a Landsat MTL file?")
    return MTL(str(p), tuple((g, tuple(sorted(items.items()))) for g, items in groups.items()))


def find_mtl(folder: Path) -> Path:
    """The MTL of a product folder, preferring txt, then json, then xml."""
    for pattern in ("*_MTL.txt", "*_MTL.json", "*_MTL.xml"):
        hits = sorted(folder.glob(pattern))
        if hits:
            return hits[0]
    if any(folder.glob("*_BQA.TIF")) or any(folder.glob("*_BQA.tif")):
        raise MetadataError(
            f"{folder}: looks like Collection 1 (BQA band); only Collection 2 QA_PIXEL products are supported."
        )
    raise MetadataError(f"{folder}: no *_MTL.txt/json/xml; a Landsat C2 product folder needs its MTL.")



"""Sentinel-2 L2A (Sen2Cor): band map and the BOA offset decided from metadata.

From processing baseline 04.00 (25 Jan 2022) L2A DN carry ``BOA_ADD_OFFSET = -1000``:
``rho = (DN - 1000) / 10000``. Reprocessed PB 05.xx products of older dates carry it too,
so the decision uses the baseline, never the sensing date (docs/science/indices_and_masks.md#sentinel-2-l2a).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import MetadataError

__all__ = [
    "BANDS",
    "AUX_BANDS",
    "QUANTIFICATION",
    "Radiometry",
    "baseline_from_name",
    "radiometry_from_metadata",
    "band_scale_offset",
]

#: common name -> Sentinel-2 band id (docs/science/indices_and_masks.md#common-band-names).
BANDS: dict[str, str] = {
    "coastal": "B01",
    "blue": "B02",
    "green": "B03",
    "red": "B04",
    "rededge1": "B05",
    "rededge2": "B06",
    "rededge3": "B07",
    "nir": "B08",
    "nir08": "B8A",
    "nir09": "B09",
    "swir16": "B11",
    "swir22": "B12",
}

#: Auxiliary layers: name -> (file id, scale, raw). SCL stays uint8 classes.
AUX_BANDS: dict[str, tuple[str, float, bool]] = {
    "scl": ("SCL", 1.0, True),
    "aot": ("AOT", 0.001, False),
    "wvp": ("WVP", 0.001, False),
}

QUANTIFICATION = 10_000.0
BOA_OFFSET_PB4 = -1000.0


@dataclass(frozen=True)
class Radiometry:
    """How DN become reflectance for one product, and why (for the manifest)."""

    boa_offset: float
    """DN offset added before dividing by 10 000 (0 or -1000)."""
    processing_baseline: str | None
    decided_by: str
    """Which metadata decided the offset (``MTD``, ``stac``, ``product name``)."""


_BASELINE_RE = re.compile(r"_N(\d{2})(\d{2})_")


def baseline_from_name(name: str) -> str | None:
    """The processing baseline ``"04.00"`` from a product name with an ``_Nxxyy_`` field."""
    m = _BASELINE_RE.search(name)
    return f"{m.group(1)}.{m.group(2)}" if m else None


def _offset_for_baseline(pb: str) -> float:
    try:
        major = float(pb)
    except ValueError as exc:
        raise MetadataError(f"processing baseline {pb!r} is not a number like '04.00'.") from exc
    return BOA_OFFSET_PB4 if major >= 4.0 else 0.0


def _offsets_from_mtd(mtd: Path) -> dict[int, float] | None:
    """Per-band BOA_ADD_OFFSET values from MTD_MSIL2A.xml, keyed by band_id (0..12)."""
    try:
        root = ET.parse(mtd).getroot()
    except ET.ParseError as exc:
        raise MetadataError(f"{mtd}: not valid XML ({exc}).") from exc
    found = {
        int(el.get("band_id", "-1")): float(el.text or "0")
        for el in root.iter()
        if el.tag.endswith("BOA_ADD_OFFSET")
    }
    return found or None


def radiometry_from_metadata(
    *,
    stac_properties: dict[str, Any] | None = None,
    product_name: str | None = None,
    mtd_path: Path | None = None,
) -> Radiometry:
    """Decide the BOA offset from product metadata, in the order of docs/science/indices_and_masks.md#sentinel-2-l2a.

    1. ``BOA_ADD_OFFSET`` values in ``MTD_MSIL2A.xml``;
    2. STAC ``s2:processing_baseline``;
    3. the ``_Nxxyy_`` field of the product name (or ``s2:product_uri``).

    Raises
    ------
    MetadataError
        When none of them is available: there is no silent default.
    """
    if mtd_path is not None and mtd_path.exists():
        offsets = _offsets_from_mtd(mtd_path)
        pb = None
        if offsets is not None:
            values = set(offsets.values())
            if len(values) != 1:
                raise MetadataError(f"{mtd_path}: per-band BOA offsets differ {sorted(values)}; unsupported.")
            return Radiometry(values.pop(), pb, "MTD_MSIL2A.xml BOA_ADD_OFFSET")
    props = stac_properties or {}
    pb = props.get("s2:processing_baseline")
    if pb:
        return Radiometry(_offset_for_baseline(str(pb)), str(pb), "stac s2:processing_baseline")
    for name in (product_name, props.get("s2:product_uri")):
        if name and (pb := baseline_from_name(str(name))):
            return Radiometry(_offset_for_baseline(pb), pb, "product name N-field")
    raise MetadataError(
        "cannot decide the Sentinel-2 L2A BOA offset: no MTD_MSIL2A.xml, no s2:processing_baseline "
        "and no _Nxxyy_ product name; set processing_baseline in the input configuration."
    )


def band_scale_offset(name: str, radiometry: Radiometry) -> tuple[float, float, bool]:
    """(scale, offset, raw) turning DN of band ``name`` into physical values."""
    if name in AUX_BANDS:
        _, scale, raw = AUX_BANDS[name]
        return scale, 0.0, raw
    if name not in BANDS:
        raise KeyError(name)
    return 1.0 / QUANTIFICATION, radiometry.boa_offset / QUANTIFICATION, False

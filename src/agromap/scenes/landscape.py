"""Land cover, fields and per-field calendars of a hard scene, from hashes of global position.

A scene is a mosaic of rectangular fields (parcels of ``field_size`` px split once, as in
:mod:`agromap.synthetic_truth`). Large, contiguous covers (forest, built-up, seasonal wetland,
flooded grassland, permanent water) are drawn per *parcel* (both its fields); every other cover
per field. Each field then draws its own calendar (rice seasons within the scene's calendar
windows, crop sowing dates, pond draining, wetland hydroperiod...) from uniforms hashed from its
field id, so any window of any scene can be generated on its own and values never depend on
chunking.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..synthetic_truth import hash_keys, uniform

__all__ = [
    "RICE", "RICE_DSR", "AQUACULTURE", "WETLAND", "GRASSLAND", "ORCHARD", "LOTUS", "HYACINTH",
    "SUGARCANE", "DRYLAND", "FALLOW", "BUILT_UP", "FOREST", "WATER", "RICE_SHRIMP",
    "COVER_NAMES", "RICE_CODES", "PATCH_COVERS", "field_layout", "landscape",
]  # fmt: skip

RICE, RICE_DSR, AQUACULTURE, WETLAND, GRASSLAND, ORCHARD, LOTUS = 1, 2, 3, 4, 5, 6, 7
HYACINTH, SUGARCANE, DRYLAND, FALLOW, BUILT_UP, FOREST, WATER = 8, 9, 10, 11, 12, 13, 14
RICE_SHRIMP = 15

#: Cover class code -> name (truth ``cover``); 0 is never used.
COVER_NAMES: dict[int, str] = {
    RICE: "rice",
    RICE_DSR: "rice_direct_seeded",
    RICE_SHRIMP: "rice_shrimp",  # listed with the rice covers (tables put them first)
    AQUACULTURE: "aquaculture",
    WETLAND: "seasonal_wetland",
    GRASSLAND: "flooded_grassland",
    ORCHARD: "orchard_flood_irrigated",
    LOTUS: "lotus",
    HYACINTH: "water_hyacinth",
    SUGARCANE: "sugarcane",
    DRYLAND: "dryland_crop",
    FALLOW: "fallow_puddles",
    BUILT_UP: "built_up",
    FOREST: "forest",
    WATER: "permanent_water",
}
#: Covers whose truth is rice (a rice-shrimp field grows one wet-season rice crop a year).
RICE_CODES: tuple[int, ...] = (RICE, RICE_DSR, RICE_SHRIMP)
#: Covers drawn per parcel (both fields; contiguous in reality), in drawing order.
PATCH_COVERS: tuple[int, ...] = (FOREST, BUILT_UP, WETLAND, GRASSLAND, WATER)

# Hash streams (distinct from agromap.synthetic_truth's 1-8).
_S_SPLIT, _S_FIELD, _S_PATCH = 101, 102, 103
_A1, _A2 = 0.7548776662466927, 0.5698402909980532  # R2 sequence constants
MAX_SEASONS = 4  # rice calendar slots per field (e.g. Dec of the year before + three in the year)


def field_layout(seed: int, field_size: int, rr: np.ndarray, cc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Field hash, patch and field cover uniforms per pixel of the (broadcast) global ``rr``, ``cc`` grid."""
    f = field_size
    br, bc = rr // f, cc // f
    hs = hash_keys(seed, _S_SPLIT, br, bc)
    pos = f // 4 + (hs >> np.uint64(1)) % np.uint64(max(f // 2, 1))
    along_rows = (hs & np.uint64(1)) == 0
    side = np.where(along_rows, (rr % f) >= pos, (cc % f) >= pos)
    fid = hash_keys(seed, _S_FIELD, br, bc, side)
    # Cover uniforms from a jittered R2 lattice (Roberts 2018) rather than independent draws:
    # neighbouring parcels get well-spread values, so even a 64 px scene holds every cover
    # near its target fraction.
    off = uniform(hash_keys(seed, _S_PATCH))
    pr, pc = br, bc
    patch = np.mod(off + _A1 * pr + _A2 * pc + 0.1 * uniform(hash_keys(seed, _S_PATCH, pr, pc)), 1.0)
    u_field = np.mod(off + _A1 * br + _A2 * bc + 0.5 * side + 0.1 * uniform(fid, 99), 1.0)
    return fid, patch, u_field


def _assign_cover(fractions: dict[int, float], u_field: np.ndarray, u_patch: np.ndarray) -> np.ndarray:
    """Cover codes: patch covers by the patch uniform, the others by the field uniform."""
    cover = np.zeros(u_field.shape, dtype=np.uint8)
    acc = 0.0
    for c in PATCH_COVERS:
        p = fractions.get(c, 0.0)
        cover[(u_patch >= acc) & (u_patch < acc + p)] = c
        acc += p
    rest = max(1.0 - acc, 1e-9)
    field_classes = [c for c in fractions if c not in PATCH_COVERS and fractions[c] > 0]
    acc2 = 0.0
    free = cover == 0
    for c in field_classes:
        share = fractions[c] / rest
        cover[free & (u_field >= acc2) & (u_field < acc2 + share)] = c
        acc2 += share
    cover[cover == 0] = field_classes[-1] if field_classes else FOREST  # rounding at the top end
    return cover


def landscape(cfg: Any, seed: int, rows: slice, cols: slice) -> dict[str, np.ndarray]:
    """Cover and per-field parameters of the pixels in a global window.

    Parameters
    ----------
    cfg : SceneConfig
        The scene's definition (:mod:`agromap.scenes.catalog`).
    seed : int
    rows, cols : slice
        Global pixel window.

    Returns
    -------
    dict of numpy.ndarray
        ``cover`` uint8, ``field_id`` uint64 hash, ``u`` ``(32, rows, cols)`` per-field uniforms
        (the class signatures read their parameters from them), ``est`` and ``length``
        ``(MAX_SEASONS, rows, cols)``: rice establishment day numbers (transplanting, or sowing
        for direct-seeded rice; NaN = no season) and establishment-to-harvest days,
        ``brightness`` (optical gain) and ``sar_gain`` (linear SAR gain per field).
    """
    rr = np.arange(rows.start, rows.stop, dtype=np.int64)[:, None]
    cc = np.arange(cols.start, cols.stop, dtype=np.int64)[None, :]
    fid, patch, u_cover = field_layout(seed, cfg.field_size, rr, cc)
    rr, cc = np.broadcast_arrays(rr, cc)
    u = np.stack([uniform(fid, k + 1) for k in range(32)])
    cover = _assign_cover(dict(cfg.cover_fractions), u_cover, patch)

    # Rice calendar: a pattern (which of the scene's season windows the field uses), then a
    # staggered establishment date inside each window and a variety length.
    rice = np.isin(cover, (RICE, RICE_DSR))
    est = np.full((MAX_SEASONS, *cover.shape), np.nan)
    length = np.zeros((MAX_SEASONS, *cover.shape))
    probs = np.cumsum([p for p, _ in cfg.rice_patterns])
    pattern = np.searchsorted(probs / probs[-1], u[1], side="right")
    lo_len, hi_len = cfg.rice_length
    for s, (lo, hi) in enumerate(cfg.rice_windows):
        uses = np.zeros(cover.shape, dtype=bool)
        for k, (_, members) in enumerate(cfg.rice_patterns):
            if s in members:
                uses |= pattern == k
        on = rice & uses
        est[s] = np.where(on, lo + np.floor(u[10 + s] * (hi - lo + 1)), np.nan)
        length[s] = np.where(on, lo_len + np.floor(u[14 + s] * (hi_len - lo_len + 1)), 0)
    # Rice-shrimp rotation: the one wet-season crop after the shrimp, in slot 0.
    shrimp = cover == RICE_SHRIMP
    if shrimp.any():
        (lo, hi), (lo_len, hi_len) = cfg.rice_shrimp_window, cfg.rice_shrimp_length
        est[0] = np.where(shrimp, lo + np.floor(u[10] * (hi - lo + 1)), est[0])
        length[0] = np.where(shrimp, lo_len + np.floor(u[14] * (hi_len - lo_len + 1)), length[0])

    return {
        "cover": cover,
        "field_id": fid,
        "u": u,
        "est": est,
        "length": length,
        "brightness": 1.0 + 0.12 * (u[2] - 0.5),
        "sar_gain": 10.0 ** (1.5 * (u[3] - 0.5) / 10.0),
    }

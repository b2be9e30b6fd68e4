"""The numpy formulation of the rules' season slots and outputs: the reference the compiled
season walk (:mod:`agromap.rice.seasons_kernel`) is tested against, bit for bit.

The slots are filled date by date, in time order: with calendar windows at most one onset per
window; without, successive onsets at least ``min_season_days`` apart, up to ``max_seasons``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

_F32 = np.float32


def saturate_u8(count: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """Counts as uint8, capped at 254 so that 255 stays free for nodata."""
    return np.minimum(count, 254).astype(np.uint8)


class SeasonSlots:
    """Flooding onsets accepted into season slots, in time order (the reference of both rules' walk).

    With calendar windows a pixel gets at most one onset per window; without, successive onsets
    must be ``min_season_days`` apart, up to ``max_seasons``. ``best`` keeps the best margin seen
    (the rule's evidence, capped by the land-cover mask margin) for the confidence score.
    """

    def __init__(self, n_pix: int, n_windows: int, max_seasons: int, min_season_days: float,
                 mask_margin: np.ndarray, masked: np.ndarray) -> None:
        self.n_windows = n_windows
        self.n_slots = n_windows or max_seasons
        self.slots = np.zeros((n_pix, self.n_slots), dtype=np.uint16)
        self.count = np.zeros(n_pix, dtype=np.int32)
        self.last = np.full(n_pix, np.iinfo(np.int32).min // 2, dtype=np.int64)
        self.best = np.full(n_pix, -np.inf, dtype=np.float32)
        self.min_season_days = min_season_days
        self.mask_margin = mask_margin
        self.masked = masked

    def offer(self, t: int, idx: np.ndarray, margin: np.ndarray, window: np.ndarray, doy: np.ndarray,
              days: np.ndarray) -> None:
        """Candidates ``idx`` at date ``t`` with evidence ``margin`` (>= 0 passes the rule)."""
        self.best[idx] = np.maximum(self.best[idx], np.minimum(margin, self.mask_margin[idx]))
        acc = (margin >= 0) & ~self.masked[idx]
        if self.n_windows:
            w = int(window[t])
            acc &= self.slots[idx, w] == 0
            self.slots[idx[acc], w] = doy[t]
        else:
            acc &= (days[t] - self.last[idx]) >= self.min_season_days
            sel = idx[acc]
            fits = self.count[sel] < self.n_slots
            self.slots[sel[fits], self.count[sel[fits]]] = doy[t]
            self.last[sel] = days[t]
        self.count[idx[acc]] += 1


def finish_outputs(
    lead: tuple[int, ...], n_valid: npt.NDArray[Any], n_seasons: npt.NDArray[Any], slots: npt.NDArray[np.uint16],
    score: npt.NDArray[np.float32], n_window: npt.NDArray[Any], qa: npt.NDArray[np.uint8],
) -> tuple[npt.NDArray[Any], ...]:
    """Apply the nodata conventions and reshape the per-pixel outputs back to ``lead``."""
    none = n_valid == 0
    rice_class = np.where(none, 255, n_seasons > 0).astype(np.uint8)
    n_seas = np.where(none, 255, np.minimum(n_seasons, 254)).astype(np.uint8)
    score = np.where(none, _F32(np.nan), score).astype(_F32)
    k = slots.shape[-1]
    return (rice_class.reshape(lead), n_seas.reshape(lead), slots.reshape(*lead, k), score.reshape(lead),
            saturate_u8(n_valid).reshape(lead), saturate_u8(n_window).reshape(lead), qa.reshape(lead))


# ---- xarray side ------------------------------------------------------------------------------

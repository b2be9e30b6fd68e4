"""Planning a stratified reference sample: its total size and its split over the map classes.

Olofsson et al. (2014), eq. 13 and section 5.1.2: the total for a target standard error of
overall accuracy, then a floor for rare classes and the rest in proportion to mapped area. The
sample itself is drawn by :mod:`agromap.rice.sampling` and assessed by :mod:`agromap.rice.accuracy`.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import SampleDesignError

__all__ = ["sample_size", "allocate_samples"]


def sample_size(weights: ArrayLike, anticipated_ua: ArrayLike, target_se_oa: float) -> int:
    """Total stratified sample size for a target standard error of overall accuracy.

    ``n = (sum_i W_i S_i / S(O))^2`` with ``S_i = sqrt(U_i (1 - U_i))`` (Olofsson et al. 2014, eq. 13),
    rounded up.

    Parameters
    ----------
    weights : array-like
        Mapped area (or proportion) of each map class; normalised to sum to 1.
    anticipated_ua : array-like
        Expected user's accuracy of each class, in (0, 1].
    target_se_oa : float
        Target standard error of overall accuracy, e.g. 0.01.

    Returns
    -------
    int
        Total number of sample units; split it with :func:`allocate_samples`.

    Examples
    --------
    >>> sample_size([0.2, 0.8], [0.85, 0.95], 0.01)
    605
    """
    w = np.asarray(weights, dtype=np.float64).ravel()
    u = np.asarray(anticipated_ua, dtype=np.float64).ravel()
    if w.shape != u.shape or w.size == 0:
        raise SampleDesignError(f"weights ({w.size}) and anticipated_ua ({u.size}) need one value per class.")
    if np.any(w < 0) or w.sum() <= 0 or not np.all(np.isfinite(w)):
        raise SampleDesignError(f"weights must be >= 0 and not all 0, got {w.tolist()}.")
    if np.any((u <= 0) | (u > 1)) or not np.all(np.isfinite(u)):
        raise SampleDesignError(f"anticipated_ua must be in (0, 1], got {u.tolist()}.")
    if not (0 < target_se_oa < 1):
        raise SampleDesignError(f"target_se_oa must be in (0, 1), e.g. 0.01, got {target_se_oa!r}.")
    w = w / w.sum()
    s = np.sqrt(u * (1.0 - u))
    n = (float((w * s).sum()) / target_se_oa) ** 2
    # Guard the ceiling against float noise (604.0000000001 must stay 605 only if truly above).
    return max(int(math.ceil(round(n, 9))), 1)


def allocate_samples(n_total: int, weights: ArrayLike, *, min_per_class: int = 50) -> NDArray[np.int64]:
    """Split a total sample over strata: rare classes get a floor, the rest proportional to area.

    Olofsson et al. (2014, section 5.1.2) recommend giving rare classes (rice in a mixed landscape)
    50-100 units and allocating the remainder roughly in proportion to mapped area, a compromise
    between precise user's accuracies of rare classes and a precise overall estimate. Classes whose
    proportional share is below ``min_per_class`` get exactly ``min_per_class``; the rest of the
    sample is shared in proportion to the other classes' weights (repeated until stable) and
    rounded by largest remainder so the counts sum to ``n_total``.

    Parameters
    ----------
    n_total : int
        Total sample size (e.g. from :func:`sample_size`).
    weights : array-like
        Mapped area or proportion of each class (normalised internally).
    min_per_class : int
        Floor per class, 50-100 recommended.

    Returns
    -------
    numpy.ndarray
        int64 sample count per class, summing to ``n_total``.

    Examples
    --------
    >>> allocate_samples(605, [0.05, 0.95], min_per_class=100).tolist()
    [100, 505]
    """
    w = np.asarray(weights, dtype=np.float64).ravel()
    k = w.size
    if k == 0 or np.any(w < 0) or w.sum() <= 0 or not np.all(np.isfinite(w)):
        raise SampleDesignError(f"weights must be >= 0 and not all 0, got {w.tolist()}.")
    if min_per_class < 0 or n_total < min_per_class * k:
        raise SampleDesignError(
            f"n_total={n_total} cannot give {k} classes at least {min_per_class} samples each; "
            f"raise n_total to >= {min_per_class * k} or lower min_per_class."
        )
    w = w / w.sum()
    floored = np.zeros(k, dtype=bool)
    while True:
        free = ~floored
        rest = n_total - min_per_class * int(floored.sum())
        share = np.zeros(k)
        if w[free].sum() > 0:
            share[free] = rest * w[free] / w[free].sum()
        else:  # every remaining class has zero weight: split evenly
            share[free] = rest / max(int(free.sum()), 1)
        newly = free & (share < min_per_class)
        if not newly.any():
            break
        floored |= newly
    out = np.where(floored, min_per_class, np.floor(share)).astype(np.int64)
    short = n_total - int(out.sum())
    if short > 0:
        frac = np.where(floored, -1.0, share - np.floor(share))
        out[np.argsort(-frac, kind="stable")[:short]] += 1
    return out

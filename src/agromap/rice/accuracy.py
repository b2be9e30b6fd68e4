"""Accuracy assessment and area estimation from a stratified reference sample (Olofsson et al. 2014).

Pure numpy on small count matrices: nothing here touches xarray or dask. The convention
throughout is **rows = map class i, columns = reference class j** (docs/science/rice.md#accuracy-and-area-estimation).

- :func:`confusion_matrix` counts (map, reference) label pairs.
- :func:`accuracy_metrics` gives the *sample* statistics (OA, UA, PA, F1, kappa). They describe
  the sample, not the map: with a stratified sample use :func:`olofsson` for the map.
- :func:`olofsson` is the stratified estimator with the map classes as strata: area of each
  reference class (the "adjusted area") with its standard error and 95 % CI, area proportions,
  user's / producer's / overall accuracy with CIs, and the map bias.
- :func:`sample_size` and :func:`allocate_samples` (:mod:`agromap.rice.sample_design`) plan the
  reference sample.
- :func:`accuracy_report` renders an :class:`OlofssonResult` as a JSON-ready dict and markdown.

References
----------
Olofsson, P., Foody, G. M., Herold, M., Stehman, S. V., Woodcock, C. E., Wulder, M. A. (2014).
Good practices for estimating area and assessing accuracy of land change. Remote Sensing of
Environment 148, 42-57 (eq. 2-5, 9-11, 13 and the worked example of section 5).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import SampleDesignError
from .sample_design import allocate_samples, sample_size

__all__ = [
    "OlofssonResult",
    "confusion_matrix",
    "accuracy_metrics",
    "olofsson",
    "sample_size",
    "allocate_samples",
    "accuracy_report",
    "Z95",
]

#: Two-sided 95 % normal quantile used for every "± CI" (the paper's 1.96).
Z95: float = 1.96


# --------------------------------------------------------------------------------------------
# Counting and sample statistics
# --------------------------------------------------------------------------------------------


def confusion_matrix(
    map_labels: ArrayLike,
    ref_labels: ArrayLike,
    classes: Sequence[int],
    *,
    ignore: Sequence[int] = (),
) -> NDArray[np.int64]:
    """Count (map, reference) label pairs.

    Parameters
    ----------
    map_labels, ref_labels : array-like of int
        Labels of the same sample units, same length (any shape, flattened).
    classes : sequence of int
        Class values in matrix order; every label must be one of them (or in ``ignore``).
    ignore : sequence of int
        Values (e.g. nodata 255) whose pairs are dropped when either label has one.

    Returns
    -------
    numpy.ndarray
        int64 ``(k, k)`` counts, rows = map class, columns = reference class.

    Raises
    ------
    SampleDesignError
        On different lengths, duplicate classes, or labels outside ``classes``.

    Examples
    --------
    >>> confusion_matrix([1, 1, 0], [1, 0, 0], classes=[0, 1]).tolist()
    [[1, 0], [1, 1]]
    """
    m = np.asarray(map_labels).ravel()
    r = np.asarray(ref_labels).ravel()
    if m.shape != r.shape:
        raise SampleDesignError(
            f"map_labels has {m.size} labels but ref_labels has {r.size}; pass one map and one "
            "reference label per sample unit."
        )
    cls = np.asarray(list(classes))
    if cls.size == 0 or np.unique(cls).size != cls.size:
        raise SampleDesignError(f"classes must be non-empty and unique, got {list(classes)}.")
    if len(ignore):
        keep = ~(np.isin(m, list(ignore)) | np.isin(r, list(ignore)))
        m, r = m[keep], r[keep]
    for what, lab in (("map_labels", m), ("ref_labels", r)):
        unknown = np.setdiff1d(np.unique(lab), cls)
        if unknown.size:
            raise SampleDesignError(
                f"{what} contains {unknown.tolist()}, which are not in classes={cls.tolist()}; add "
                "them to classes, or to ignore= if they mean nodata."
            )
    k = cls.size
    order = np.argsort(cls)
    mi = order[np.searchsorted(cls[order], m)]
    ri = order[np.searchsorted(cls[order], r)]
    return np.bincount(mi * k + ri, minlength=k * k).reshape(k, k).astype(np.int64)


def _check_counts(cm: ArrayLike) -> NDArray[np.float64]:
    n = np.asarray(cm, dtype=np.float64)
    if n.ndim != 2 or n.shape[0] != n.shape[1] or n.shape[0] < 2:
        raise SampleDesignError(
            f"the confusion matrix must be square (k, k) with k >= 2, got shape {n.shape}; rows are "
            "map classes, columns reference classes."
        )
    if not np.all(np.isfinite(n)) or np.any(n < 0):
        raise SampleDesignError("the confusion matrix holds negative or non-finite counts; it must count samples.")
    return n


def accuracy_metrics(cm: ArrayLike) -> dict[str, Any]:
    """Sample accuracy statistics of a confusion matrix (rows = map, columns = reference).

    These are plain ratios of sample counts. They equal map accuracies only for a simple random
    sample; for a stratified sample use :func:`olofsson`, whose UA/PA/OA are unbiased for the map.

    Parameters
    ----------
    cm : array-like
        ``(k, k)`` non-negative counts.

    Returns
    -------
    dict
        ``overall_accuracy`` (float), ``users_accuracy``, ``producers_accuracy``, ``f1`` (float64
        arrays, one per class; NaN where a row/column is empty), ``kappa`` (Cohen's), ``n``.

    Examples
    --------
    >>> round(accuracy_metrics([[8, 2], [1, 9]])["kappa"], 3)
    0.7
    """
    n = _check_counts(cm)
    total = n.sum()
    if total <= 0:
        raise SampleDesignError("the confusion matrix is empty (no samples).")
    diag = np.diag(n)
    rows, cols = n.sum(axis=1), n.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ua = diag / rows
        pa = diag / cols
        f1 = 2.0 * diag / (rows + cols)
        po = diag.sum() / total
        pe = float((rows * cols).sum()) / total**2
        kappa = (po - pe) / (1.0 - pe) if pe < 1.0 else float("nan")
    return {
        "n": int(total),
        "overall_accuracy": float(po),
        "users_accuracy": ua,
        "producers_accuracy": pa,
        "f1": f1,
        "kappa": float(kappa),
    }


# --------------------------------------------------------------------------------------------
# Stratified estimator
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OlofssonResult:
    """Stratified area and accuracy estimates (Olofsson et al. 2014); arrays are per class, float64.

    ``*_ci`` fields are half-widths of the 95 % confidence interval, ``Z95 * se``.
    """

    class_names: tuple[str, ...]
    """Class names in matrix order."""
    class_values: tuple[int, ...] | None
    """Raster codes of the classes (``None`` if not given); used to join district tables."""
    counts: NDArray[np.float64]
    """Sample counts n_ij, rows = map class (stratum), columns = reference class."""
    mapped_area_ha: NDArray[np.float64]
    """Mapped area A_m,i of each map class (ha)."""
    weights: NDArray[np.float64]
    """W_i = A_m,i / A_tot."""
    proportions: NDArray[np.float64]
    """Estimated area proportions p_ij = W_i n_ij / n_i. (k, k)."""
    p_k: NDArray[np.float64]
    """Estimated area proportion of each reference class, p_.k."""
    p_k_se: NDArray[np.float64]
    """Standard error of p_.k."""
    area_ha: NDArray[np.float64]
    """Adjusted (sample-based) area of each reference class, A_tot p_.k (ha)."""
    area_se_ha: NDArray[np.float64]
    """Standard error of ``area_ha`` (ha)."""
    area_ci_ha: NDArray[np.float64]
    """95 % CI half-width of ``area_ha`` (ha)."""
    users_accuracy: NDArray[np.float64]
    """U_i = n_ii / n_i."""
    users_accuracy_ci: NDArray[np.float64]
    """95 % CI half-width of U_i."""
    producers_accuracy: NDArray[np.float64]
    """P_j = p_jj / p_.j (NaN if the class is never seen in the reference)."""
    producers_accuracy_ci: NDArray[np.float64]
    """95 % CI half-width of P_j."""
    overall_accuracy: float
    """O = sum_j p_jj."""
    overall_accuracy_ci: float
    """95 % CI half-width of O."""

    @property
    def total_area_ha(self) -> float:
        """A_tot, the mapped area of all strata (ha)."""
        return float(self.mapped_area_ha.sum())

    @property
    def map_bias_ha(self) -> NDArray[np.float64]:
        """Adjusted minus mapped area, Â_k - A_m,k (ha); positive where the map under-counts the class."""
        return self.area_ha - self.mapped_area_ha

    def index_of(self, cls: int | str) -> int:
        """Position of a class given by name or raster code."""
        if isinstance(cls, str):
            if cls in self.class_names:
                return self.class_names.index(cls)
        elif self.class_values is not None and int(cls) in self.class_values:
            return self.class_values.index(int(cls))
        raise SampleDesignError(
            f"class {cls!r} is not in this estimate (names {list(self.class_names)}, codes "
            f"{None if self.class_values is None else list(self.class_values)}); pass class_values= to olofsson()."
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python (JSON-ready) copy: lists and floats, NaN as ``None``; ``*_ci95`` are half-widths."""
        arrays = {
            "counts": self.counts, "mapped_area_ha": self.mapped_area_ha, "weights": self.weights,
            "proportions": self.proportions, "p_k": self.p_k, "p_k_se": self.p_k_se,
            "area_ha": self.area_ha, "area_se_ha": self.area_se_ha, "area_ci95_ha": self.area_ci_ha,
            "map_bias_ha": self.map_bias_ha, "users_accuracy": self.users_accuracy,
            "users_accuracy_ci95": self.users_accuracy_ci, "producers_accuracy": self.producers_accuracy,
            "producers_accuracy_ci95": self.producers_accuracy_ci, "overall_accuracy": self.overall_accuracy,
            "overall_accuracy_ci95": self.overall_accuracy_ci,
        }
        return {
            "method": "Olofsson et al. 2014 stratified estimator, map classes as strata",
            "confidence_level": 0.95,
            "z": Z95,
            "classes": list(self.class_names),
            "class_values": None if self.class_values is None else list(self.class_values),
            "total_area_ha": self.total_area_ha,
            **{k: _jsonable(v) for k, v in arrays.items()},
        }


def _jsonable(x: Any) -> Any:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 0:
        v = float(arr)
        return None if math.isnan(v) else v
    return [_jsonable(v) for v in arr]


def olofsson(
    cm: ArrayLike,
    mapped: ArrayLike,
    *,
    pixel_area_ha: float | None = None,
    class_names: Sequence[str] | None = None,
    class_values: Sequence[int] | None = None,
) -> OlofssonResult:
    """Stratified estimator of class areas and accuracies (Olofsson et al. 2014), strata = map classes.

    Parameters
    ----------
    cm : array-like
        ``(k, k)`` sample counts n_ij, rows = map class (the stratum the sample was drawn from),
        columns = reference class. Counts, not proportions.
    mapped : array-like
        ``(k,)`` mapped size of each map class: pixel counts N_i. when ``pixel_area_ha`` is given,
        otherwise areas in hectares (compute them as true areas, e.g.
        :func:`agromap.area.mapped_area_ha`; never count pixels of an EPSG:4326 grid).
    pixel_area_ha : float, optional
        Area of one pixel (ha) when ``mapped`` holds pixel counts (30 m -> 0.09).
    class_names : sequence of str, optional
        Names in matrix order (default ``"class_0"``...).
    class_values : sequence of int, optional
        Raster codes in matrix order, so district tables can find the class by its code.

    Returns
    -------
    OlofssonResult
        Adjusted areas with SE and 95 % CI, p_.k with SE, UA/PA/OA with 95 % CI, map bias.

    Raises
    ------
    SampleDesignError
        When shapes disagree, counts or areas are negative, or a stratum has n_i. <= 1 (its
        variance is undefined: sample at least 2, in practice >= 50, units per map class).

    Notes
    -----
    The strata must be the map classes. When the sample was stratified otherwise (by district, or
    by an older map), this estimator is biased: use Stehman's (2014) general stratified estimator.
    The producer's-accuracy variance is Olofsson's eq. 7 with N_.j estimated from the sample
    (Olofsson et al. 2014); it is scale-free, so areas work as well as pixel counts.

    Examples
    --------
    >>> r = olofsson([[66, 0, 5, 4], [0, 55, 8, 12], [1, 0, 153, 11], [2, 1, 9, 313]],
    ...              [200_000, 150_000, 3_200_000, 6_450_000], pixel_area_ha=0.09)
    >>> round(float(r.area_ha[0])), round(float(r.area_ci_ha[0]))
    (21158, 6158)
    """
    n = _check_counts(cm)
    k = n.shape[0]
    a = np.asarray(mapped, dtype=np.float64).ravel()
    if a.shape != (k,):
        raise SampleDesignError(
            f"mapped has {a.size} values but the confusion matrix has {k} classes; give one mapped "
            "pixel count or area per map class (row), in the same order."
        )
    if not np.all(np.isfinite(a)) or np.any(a < 0) or a.sum() <= 0:
        raise SampleDesignError(f"mapped sizes must be finite, >= 0 and not all 0, got {a.tolist()}.")
    if pixel_area_ha is not None:
        if not (pixel_area_ha > 0 and math.isfinite(pixel_area_ha)):
            raise SampleDesignError(f"pixel_area_ha must be a positive number, got {pixel_area_ha!r}.")
        a = a * float(pixel_area_ha)
    names = tuple(class_names) if class_names is not None else tuple(f"class_{i}" for i in range(k))
    values = tuple(int(v) for v in class_values) if class_values is not None else None
    if len(names) != k or (values is not None and len(values) != k):
        raise SampleDesignError(f"class_names/class_values must have {k} entries, one per matrix row.")
    ni = n.sum(axis=1)
    thin = [names[i] for i in range(k) if ni[i] <= 1]
    if thin:
        raise SampleDesignError(
            f"stratum {thin} has n_i. <= 1 sample (row sums {ni.astype(int).tolist()}); its variance is "
            "undefined. Collect at least 2 (recommended >= 50) reference samples in every map class, "
            "or merge the class with another before estimating."
        )

    a_tot = a.sum()
    w = a / a_tot
    q = n / ni[:, None]  # n_ij / n_i.
    p = w[:, None] * q
    p_k = p.sum(axis=0)
    term = (w[:, None] ** 2) * q * (1.0 - q) / (ni[:, None] - 1.0)
    p_k_se = np.sqrt(term.sum(axis=0))

    ua = np.diag(q).copy()
    ua_se = np.sqrt(ua * (1.0 - ua) / (ni - 1.0))
    oa = float(np.trace(p))
    oa_se = math.sqrt(float((w**2 * ua * (1.0 - ua) / (ni - 1.0)).sum()))

    with np.errstate(invalid="ignore", divide="ignore"):
        pa = np.diag(p) / p_k
        n_col = (a / ni) @ n  # estimated reference-class size N_.j (in area units; scale-free)
        own = a**2 * (1.0 - pa) ** 2 * ua * (1.0 - ua) / (ni - 1.0)
        cross_all = (a[:, None] ** 2) * q * (1.0 - q) / (ni[:, None] - 1.0)
        cross = cross_all.sum(axis=0) - np.diag(cross_all)
        pa_se = np.sqrt((own + pa**2 * cross) / n_col**2)

    return OlofssonResult(
        class_names=names,
        class_values=values,
        counts=n,
        mapped_area_ha=a,
        weights=w,
        proportions=p,
        p_k=p_k,
        p_k_se=p_k_se,
        area_ha=a_tot * p_k,
        area_se_ha=a_tot * p_k_se,
        area_ci_ha=Z95 * a_tot * p_k_se,
        users_accuracy=ua,
        users_accuracy_ci=Z95 * ua_se,
        producers_accuracy=pa,
        producers_accuracy_ci=Z95 * pa_se,
        overall_accuracy=oa,
        overall_accuracy_ci=Z95 * oa_se,
    )


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def _ha(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:,.0f}".replace(",", " ")


def _acc(x: float, ci: float, digits: int = 3) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"{x:.{digits}f} ± {ci:.{digits}f}" if math.isfinite(ci) else f"{x:.{digits}f}"


def accuracy_report(
    estimate: OlofssonResult,
    *,
    title: str = "Accuracy assessment and area estimate",
    sample_metrics: bool = True,
) -> tuple[dict[str, Any], str]:
    """Render an :class:`OlofssonResult` as a JSON-ready dict and a markdown report.

    The markdown table (docs/science/rice.md#accuracy-and-area-estimation) has, per class, the mapped area, the adjusted
    area ± 95 % CI, the map bias, p_.k (SE), UA ± CI and PA ± CI, then the overall accuracy and
    the sample confusion matrix. Unweighted sample statistics (kappa, F1) are appended, labelled
    as describing the sample only.

    Parameters
    ----------
    estimate : OlofssonResult
        From :func:`olofsson`.
    title : str
        Markdown heading.
    sample_metrics : bool
        Also include :func:`accuracy_metrics` of the raw counts (kappa, F1).

    Returns
    -------
    (dict, str)
        The dict (``estimate.to_dict()`` plus ``sample_metrics``) and the markdown text.
    """
    e = estimate
    data = e.to_dict()
    lines = [
        f"# {title}",
        "",
        "Stratified estimator of Olofsson et al. (2014), with the map classes as strata and "
        f"{int(e.counts.sum())} reference samples. Each value is an estimate ± the half-width of its "
        "95 % confidence interval (1.96 SE). The **adjusted area** is the sample-based estimate of the "
        "area of each reference class; it, not the pixel count, is the area to report. "
        "**Map bias** = adjusted - mapped area (positive: the map under-counts the class).",
        "",
        "| class | n | mapped area (ha) | adjusted area (ha) ± 95 % CI | map bias (ha) | p_·k (SE) "
        "| UA ± 95 % CI | PA ± 95 % CI |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, name in enumerate(e.class_names):
        lines.append(
            f"| {name} | {int(e.counts[i].sum())} | {_ha(e.mapped_area_ha[i])} "
            f"| {_ha(e.area_ha[i])} ± {_ha(e.area_ci_ha[i])} | {_ha(e.map_bias_ha[i])} "
            f"| {e.p_k[i]:.4f} ({e.p_k_se[i]:.4f}) "
            f"| {_acc(e.users_accuracy[i], e.users_accuracy_ci[i])} "
            f"| {_acc(e.producers_accuracy[i], e.producers_accuracy_ci[i])} |"
        )
    lines += [
        "",
        f"Overall accuracy: **{_acc(e.overall_accuracy, e.overall_accuracy_ci, 4)}**. "
        f"Total mapped area: {_ha(e.total_area_ha)} ha.",
        "",
        "Sample counts (rows = map class / stratum, columns = reference class):",
        "",
        "| map \\ reference | " + " | ".join(e.class_names) + " | total |",
        "|---|" + "---|" * (len(e.class_names) + 1),
    ]
    for i, name in enumerate(e.class_names):
        row = " | ".join(str(int(v)) for v in e.counts[i])
        lines.append(f"| {name} | {row} | {int(e.counts[i].sum())} |")
    if sample_metrics:
        m = accuracy_metrics(e.counts)
        data["sample_metrics"] = {
            "note": "unweighted ratios of sample counts; they describe the sample, not the map",
            "overall_accuracy": m["overall_accuracy"],
            "kappa": _jsonable(m["kappa"]),
            "f1": _jsonable(m["f1"]),
        }
        f1 = ", ".join(f"{nm} {v:.3f}" for nm, v in zip(e.class_names, m["f1"]))
        lines += [
            "",
            f"Sample statistics (unweighted, describe the sample, not the map): kappa {m['kappa']:.3f}; F1 {f1}.",
        ]
    lines += [
        "",
        "Caveats: the estimate is valid for a stratified random sample drawn from these map classes "
        "with an independent reference labelling; other designs need Stehman's (2014) estimator. "
        "Mapped areas are true areas (exact pixel areas), not pixel counts of a geographic grid.",
        "",
    ]
    return data, "\n".join(lines)

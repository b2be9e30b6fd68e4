"""Rice model files: save and load skops files with a JSON sidecar, refusing anything unsafe.

:func:`save_model` writes a skops file plus a JSON sidecar (``<file>.json``) with the feature names,
band scaling, training metadata, CV scores, versions and the file's SHA-256. :func:`load_model`
refuses pickle/joblib and anything that is not a skops zip, types outside :data:`ALLOWED_TYPES`, a
checksum other than the expected one, and scikit-learn version drift (docs/science/rice.md#model-files).
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
import zipfile
from pathlib import Path
from typing import Any

from ..errors import (
    ModelChecksumError,
    ModelFileError,
    ModelVersionError,
    UnknownModelFileError,
    UntrustedModelError,
)
from ..io.write import atomic_write_bytes
from .model_record import FORMAT, FORMAT_VERSION, RiceModel, sidecar_path, skops_bytes

__all__ = ["ALLOWED_TYPES", "save_model", "load_model", "sidecar_path"]

#: Types agromap's estimators need beyond skops' defaults, found with ``skops.io.get_untrusted_types``
#: on fitted models of both kinds (tests/test_28_rice_model.py checks it). skops warns that ``Tree``
#: node indices are not bounds-checked by scikit-learn, so :func:`load_model` checks them itself.
ALLOWED_TYPES: frozenset[str] = frozenset({
    "sklearn.tree._tree.Tree",                                            # RandomForestClassifier
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",   # HistGradientBoostingClassifier
})  # fmt: skip


def save_model(model: RiceModel, path: str | Path) -> str:
    """Write ``model`` as a skops file and its JSON sidecar, atomically; return the file's SHA-256.

    The skops file holds the estimator, the feature names, the positive class and the metadata; the
    sidecar repeats them for people and catalogues, with ``sha256`` of the skops file (pin it in the
    run configuration and pass it to :func:`load_model`). Never pickle or joblib.
    """
    path = Path(path)
    data = skops_bytes(model)
    digest = hashlib.sha256(data).hexdigest()
    atomic_write_bytes(path, data)
    side = {"format": FORMAT, "format_version": FORMAT_VERSION, "file": path.name, "sha256": digest,
            "feature_names": list(model.feature_names), "positive_class": int(model.positive_class),
            "metadata": dict(model.metadata)}  # fmt: skip
    atomic_write_bytes(sidecar_path(path), json.dumps(side, indent=2, sort_keys=True).encode())
    return digest


_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "a gzip-compressed file (joblib with compress='gzip'?)"),
    (b"BZh", "a bz2-compressed file (joblib with compress='bz2'?)"),
    (b"\xfd7zXZ\x00", "an xz-compressed file (joblib with compress='xz'?)"),
    (b"\x5d\x00\x00", "an lzma-compressed file (joblib with compress='lzma'?)"),
    (b"\x04\x22\x4d\x18", "an lz4-compressed file (joblib with compress='lz4'?)"),
)


def _sniff(data: bytes) -> str | None:
    """What the bytes are if not a skops zip (``None`` when they are one)."""
    if not data:
        return "an empty file"
    if data[:4] == b"PK\x03\x04":
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except zipfile.BadZipFile:
            return "a damaged zip archive"
        return None if "schema.json" in names else "a zip archive that is not a skops file (no schema.json)"
    if data[:1] == b"\x80" and len(data) > 1 and 2 <= data[1] <= 5:
        return "a pickle file (pickle.dump or uncompressed joblib.dump)"
    if data[:1] == b"\x78" and len(data) > 1 and data[1] in (0x01, 0x5E, 0x9C, 0xDA):
        return "a zlib-compressed joblib file"
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    try:
        data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return "an unknown binary file"
    return "a text file"


def _check_trees(est: Any) -> None:
    """Bounds-check the node arrays skops cannot vouch for (a crafted file could read out of bounds)."""
    n_feat = int(getattr(est, "n_features_in_", 0))
    for tree in getattr(est, "estimators_", []):
        t = tree.tree_
        n = t.node_count
        if not (((t.children_left >= -1) & (t.children_left < n)).all()
                and ((t.children_right >= -1) & (t.children_right < n)).all()
                and ((t.feature >= -2) & (t.feature < n_feat)).all()):  # fmt: skip
            raise UntrustedModelError("a tree has node or feature indices out of range: the file is corrupt or "
                                      "crafted. Retrain the model.")  # fmt: skip
    for stage in getattr(est, "_predictors", []):
        for p in stage:
            nd, n = p.nodes, len(p.nodes)
            inner = ~nd["is_leaf"].astype(bool)
            if (inner & ((nd["left"] >= n) | (nd["right"] >= n) | (nd["feature_idx"] >= n_feat))).any():
                raise UntrustedModelError("a boosting tree has node or feature indices out of range; retrain it.")


def load_model(path: str | Path, *, sha256: str | None = None) -> RiceModel:
    """Load a model saved by :func:`save_model`, refusing anything unsafe or inconsistent.

    Parameters
    ----------
    path : str or Path
        The skops file.
    sha256 : str, optional
        Expected SHA-256 of the file (from the run configuration); checked before anything in the
        file is interpreted.

    Returns
    -------
    RiceModel
        With ``n_jobs=1`` set on the estimator (threads come from dask) and ``sha256``.

    Raises
    ------
    UnknownModelFileError
        Empty, pickle, joblib, text or other non-skops files (the message says how to convert), and
        skops files that are not agromap models.
    ModelChecksumError
        The file's SHA-256 differs from ``sha256``, or from the sidecar's when one is present.
    UntrustedModelError
        A type outside :data:`ALLOWED_TYPES` and skops' defaults, or out-of-range tree indices.
    ModelVersionError
        Saved with another scikit-learn (``InconsistentVersionWarning`` is an error here).
    """
    import skops.io as sio
    from sklearn.exceptions import InconsistentVersionWarning

    from ..io.trust import check_regular_file

    path = check_regular_file(path, "model file")  # a named pipe would block, /dev/zero never end
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist.")
    data = path.read_bytes()
    kind = _sniff(data)
    if kind is not None:
        raise UnknownModelFileError(
            f"{path} is {kind}, not a skops model file. agromap loads only skops files against an allow-list, "
            "because loading pickle/joblib runs arbitrary code. If you trust the file, convert it once: "
            f"est = joblib.load('{path.name}'); agromap.rice.model.save_model(RiceModel(est, feature_names), "
            "'model.skops'), or retrain with agromap.rice.model.train()."
        )
    digest = hashlib.sha256(data).hexdigest()
    if sha256 is not None and digest != sha256.lower():
        raise ModelChecksumError(f"{path} has SHA-256 {digest}, expected {sha256}; use the model file the "
                                 "configuration was written for, or update the pinned checksum.")  # fmt: skip
    side = sidecar_path(path)
    if side.is_file():
        try:
            recorded = json.loads(side.read_text()).get("sha256")
        except (ValueError, AttributeError):
            recorded = "an unreadable value"
        if recorded != digest:
            raise ModelChecksumError(f"{path} has SHA-256 {digest} but its sidecar {side.name} records {recorded}: "
                                     "the file changed after it was saved. Restore it, or save the model again.")
    from ..io.trust import check_archive

    check_archive(data, str(path), "model file")  # decompressed size, before skops inflates anything
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:  # malformed schema.json: skops raises KeyError, ValueError, ...
        raise UnknownModelFileError(f"{path} is a damaged skops file ({exc!r}); save the model again.") from exc
    refused = sorted(set(untrusted) - ALLOWED_TYPES)
    if refused:
        raise UntrustedModelError(f"{path} contains types outside agromap's allow-list: {refused}. agromap model "
                                  "files hold only scikit-learn forests/boosting; retrain with agromap.")  # fmt: skip
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", InconsistentVersionWarning)
            payload = sio.loads(data, trusted=sorted(untrusted))
    except InconsistentVersionWarning as w:
        raise ModelVersionError(
            f"{path} was saved with scikit-learn {w.original_sklearn_version}; this is "
            f"{w.current_sklearn_version}. Retrain the model, or run with scikit-learn {w.original_sklearn_version}."
        ) from None
    if not (isinstance(payload, dict) and payload.get("format") == FORMAT):
        raise UnknownModelFileError(f"{path} is a skops file but not an agromap rice model (no '{FORMAT}' "
                                    "payload); save it with agromap.rice.model.save_model().")  # fmt: skip
    if payload.get("format_version") != FORMAT_VERSION:
        raise UnknownModelFileError(f"{path} has model format version {payload.get('format_version')}; this "
                                    f"agromap reads version {FORMAT_VERSION}. Retrain or upgrade agromap.")  # fmt: skip
    est = payload["estimator"]
    _check_trees(est)
    if "n_jobs" in est.get_params():
        est.set_params(n_jobs=1)
    return RiceModel(est, tuple(payload["feature_names"]), int(payload["positive_class"]),
                     json.loads(payload["metadata_json"]), sha256=digest)  # fmt: skip

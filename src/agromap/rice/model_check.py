"""A rice model file checked from its skops schema and arrays, without importing scikit-learn.

Loading a model (:func:`agromap.rice.model_io.load_model`) imports skops and scikit-learn, two
seconds before anything is checked. ``agromap validate`` asks this module instead: the same file
checks (a regular file, a skops zip, the pinned and the sidecar SHA-256, the archive's expansion),
then, from ``schema.json`` and the ``.npy`` members alone, what loading would refuse: a type other
than those of the forests agromap writes, a scikit-learn version other than the installed one
(``InconsistentVersionWarning``), another payload format, and tree node or feature indices out of
range. Anything it does not recognise raises :class:`~agromap.errors.PlanNeeded`: the full plan
then loads the model and refuses it in its own words.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import PlanNeeded

__all__ = ["FOREST_TYPES", "model_features"]

#: Every type in the schema of a random forest saved by agromap (tests/test_60_cli.py loads one
#: with skops against agromap's allow-list). A file holding any other type (a boosting model, or
#: something else) is left to the full loader, which knows skops' trust list.
FOREST_TYPES: frozenset[str] = frozenset({
    "builtins.dict", "builtins.list", "builtins.str", "builtins.tuple", "numpy.ndarray", "numpy.int64",
    "sklearn.ensemble._forest.RandomForestClassifier", "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._tree.Tree",
})  # fmt: skip
_LOADERS = frozenset({"DictNode", "ListNode", "JsonNode", "TypeNode", "TupleNode", "NdArrayNode", "ObjectNode",
                      "TreeNode"})


def _nodes(node: Any) -> Iterator[dict[str, Any]]:
    """Every schema node (a dict with ``__class__``) under ``node``, depth first."""
    if isinstance(node, dict):
        if "__class__" in node:
            yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)


def _json(node: Any) -> Any:
    if not (isinstance(node, dict) and node.get("__loader__") == "JsonNode"):
        raise PlanNeeded("a model value that is not plain JSON")
    return json.loads(node["content"])


def _fields(node: Any) -> dict[str, Any]:
    """The attributes of an estimator or tree node (its state dictionary's entries)."""
    state = node.get("content") if isinstance(node, dict) else None
    if not (isinstance(state, dict) and state.get("__loader__") == "DictNode" and isinstance(state.get("content"), dict)):
        raise PlanNeeded("a model object without a state dictionary")
    return state["content"]


def _array(zf: zipfile.ZipFile, node: Any) -> Any:
    import numpy as np

    if not (isinstance(node, dict) and node.get("__loader__") == "NdArrayNode" and node.get("type") == "numpy"):
        raise PlanNeeded("a model array that is not a numpy file")
    try:
        return np.load(io.BytesIO(zf.read(node["file"])), allow_pickle=False)
    except Exception:  # a missing or damaged member: the loader says which
        raise PlanNeeded("a model array that does not load") from None


def _installed_sklearn() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("scikit-learn")
    except PackageNotFoundError:
        raise PlanNeeded("scikit-learn is not installed") from None


def model_features(path: Path, *, sha256: str | None) -> tuple[str, ...]:
    """The feature names of the model file at ``path``, when loading it would succeed.

    Parameters
    ----------
    path : Path
        The skops file.
    sha256 : str, optional
        The pinned SHA-256 of the configuration.

    Raises
    ------
    PlanNeeded
        Anything :func:`~agromap.rice.model_io.load_model` might refuse, or that this check does
        not recognise.
    UnsafeInputError
        A named pipe or device instead of a file, or an archive that would expand too far (the
        same checks, and words, as the loader's).
    """
    from ..io.trust import check_archive, check_regular_file
    from .model_record import FORMAT, FORMAT_VERSION, sidecar_path

    path = check_regular_file(path, "model file")
    if not path.is_file():
        raise PlanNeeded(f"model file {path} does not exist")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if sha256 is not None and digest != sha256.lower():
        raise PlanNeeded("the model's SHA-256 differs from the pinned one")
    side = sidecar_path(path)
    if side.is_file():
        try:
            recorded = json.loads(side.read_text()).get("sha256")
        except (ValueError, AttributeError):
            recorded = None
        if recorded != digest:
            raise PlanNeeded("the model's SHA-256 differs from its sidecar's")
    if data[:4] != b"PK\x03\x04":
        raise PlanNeeded("not a zip archive")
    check_archive(data, str(path), "model file")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        schema = json.loads(zf.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise PlanNeeded("no readable schema.json") from None
    nodes = list(_nodes(schema))
    seen: dict[Any, str] = {}
    for n in nodes:  # values read here (names, versions, counts) must not depend on which node of an id wins
        if n.get("__loader__") == "JsonNode" and "__id__" in n and seen.setdefault(n["__id__"], n["content"]) != n["content"]:
            raise PlanNeeded("two schema values share an id but differ")
    types = {f"{n.get('__module__')}.{n.get('__class__')}" for n in nodes}
    if not types <= FOREST_TYPES or not {str(n.get("__loader__")) for n in nodes} <= _LOADERS:
        raise PlanNeeded(f"model types {sorted(types - FOREST_TYPES)}")
    payload = schema.get("content") if schema.get("__loader__") == "DictNode" else None
    if not isinstance(payload, dict):
        raise PlanNeeded("the model payload is not a dictionary")
    if _json(payload.get("format")) != FORMAT or _json(payload.get("format_version")) != FORMAT_VERSION:
        raise PlanNeeded("another model format")
    names = payload.get("feature_names")
    if not (isinstance(names, dict) and names.get("__loader__") == "ListNode"):
        raise PlanNeeded("no feature names")
    features = tuple(str(_json(n)) for n in names["content"])
    positive = int(_json(payload.get("positive_class")))
    json.loads(str(_json(payload.get("metadata_json"))))
    est = payload.get("estimator")
    _check_forest(zf, est, _installed_sklearn())
    # What RiceModel checks of the loaded estimator: the positive class is one of its classes and
    # it takes one feature per name.
    fields = _fields(est)
    classes = [int(c) for c in _array(zf, fields.get("classes_")).ravel()]
    if positive not in classes or int(_json(fields.get("n_features_in_"))) != len(features):
        raise PlanNeeded("the model's classes or feature count disagree with its payload")
    return features


def _check_forest(zf: zipfile.ZipFile, est: Any, sklearn: str) -> None:
    """The forest's version stamps and its trees' node and feature indices (as the loader checks them)."""
    fields = _fields(est)
    n_feat = int(_json(fields.get("n_features_in_")))
    trees = fields.get("estimators_")
    if not (isinstance(trees, dict) and trees.get("__loader__") == "ListNode" and trees["content"]):
        raise PlanNeeded("a forest without trees")
    for obj in [est, *trees["content"]]:
        if _json(_fields(obj).get("_sklearn_version")) != sklearn:
            raise PlanNeeded("saved with another scikit-learn")
    for tree in trees["content"]:
        state = _fields(_fields(tree).get("tree_"))
        nodes = _array(zf, state.get("nodes"))
        n = int(_json(state.get("node_count")))
        if nodes.dtype.names is None or not {"left_child", "right_child", "feature"} <= set(nodes.dtype.names) \
                or len(nodes) != n:
            raise PlanNeeded("tree nodes in another layout")
        left, right, feature = nodes["left_child"], nodes["right_child"], nodes["feature"]
        if not (((left >= -1) & (left < n)).all() and ((right >= -1) & (right < n)).all()
                and ((feature >= -2) & (feature < n_feat)).all()):
            raise PlanNeeded("tree indices out of range")
        _array(zf, state.get("values"))

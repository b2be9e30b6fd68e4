"""Write the generated documentation pages; ``--check`` fails (exit 1) when one is stale.

- ``docs/configuration.md``: every key of a run configuration, from the configuration models.
- ``docs/api.md``: the public functions of ``agromap`` and its subpackages, from their ``__all__``
  and the first line of each docstring.
- ``docs/rice_parameters.md``: every parameter of the rice rules, features and classifiers, from
  the parameter dataclasses' defaults and the docstrings written under their fields.

Usage: ``python tools/docs_pages.py [--check]``; ``make docs`` runs the check first.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def packages() -> list[str]:
    """``agromap`` and every subpackage (each has an ``__all__``), in name order."""
    import agromap

    subs = [m.name for m in pkgutil.walk_packages(agromap.__path__, "agromap.") if m.ispkg]
    return ["agromap", *sorted(subs)]


def _summary(obj: object) -> str:
    if not (inspect.ismodule(obj) or inspect.isclass(obj) or callable(obj)):
        return f"constant ({type(obj).__name__})"  # its description is a comment where it is defined
    doc = inspect.getdoc(obj) or ""
    return " ".join(doc.split("\n\n")[0].split()).replace("|", "\\|")


def api_markdown() -> str:
    """The API page: one table per package, a row per public name with its docstring's summary."""
    out = ["# Python API", "",
           "<!-- Generated from the packages' __all__ by tools/docs_pages.py; do not edit by hand. -->", "",
           "`import agromap as am` gives the functions of a notebook session; each subpackage lists its own",
           "public names. Every name is imported on first use. The full documentation of a function is its",
           "docstring (`am.load?` in Jupyter, `help(am.load)` in Python).", ""]
    for name in packages():
        module = importlib.import_module(name)
        out += [f"## `{name}`", "", _summary(module), "", "| name | what it is |", "| --- | --- |"]
        for public in module.__all__:
            if public.startswith("__"):
                continue
            out.append(f"| `{public}` | {_summary(getattr(module, public))} |")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def config_markdown() -> str:
    """The configuration reference page."""
    from agromap.pipeline.config_schema import config_reference_markdown

    return config_reference_markdown()


#: The rice parameter dataclasses, each with the prefix of its parameters' anchors (``optical-flood_t``).
RICE_PARAMS = (("agromap.rice.optical_params", "OpticalRiceParams", "optical"),
               ("agromap.rice.sar_params", "SarRiceParams", "sar"),
               ("agromap.rice.self_train_params", "SelfTrainParams", "selftrain"),
               ("agromap.rice.features", "FeatureSpec", "features"),
               ("agromap.rice.model_record", "TrainParams", "train"))


def field_docs(cls: type) -> dict[str, str]:
    """The docstring written under each field of a dataclass or of its dataclass bases, whitespace-joined
    (``""`` when none).
    """
    docs = {f.name: "" for f in dataclasses.fields(cls)}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        body = ast.parse(textwrap.dedent(inspect.getsource(klass))).body[0].body  # type: ignore[attr-defined]
        for stmt, nxt in zip(body, body[1:]):
            if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and isinstance(nxt, ast.Expr)
                    and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str)):
                docs[stmt.target.id] = " ".join(nxt.value.value.split())
    return docs


def field_parts(cls: type) -> list[tuple[type, list[dataclasses.Field]]]:  # type: ignore[type-arg]
    """The fields of a dataclass grouped by the class that declares them, in field order: one group
    for a plain dataclass, one per dataclass base (and the class itself, if it declares fields) for
    a dataclass assembled from parts.
    """
    parts: list[tuple[type, list[dataclasses.Field]]] = []  # type: ignore[type-arg]
    for f in dataclasses.fields(cls):
        owner = next(k for k in reversed(cls.__mro__) if f.name in vars(k).get("__annotations__", {}))
        if not parts or parts[-1][0] is not owner:
            parts.append((owner, []))
        parts[-1][1].append(f)
    return parts


def _default(f: dataclasses.Field) -> str:  # type: ignore[type-arg]
    value = f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]
    return f"`{value!r}`".replace("|", "\\|")


def rice_parameters_markdown() -> str:
    """The rice parameter page: per dataclass a table of its fields, defaults and docstrings."""
    out = ["# Rice parameters", "",
           "<!-- Generated from the parameter dataclasses by tools/docs_pages.py; do not edit by hand. -->", "",
           "Every parameter of the label-free rice rules, the temporal features and the classifiers, with its",
           "default and what it does (the docstring under the field, which is the one place each is written).",
           "[Rice crop area](science/rice.md) says which rule term reads which parameter;",
           "[rice rules](rice_rules.md) and [self-trained rice](rice_self_trained.md) give the measurements",
           "behind the design values. Each parameter has an anchor `<prefix>-<name>`, e.g.",
           "`rice_parameters.md#optical-flood_t`.", ""]
    for module, name, prefix in RICE_PARAMS:
        cls = getattr(importlib.import_module(module), name)
        docs = field_docs(cls)
        out += [f"## {name}", "", f"`{module}.{name}`: {_summary(cls)}", ""]
        parts = field_parts(cls)
        for part, fields in parts:
            if len(parts) > 1:  # a class assembled from parts: a table per part, under the part's summary
                out += [f"### {part.__name__}", "", f"`{part.__module__}.{part.__name__}`: {_summary(part)}", ""]
            out += ["| parameter | default | what it does |", "| --- | --- | --- |"]
            for f in fields:
                text = docs[f.name].replace("|", "\\|")
                out.append(f'| <a id="{prefix}-{f.name}"></a>`{f.name}` | {_default(f)} | {text} |')
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


PAGES: dict[str, Callable[[], str]] = {"configuration.md": config_markdown, "api.md": api_markdown,
                                       "rice_parameters.md": rice_parameters_markdown}


def main(argv: list[str]) -> int:
    stale = []
    for page, render in PAGES.items():
        path, text = DOCS / page, render()
        if "--check" in argv:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(page)
            continue
        tmp = path.with_name(f".{page}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        print(f"wrote {path}")
    if stale:
        sys.stderr.write(f"docs/{', docs/'.join(stale)} out of date with the code; run python tools/docs_pages.py\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

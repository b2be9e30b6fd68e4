"""The run configuration described from its pydantic models: JSON Schema and a reference page.

Both come from :class:`~agromap.pipeline.config.RunConfig` and nothing else, so they cannot
drift from what ``agromap run`` accepts. ``agromap schema`` prints the JSON Schema (point an
editor's YAML language server at it for completion and checking); ``tools/docs_pages.py``
writes ``docs/configuration.md`` with :func:`config_reference_markdown`.

A field documented by a docstring under it (``bands: ...`` then ``\"\"\"What it is.\"\"\"``)
gets that text as its ``description``.
"""

from __future__ import annotations

import ast
import inspect
import json
import textwrap
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

__all__ = ["config_json_schema", "config_reference_markdown", "SCHEMA_DIALECT"]

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _models(root: type[BaseModel]) -> Iterator[type[BaseModel]]:
    """``root`` and every model reachable from its fields, breadth first, each once."""
    seen: list[type[BaseModel]] = []
    queue: list[type[BaseModel]] = [root]
    while queue:
        cls = queue.pop(0)
        if cls in seen:
            continue
        seen.append(cls)
        yield cls
        for field in cls.model_fields.values():
            queue.extend(_nested(field.annotation))


def _nested(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _nested(arg)]


def _attribute_docstrings(cls: type[BaseModel]) -> dict[str, str]:
    """Docstrings written under the fields of ``cls`` (and of its model bases)."""
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not (isinstance(klass, type) and issubclass(klass, BaseModel)) or klass is BaseModel:
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for stmt, nxt in zip(body, body[1:]):
            if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
                    and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)
                    and isinstance(nxt.value.value, str)):
                found[stmt.target.id] = inspect.cleandoc(nxt.value.value)
    return found


def config_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a run configuration file, as ``agromap schema`` prints it.

    Returns
    -------
    dict
        The schema of :class:`~agromap.pipeline.config.RunConfig` in pydantic's validation mode,
        with the field docstrings as ``description`` where the model gives none.
    """
    from .config import RunConfig

    schema = RunConfig.model_json_schema()
    docs = {cls.__name__: _attribute_docstrings(cls) for cls in _models(RunConfig)}
    for name, node in [(RunConfig.__name__, schema), *schema.get("$defs", {}).items()]:
        for key, prop in node.get("properties", {}).items():
            text = docs.get(name, {}).get(key) or _selector_text(key, prop)
            if text and "description" not in prop:
                prop["description"] = text
    return {"$schema": SCHEMA_DIALECT, **_band_shorthand(schema)}


def _selector_text(key: str, prop: dict[str, Any]) -> str | None:
    """The description of a discriminator (``kind`` of an input, ``product`` of a layer)."""
    if key in ("kind", "product") and "const" in prop:
        what = "input type" if key == "kind" else "product"
        return f"Selects this {what}: write `{key}: {prop['const']}`."
    return None


_BAND_FILE = {"$ref": "#/$defs/BandFile"}


def _band_shorthand(node: Any) -> Any:
    """Let a band entry be written as the configuration parser accepts it: ``file.tif``,
    ``[file.tif, band]`` or ``{path:, band:}`` (the parser's before-validator turns the first two
    into the third, which is all pydantic's schema shows).
    """
    if node == _BAND_FILE:
        return {"anyOf": [_BAND_FILE, {"type": "string"},
                          {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer", "minimum": 1}],
                           "minItems": 2, "maxItems": 2}]}
    if isinstance(node, dict):
        return {k: _band_shorthand(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_band_shorthand(v) for v in node]
    return node


def _type(prop: dict[str, Any]) -> str:
    """A short type text of a schema node: ``str``, ``int (>= 1)``, ``"each" | "median"``..."""
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    if "const" in prop:
        return json.dumps(prop["const"])
    if "enum" in prop:
        return " | ".join(json.dumps(v) for v in prop["enum"])
    for key in ("anyOf", "oneOf"):
        if key in prop:
            return " | ".join(dict.fromkeys(_type(p) for p in prop[key]))
    kind = prop.get("type")
    if kind == "array":
        if "prefixItems" in prop:
            return "[" + ", ".join(_type(p) for p in prop["prefixItems"]) + "]"
        return f"list of {_type(prop.get('items', {}))}"
    if kind == "object":
        extra = prop.get("additionalProperties")
        return f"map of {_type(extra)}" if isinstance(extra, dict) else "mapping"
    names = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "null"}
    text = names.get(str(kind), str(kind) if kind else "any")
    bounds = [f"{op} {prop[k]}" for k, op in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="),
                                             ("exclusiveMaximum", "<")) if k in prop]
    if "multipleOf" in prop:
        bounds.append(f"multiple of {prop['multipleOf']}")
    if "pattern" in prop:
        bounds.append(f"matching `{prop['pattern']}`")
    return f"{text} ({', '.join(bounds)})" if bounds else text


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _section(name: str, node: dict[str, Any], level: str) -> list[str]:
    lines = [f"{level} {name}", ""]
    if node.get("description"):
        lines += [" ".join(node["description"].split()), ""]
    props = node.get("properties", {})
    if not props:
        return lines
    required = set(node.get("required", ()))
    lines += ["| key | type | default | description |", "| --- | --- | --- | --- |"]
    for key, prop in props.items():
        default = "required" if key in required else (
            f"`{json.dumps(prop['default'])}`" if "default" in prop else "")
        lines.append(f"| `{key}` | {_cell(_type(prop))} | {_cell(default)} | {_cell(prop.get('description', ''))} |")
    return lines + [""]


def config_reference_markdown() -> str:
    """The configuration reference page (``docs/configuration.md``), generated from the models.

    Returns
    -------
    str
        Markdown: the top-level keys, then one section per model (inputs, layers, grid...), in
        the order they are reached from the top.
    """
    from .config import RunConfig

    schema = config_json_schema()
    defs = schema.get("$defs", {})
    out = [
        "# Configuration reference",
        "",
        "<!-- Generated from the configuration models by tools/docs_pages.py; do not edit by hand. -->",
        "",
        "A run configuration is a YAML file read by `agromap run CONFIG` and `agromap validate CONFIG`.",
        "Unknown keys are errors. `agromap schema` prints the same description as JSON Schema, for",
        "editors that check and complete YAML. Types: `a | b` is either; `[x, y]` is a fixed-length",
        "list; a link names a nested block described below.",
        "",
    ]
    out += _section("Top level", schema, "##")
    for cls in list(_models(RunConfig))[1:]:
        if cls.__name__ in defs:
            out += _section(cls.__name__, defs[cls.__name__], "##")
    return "\n".join(out).rstrip("\n") + "\n"

"""``NAME=VALUE`` overrides of the label-free rules' parameters, for trying a rule change without a code edit.

One parser for every tool that runs the rules: the stress sweep's ``--optical-param`` /
``--sar-param`` (bench/rice_stress.py) and the accuracy benchmark's options of the same names and
``ACCURACY_OPTICAL_PARAMS`` / ``ACCURACY_SAR_PARAMS`` (:mod:`agromap.scenes.evaluate`). A value is
JSON (``60``, ``-19.5``, ``null``, ``true``; a text value may go without quotes), checked against the
field's type, then by the rule's own consistency checks; every refusal is a one-line ``ValueError``
naming the option and the parameter, so that a misspelt trial never runs the defaults unnoticed.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any

from .optical_params import OpticalRiceParams
from .sar_params import SarRiceParams

__all__ = ["SENSORS", "params_class", "rule_overrides", "rule_params", "split_items"]

#: The rules whose parameters may be changed, and their parameters dataclasses.
SENSORS: dict[str, type] = {"optical": OpticalRiceParams, "sar": SarRiceParams}


def params_class(sensor: str) -> type:
    """The parameters dataclass of the ``sensor`` rule (``optical`` or ``sar``)."""
    if sensor not in SENSORS:
        raise ValueError(f"no rule {sensor!r}: choose from {', '.join(SENSORS)}")
    return SENSORS[sensor]


def _fitted(tp: Any, value: Any) -> tuple[bool, Any]:
    """Whether ``value`` (parsed JSON) fits the field type ``tp``, and the value as the field holds it
    (an integer given for a float field becomes a float; a bool is no number).
    """
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return value in typing.get_args(tp), value
    if origin in (typing.Union, types.UnionType):
        for t in typing.get_args(tp):
            ok, v = _fitted(t, value)
            if ok:
                return True, v
        return False, value
    if tp is type(None) or tp is bool or tp is str:
        return (value is None if tp is type(None) else isinstance(value, tp)), value
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:  # NaN: no threshold
        return False, value
    if tp is float:
        return True, float(value)
    return tp is int and isinstance(value, int), value


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) is typing.Literal:
        return "one of " + ", ".join(map(repr, typing.get_args(tp)))
    return tp.__name__ if isinstance(tp, type) else str(tp)


def split_items(text: str) -> list[str]:
    """``"a=1, b=null"`` -> ``["a=1", "b=null"]`` (the environment form; no field takes a comma)."""
    return [p.strip() for p in text.split(",") if p.strip()]


def rule_overrides(sensor: str, items: list[str], option: str | None = None) -> dict[str, Any]:
    """``NAME=VALUE`` items as ``{name: value}``, each value of its field's type (empty without items).

    Raises ValueError with a one-line message naming ``option`` (default ``--<sensor>-param``) and the
    parameter: no ``=``, a name given twice or not a field, a value (JSON; a text value may go without
    quotes) not of the field's type, or values the rule's own checks refuse.
    """
    opt = option or f"--{sensor}-param"
    cls = params_class(sensor)
    hints = typing.get_type_hints(cls)
    overrides: dict[str, Any] = {}
    for item in items:
        name, eq, text = item.partition("=")
        name = name.strip()
        if not eq or not name:
            raise ValueError(f"{opt} {item!r}: expected NAME=VALUE")
        if name not in hints:
            raise ValueError(f"{opt} {name}: not a parameter of {cls.__name__} (docs/rice_parameters.md lists them)")
        if name in overrides:
            raise ValueError(f"{opt} {name}: given twice")
        try:
            value = json.loads(text)
        except ValueError:
            value = text  # a bare word, for the text fields
        ok, value = _fitted(hints[name], value)
        if not ok:
            raise ValueError(f"{opt} {name}: {text!r} is not {_type_name(hints[name])} "
                             "(JSON: 60, -19.5, null, true)")
        overrides[name] = value
    try:
        cls(**overrides)
    except ValueError as exc:  # agromap.errors.ConfigError: the rule's consistency checks
        raise ValueError(f"{opt}: {' '.join(str(exc).split())}") from None
    return overrides


def rule_params(sensor: str, items: list[str], option: str | None = None) -> Any:
    """The ``sensor`` rule's parameters with the ``NAME=VALUE`` overrides, or None (the rule's
    defaults) without any; refusals as :func:`rule_overrides`.
    """
    overrides = rule_overrides(sensor, items, option)
    return params_class(sensor)(**overrides) if items else None

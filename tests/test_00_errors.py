"""Every error and warning class agromap defines lives in agromap.errors, with an exit code."""

from __future__ import annotations

import ast
from pathlib import Path

import agromap.errors as E

SRC = Path(__file__).resolve().parents[1] / "src" / "agromap"


def test_error_classes_are_defined_in_errors_only():
    names = {n for n in dir(E) if isinstance(getattr(E, n), type)}
    outside = []
    for path in SRC.rglob("*.py"):
        if path.name == "errors.py":
            continue
        for node in ast.parse(path.read_text()).body:
            bases = {b.id for b in getattr(node, "bases", []) if isinstance(b, ast.Name)}
            if isinstance(node, ast.ClassDef) and (bases & names or node.name.endswith(("Error", "Warning"))):
                outside.append(f"{path.relative_to(SRC)}:{node.name}")
    assert outside == []


def test_every_error_has_a_documented_exit_code_and_one_model_file_error():
    for name in E.__all__:
        obj = getattr(E, name)
        if isinstance(obj, type) and issubclass(obj, E.AgromapError):
            assert obj.exit_code in E.EXIT_CODES, name
    from agromap.airquality import pm25
    from agromap.rice import model_io as model

    assert pm25.ModelFileError is model.ModelFileError is E.ModelFileError
    assert issubclass(E.UntrustedModelError, E.ModelFileError) and E.ModelFileError.exit_code == 3

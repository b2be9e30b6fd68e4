"""Write the generated documentation pages; ``--check`` fails (exit 1) when one is stale.

- ``docs/configuration.md``: every key of a run configuration, from the configuration models.
- ``docs/api.md``: the public functions of ``agromap`` and its subpackages, from their ``__all__``
  and the first line of each docstring.

Usage: ``python tools/docs_pages.py [--check]``; ``make docs`` runs the check first.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
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


PAGES: dict[str, Callable[[], str]] = {"configuration.md": config_markdown, "api.md": api_markdown}


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

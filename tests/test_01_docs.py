"""The project's documentation stands alone: nothing cites documents outside the repository, and every
``docs/<page>.md#<section>`` cited from code, tests, tables, pipelines or notebooks exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: Trees (and files) whose text must only cite the project's own documents.
SCANNED = ("src", "tests", "pipelines", "notebooks", "bench", "docs", "README.md")
#: Background notes that are not part of the repository (spelled in pieces so this file does not cite them).
FOREIGN = tuple(name + ".md" for name in ("SCIENCE", "PITFALLS", "STYLE", "ARCHITECTURE"))
#: Their section and entry references too (a section sign and number, or ``<NAME> N3``): the project's
#: pages are cited by file and anchor instead.
_FOREIGN_REF = re.compile(r"\b(?:%s)\b(?:\.md|\s+\u00a7|\s+[A-Z]\d)|\u00a7\s*\d" % "|".join(n[:-3] for n in FOREIGN))
_SKIP_DIRS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache"}
#: ``docs/x/y.md`` or ``docs/x/y.md#anchor``, not part of a longer path (``owner/repo/docs/...``).
_CITATION = re.compile(r"(?<![\w/.-])(docs/[\w/.-]+?\.md)(?:#([\w-]+))?")
#: Markdown links between pages inside docs/: ``[text](page.md#anchor)``.
_LINK = re.compile(r"\]\((?!https?:|mailto:)([^)#\s]*\.md)?#([\w-]+)\)")


def _text_files() -> list[Path]:
    files: list[Path] = []
    for name in SCANNED:
        top = ROOT / name
        candidates = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for path in candidates:
            if _SKIP_DIRS.intersection(path.relative_to(ROOT).parts):
                continue
            data = path.read_bytes()
            if b"\0" in data[:8192]:
                continue  # binary (rasters, models, images)
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                continue
            files.append(path)
    return files


def slug(heading: str) -> str:
    """GitHub's anchor of a markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Anchors of a markdown page: heading slugs (numbered ``-1``, ``-2`` when repeated) and explicit ids."""
    found: set[str] = set()
    counts: dict[str, int] = {}
    fenced = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            continue
        m = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            base = slug(m.group(1))
            n = counts.get(base, 0)
            counts[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
        found.update(re.findall(r"<a\s+(?:id|name)=\"([\w-]+)\"", line))
    return found


FILES = _text_files()


def test_scan_covers_the_tree():
    names = {p.relative_to(ROOT).as_posix() for p in FILES}
    # A scan that silently finds nothing would pass every check below.
    assert "README.md" in names
    assert "src/agromap/airquality/tables/cpcb_2014.csv" in names
    assert "docs/README.md" in names
    assert any(n.startswith("notebooks/") for n in names)
    assert any(n.startswith("pipelines/") and n.endswith(".yaml") for n in names)


def test_slug_matches_github():
    assert slug("India NAQI CPCB 2014") == "india-naqi-cpcb-2014"
    assert slug("Disaster layers: flood, burn and drought") == "disaster-layers-flood-burn-and-drought"
    assert slug("Sensors, radiometry, masks and spectral indices") == "sensors-radiometry-masks-and-spectral-indices"
    assert slug("6. Runner special cases (only if needed)") == "6-runner-special-cases-only-if-needed"
    assert slug("The `LayerConfig` union") == "the-layerconfig-union"
    assert slug("pm_25 from AOD") == "pm_25-from-aod"


def test_no_citation_of_documents_outside_the_repository():
    offenders = [
        f"{path.relative_to(ROOT)}:{i}: {line.strip()[:100]}"
        for path in FILES
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _FOREIGN_REF.search(line)
    ]
    assert not offenders, "cite docs/ or the literature instead:\n" + "\n".join(offenders)


def _citations() -> list[tuple[str, str, str | None]]:
    out = []
    for path in FILES:
        if path.is_relative_to(DOCS) or path == Path(__file__).resolve():
            continue  # pages link each other (checked below); this file holds deliberately bad examples
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in _CITATION.finditer(line):
                out.append((f"{path.relative_to(ROOT)}:{i}", m.group(1), m.group(2)))
    return out


def test_cited_docs_and_sections_exist():
    citations = _citations()
    assert len(citations) >= 50  # the science modules cite their sections; zero means the scan broke
    cache: dict[str, set[str]] = {}
    missing = []
    for where, page, anchor in citations:
        target = ROOT / page
        if not target.is_file():
            missing.append(f"{where}: {page} does not exist")
            continue
        if anchor is not None and anchor not in cache.setdefault(page, anchors(target)):
            missing.append(f"{where}: {page} has no section #{anchor} (has: {sorted(cache[page])})")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("page", sorted(DOCS.rglob("*.md")), ids=lambda p: p.relative_to(DOCS).as_posix())
def test_links_between_docs_reach_their_sections(page):
    """Anchors of links between pages exist; a link to a page that is not there yet is not checked."""
    broken = []
    for i, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        for m in _LINK.finditer(line):
            target = (page.parent / m.group(1)).resolve() if m.group(1) else page
            if target.is_file() and m.group(2) not in anchors(target):
                broken.append(f"{page.relative_to(ROOT)}:{i}: {m.group(0)}")
    assert not broken, "\n".join(broken)


def test_checks_catch_a_bad_citation(tmp_path):
    """The anchor check rejects a section that is not there and accepts one that is."""
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n## Flood thresholds\n\n```\n# not a heading\n```\n\n## Flood thresholds\n")
    assert anchors(page) == {"title", "flood-thresholds", "flood-thresholds-1"}
    line = "see docs/science/disaster.md#no-such-section and owner/repo/docs/x.md#y"
    assert [(m.group(1), m.group(2)) for m in _CITATION.finditer(line)] == [
        ("docs/science/disaster.md", "no-such-section")]
    assert "no-such-section" not in anchors(DOCS / "science" / "disaster.md")
    for bad in ("see %s" % FOREIGN[0], "(%s N3)" % FOREIGN[1][:-3], "%s \u00a74" % FOREIGN[2][:-3], "the \u00a73.2 values"):
        assert _FOREIGN_REF.search(bad), bad
    for fine in ("docs/architecture.md#cog-publishing", "STYLE_NAME = 3", "A STYLE guide"):
        assert not _FOREIGN_REF.search(fine), fine

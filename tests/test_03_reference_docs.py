"""Generated reference pages are up to date, the JSON Schema accepts the shipped configurations and
refuses what the parser refuses, and the documentation site builds without a broken link."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from agromap.errors import ConfigError
from agromap.pipeline.config import parse_config
from agromap.pipeline.config_schema import config_json_schema

ROOT = Path(__file__).resolve().parents[1]
PIPELINES = sorted((ROOT / "pipelines").glob("*.yaml"))


def _docs_pages():
    spec = importlib.util.spec_from_file_location("docs_pages", ROOT / "tools" / "docs_pages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _EditorLoader(yaml.SafeLoader):
    """YAML as an editor's language server reads it (YAML 1.2 core: a date is a string)."""


_EditorLoader.yaml_implicit_resolvers = {
    k: [r for r in v if r[0] != "tag:yaml.org,2002:timestamp"] for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@pytest.mark.parametrize("page", ["configuration.md", "api.md", "rice_parameters.md"])
def test_generated_pages_are_up_to_date(page):
    pages = _docs_pages()
    assert (ROOT / "docs" / page).read_text(encoding="utf-8") == pages.PAGES[page](), (
        f"docs/{page} is stale: run python tools/docs_pages.py")


def test_configuration_page_lists_every_model_and_key():
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    schema = config_json_schema()
    for name, node in schema["$defs"].items():
        assert f"## {name}" in text
        for key in node.get("properties", {}):
            assert f"| `{key}` |" in text


def test_rice_parameter_page_has_every_field_with_its_default_and_docstring():
    pages = _docs_pages()
    text = (ROOT / "docs" / "rice_parameters.md").read_text(encoding="utf-8")
    assert {name for _, name, _ in pages.RICE_PARAMS} >= {"OpticalRiceParams", "SarRiceParams", "SelfTrainParams", "FeatureSpec"}
    blank = []
    for module, name, prefix in pages.RICE_PARAMS:
        cls = getattr(importlib.import_module(module), name)
        assert f"## {name}" in text
        docs = pages.field_docs(cls)
        for f in dataclasses.fields(cls):
            assert f'<a id="{prefix}-{f.name}"></a>`{f.name}` | `{f.default!r}` |' in text, f.name
            blank += [f"{name}.{f.name}"] if not docs[f.name] else []
    assert blank == [], f"rice parameters without a docstring under the field: {blank}"
    # A docstring's text lands in its row, whitespace-joined and with its pipes escaped.
    row = next(line for line in text.splitlines() if '"optical-max_abs_evi"' in line)
    assert row.endswith("| `1.0` | \\|EVI\\| above this is invalid (denominator near 0; "
                        "docs/science/indices_and_masks.md#index-rules). |")


def test_field_docs_reads_the_docstring_under_each_field():
    pages = _docs_pages()

    @dataclasses.dataclass
    class Example:
        a: int = 1
        """First line,
        second   line | piped."""
        b: float = 2.0
        c: str = "x"
        """Of c."""

    assert pages.field_docs(Example) == {"a": "First line, second line | piped.", "b": "", "c": "Of c."}


def test_field_docs_and_parts_of_a_dataclass_assembled_from_bases():
    pages = _docs_pages()

    @dataclasses.dataclass(frozen=True)
    class First:
        a: int = 1
        """Of a."""

    @dataclasses.dataclass(frozen=True)
    class Second:
        b: int = 2
        """Of b."""

    @dataclasses.dataclass(frozen=True)
    class Whole(Second, First):
        """Both parts."""

    assert pages.field_docs(Whole) == {"a": "Of a.", "b": "Of b."}
    assert [(part, [f.name for f in fields]) for part, fields in pages.field_parts(Whole)] == [(First, ["a"]), (Second, ["b"])]
    assert [(part, [f.name for f in fields]) for part, fields in pages.field_parts(First)] == [(First, ["a"])]


def _part_section(cls: str) -> tuple[str, list[str]]:
    """The parameter page's section for ``cls`` and its part headings, in page order."""
    text = (ROOT / "docs" / "rice_parameters.md").read_text(encoding="utf-8")
    section = text.split(f"## {cls}", 1)[1].split("\n## ", 1)[0]
    return section, [line for line in section.splitlines() if line.startswith("### ")]


def test_rice_parameter_page_lists_self_train_params_part_by_part():
    section, heads = _part_section("SelfTrainParams")
    assert heads == ["### PseudoLabelParams", "### SeriesCutParams", "### DeskLabelParams"]
    assert section.index("### SeriesCutParams") < section.index('id="selftrain-end_flood_days"')
    assert section.index('id="selftrain-optical_canopy_labels"') < section.index("### SeriesCutParams")


def test_rice_parameter_page_lists_optical_params_part_by_part():
    section, heads = _part_section("OpticalRiceParams")
    assert heads == ["### OpticalCycleParams", "### OpticalMaskParams", "### OpticalUndatedParams",
                     "### OpticalWetCanopyParams", "### OpticalHarvestParams", "### OpticalGapSeasonParams",
                     "### OpticalSeriesEndsParams", "### OpticalEndFloodParams"]
    assert section.index('id="optical-max_seasons"') < section.index("### OpticalMaskParams")
    assert section.index("### OpticalMaskParams") < section.index('id="optical-water_ndvi_max"')
    assert section.index('id="optical-pond_crop_green_days"') < section.index("### OpticalEndFloodParams")
    assert section.index("### OpticalEndFloodParams") < section.index('id="optical-end_flood_days"')


def test_rice_parameter_page_lists_sar_params_part_by_part():
    section, heads = _part_section("SarRiceParams")
    assert heads == ["### SarFloodGrowthParams", "### SarSeedbedParams", "### SarSpellParams", "### SarVvParams",
                     "### SarCanopyParams", "### SarWaterParams", "### SarReadingParams", "### SarLastPassParams"]
    assert section.index('id="sar-rise_fraction"') < section.index("### SarSeedbedParams")
    assert section.index("### SarSeedbedParams") < section.index('id="sar-seedbed_start_days"')
    assert section.index('id="sar-max_seasons"') < section.index("### SarLastPassParams")
    assert section.index("### SarLastPassParams") < section.index('id="sar-young_end_days"')


def test_every_configuration_key_is_described():
    schema = config_json_schema()
    blank = [f"{name}.{key}" for name, node in [("RunConfig", schema), *schema["$defs"].items()]
             for key, prop in node.get("properties", {}).items() if not prop.get("description", "").strip()]
    assert blank == [], f"configuration keys without a description (add an attribute docstring): {blank}"


@pytest.fixture(scope="module")
def validator():
    schema = config_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: p.name)
def test_schema_accepts_the_shipped_configurations(validator, path):
    data = yaml.load(path.read_text(), Loader=_EditorLoader)
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(data)]
    assert not errors


@pytest.mark.parametrize("change", ["unknown key", "bad kind", "negative chunk"])
def test_schema_refuses_what_the_parser_refuses(validator, change):
    data = yaml.load((ROOT / "pipelines" / "demo.yaml").read_text(), Loader=_EditorLoader)
    if change == "unknown key":
        data["areas"][0]["colour"] = "red"
    elif change == "bad kind":
        data["areas"][0]["inputs"][0]["kind"] = "sentinel3"
    else:
        data["chunk"] = -5
    assert list(validator.iter_errors(data))
    with pytest.raises(ConfigError):
        parse_config(data, base_dir=ROOT / "pipelines")


def test_documentation_site_builds_strict(tmp_path):
    mkdocs = Path(sys.executable).with_name("mkdocs")
    if not mkdocs.exists():
        pytest.skip("mkdocs is not installed here (the docs extra: pip install -e '.[docs]')")
    out = subprocess.run([str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert (tmp_path / "site" / "configuration.html").is_file() and (tmp_path / "site" / "api.html").is_file()

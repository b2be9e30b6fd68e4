"""AQI: golden table (docs/science/air_quality.md worked examples + every breakpoint boundary), rules, units, laziness.

``tests/golden/aqi_cases.csv`` holds hand-typed rows (worked examples, guard, hand-computed cases) and boundary
rows generated from the packaged tables by :func:`generated_boundary_rows`, which reads the raw CSVs with the
csv module and Decimal (not agromap's parser). The boundary rows of PM2.5/PM10/NO2 are checked again against
the hand-typed lists below. Regenerate the boundary rows after a table edit with
``python tests/test_35_aqi.py --write-golden`` and review the diff.
"""

from __future__ import annotations

import csv
import math
import sys
from decimal import Decimal
from importlib import resources
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings

from agromap.airquality import aqi as A
from agromap.errors import AQIUnitsError, ConfigError, InputError
from agromap.io.layers import encode
from agromap.testing import make_raster, raise_if_dask_computes

GOLDEN = Path(__file__).parent / "golden" / "aqi_cases.csv"
FIELDS = ["case", "kind", "standard", "pollutant", "concentration", "unit", "subindex", "category", "flags",
          "group", "aqi", "aqi_category", "dominant", "source"]
FILES = {"cpcb:2014": "cpcb_2014.csv", "epa:2024": "epa_2024.csv", "epa:2012": "epa_2012.csv"}
SHORT = {"cpcb:2014": "cpcb", "epa:2024": "epa24", "epa:2012": "epa12"}
BOUNDARY_KINDS = ("boundary", "boundary_repeat")

# Hand-typed (concentration -> sub-index) at every c_lo and c_hi, read off the CPCB 2014 and EPA 2024 tables.
HAND_BOUNDARIES: dict[tuple[str, str], list[tuple[str, int]]] = {
    ("cpcb:2014", "pm25"): [("0", 0), ("30", 50), ("31", 51), ("60", 100), ("61", 101), ("90", 200), ("91", 201),
                            ("120", 300), ("121", 301), ("250", 400), ("251", 401), ("380", 500)],
    ("cpcb:2014", "pm10"): [("0", 0), ("50", 50), ("51", 51), ("100", 100), ("101", 101), ("250", 200),
                            ("251", 201), ("350", 300), ("351", 301), ("430", 400), ("431", 401), ("510", 500)],
    ("cpcb:2014", "no2"): [("0", 0), ("40", 50), ("41", 51), ("80", 100), ("81", 101), ("180", 200), ("181", 201),
                           ("280", 300), ("281", 301), ("400", 400), ("401", 401), ("520", 500)],
    ("epa:2024", "pm25"): [("0.0", 0), ("9.0", 50), ("9.1", 51), ("35.4", 100), ("35.5", 101), ("55.4", 150),
                           ("55.5", 151), ("125.4", 200), ("125.5", 201), ("225.4", 300), ("225.5", 301),
                           ("325.4", 500)],
    ("epa:2024", "pm10"): [("0", 0), ("54", 50), ("55", 51), ("154", 100), ("155", 101), ("254", 150), ("255", 151),
                           ("354", 200), ("355", 201), ("424", 300), ("425", 301), ("604", 500)],
    ("epa:2024", "no2"): [("0", 0), ("53", 50), ("54", 51), ("100", 100), ("101", 101), ("360", 150), ("361", 151),
                          ("649", 200), ("650", 201), ("1249", 300), ("1250", 301), ("2049", 500)],
    ("epa:2012", "pm25"): [("0.0", 0), ("12.0", 50), ("12.1", 51), ("35.4", 100), ("35.5", 101), ("55.4", 150),
                           ("55.5", 151), ("150.4", 200), ("150.5", 201), ("250.4", 300), ("250.5", 301),
                           ("350.4", 400), ("350.5", 401), ("500.4", 500)],
}
# Colours of the CPCB 2014 and EPA 2024 tables (docs/science/air_quality.md), typed by hand.
CPCB_CLASSES = ((1, "Good", "00B050"), (2, "Satisfactory", "92D051"), (3, "Moderately polluted", "FFFF00"),
                (4, "Poor", "FF6500"), (5, "Very poor", "FF0000"), (6, "Severe", "C00000"))
EPA_CLASSES = ((1, "Good", "00E400"), (2, "Moderate", "FFFF00"), (3, "Unhealthy for Sensitive Groups", "FF7E00"),
               (4, "Unhealthy", "FF0000"), (5, "Very Unhealthy", "8F3F97"), (6, "Hazardous", "7E0023"))


# ------------------------------------------------------------------------------------------- golden helpers
def _raw_table(standard: str) -> list[dict[str, str]]:
    text = resources.files("agromap.airquality").joinpath("tables", FILES[standard]).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def generated_boundary_rows() -> list[dict[str, str]]:
    """c_lo -> i_lo and c_hi -> i_hi for every row of every packaged table; on a repeated boundary the lower
    band wins (agromap's CPCB convention); an unverified c_hi finer than the truncation is left to a hand-typed row."""
    out = []
    for standard in FILES:
        by_p: dict[str, list[dict[str, str]]] = {}
        for r in _raw_table(standard):
            by_p.setdefault(r["pollutant"], []).append(r)
        for p, rows in by_p.items():
            rows.sort(key=lambda r: int(r["i_lo"]))
            step = Decimal(1).scaleb(-int(rows[0]["truncation_decimals"]))
            prev = None
            for r in rows:
                flag = lambda row: "0" if row["verified"] == "true" else "8"  # noqa: E731
                lo_row, kind = r, "boundary"
                if prev is not None and Decimal(r["c_lo"]) == Decimal(prev["c_hi"]):
                    lo_row, kind = prev, "boundary_repeat"
                ends = [(r["c_lo"], lo_row["i_hi"] if kind == "boundary_repeat" else r["i_lo"], lo_row, kind, "lo")]
                if Decimal(r["c_hi"]) % step == 0:
                    ends.append((r["c_hi"], r["i_hi"], r, "boundary", "hi"))
                for conc, idx, row, k, end in ends:
                    out.append({"case": f"{SHORT[standard]}-{p}-{conc}-{end}", "kind": k, "standard": standard,
                                "pollutant": p, "concentration": conc, "unit": r["unit"], "subindex": idx,
                                "category": row["category"], "flags": flag(row), "group": "", "aqi": "",
                                "aqi_category": "", "dominant": "", "source": f"{FILES[standard]} row {r['i_lo']}-"
                                f"{r['i_hi']} {end}"})
                prev = r
    return out


def _golden() -> list[dict[str, str]]:
    with GOLDEN.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_golden() -> None:
    keep = [r for r in _golden() if r["kind"] not in BOUNDARY_KINDS]
    with GOLDEN.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(keep + generated_boundary_rows())


def _key(r: dict[str, str]) -> tuple[str, ...]:
    return tuple(str(r[k]) for k in ("kind", "standard", "pollutant", "concentration", "subindex", "category",
                                     "flags"))


def _expected(values: list[str]) -> np.ndarray:
    return np.array([float(v) for v in values], dtype=np.float32)


# ------------------------------------------------------------------------------------------- golden tests
def test_golden_has_every_worked_example_and_boundary() -> None:
    rows = _golden()
    kinds = {k: sum(r["kind"] == k for r in rows) for k in {r["kind"] for r in rows}}
    # 7 CPCB + 12 EPA PM2.5 + PM10 worked examples, 3 + 3 combined rows, 1 guard.
    assert kinds["worked_example"] == 19 and kinds["combined"] == 6 and kinds["guard"] == 1
    assert len({r["case"] for r in rows}) == len(rows)
    generated = sorted(map(_key, generated_boundary_rows()))
    assert sorted(_key(r) for r in rows if r["kind"] in BOUNDARY_KINDS) == generated, (
        "boundary rows differ from the tables: run `python tests/test_35_aqi.py --write-golden` and review")
    assert len(generated) == 95 + 78 + 90  # CPCB 8x6x2 less Pb 4.09; EPA 2024 5x6x2+5x2+4x2; EPA 2012


@pytest.mark.parametrize(("standard", "pollutant"), sorted(HAND_BOUNDARIES))
def test_boundary_rows_match_hand_typed(standard: str, pollutant: str) -> None:
    got = [(r["concentration"], int(r["subindex"])) for r in _golden()
           if r["kind"] in BOUNDARY_KINDS and r["standard"] == standard and r["pollutant"] == pollutant]
    assert sorted(got, key=lambda t: Decimal(t[0])) == HAND_BOUNDARIES[(standard, pollutant)]


def _single_groups() -> list[tuple[str, str]]:
    return sorted({(r["standard"], r["pollutant"]) for r in _golden()})


@pytest.mark.parametrize("chunks", [None, {"x": 5}], ids=["numpy", "dask"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("standard", "pollutant"), _single_groups())
def test_golden_subindex_exact(standard: str, pollutant: str, dtype: str, chunks: dict[str, int] | None) -> None:
    rows = [r for r in _golden() if r["standard"] == standard and r["pollutant"] == pollutant]
    conc = make_raster([[float(r["concentration"]) for r in rows]], dtype=dtype, chunks=chunks,
                       attrs={"units": rows[0]["unit"]})
    out = A.aqi_from_concentrations({pollutant: conc}, standard, require_min_pollutants=False)
    ids = [r["case"] for r in rows]
    got = out[f"{pollutant}_subindex"].values[0]
    np.testing.assert_array_equal(got, _expected([r["subindex"] for r in rows]), err_msg=str(ids))
    np.testing.assert_array_equal(out["category"].values[0], [int(r["category"]) for r in rows], err_msg=str(ids))
    qa = out["qa"].values[0] & ~np.uint8(A.QA_MIN_POLLUTANTS)
    np.testing.assert_array_equal(qa, [int(r["flags"]) for r in rows], err_msg=str(ids))
    np.testing.assert_array_equal(A.subindex(conc, pollutant, standard).values[0], got)


@pytest.mark.parametrize("chunks", [None, {"x": 1}], ids=["numpy", "dask"])
@pytest.mark.parametrize("group", ["cpcb-combined", "epa24-combined"])
def test_golden_combined_exact(group: str, chunks: dict[str, int] | None) -> None:
    rows = [r for r in _golden() if r["group"] == group]
    standard = rows[0]["standard"]
    concs = {r["pollutant"]: make_raster([[float(r["concentration"])]], chunks=chunks, attrs={"units": r["unit"]})
             for r in rows}
    out = A.aqi_from_concentrations(concs, standard).compute()
    for r in rows:
        assert out[f"{r['pollutant']}_subindex"].item() == float(r["subindex"]), r["case"]
    assert out["aqi"].item() == int(rows[0]["aqi"])
    assert out["category"].item() == int(rows[0]["aqi_category"])
    assert out["dominant"].item() == A.POLLUTANT_CODES[rows[0]["dominant"]]
    assert out["n_pollutants"].item() == 3 and out["qa"].item() == 0
    name = A.load_standard(standard).categories[out["category"].item() - 1].name
    assert name == {"cpcb-combined": "Moderately polluted", "epa24-combined": "Unhealthy for Sensitive Groups"}[group]


# ------------------------------------------------------------------------------------------- rules
def _cpcb(values: dict[str, float], chunks: dict[str, int] | None = None) -> dict[str, xr.DataArray]:
    return {p: make_raster([[v]], chunks=chunks, attrs={"units": "mg/m3" if p == "co" else "ug/m3"})
            for p, v in values.items()}


def test_min_pollutant_rule_cpcb() -> None:
    two = A.aqi_from_concentrations(_cpcb({"pm25": 75.0, "no2": 50.0}), "cpcb:2014")
    assert two["aqi"].item() == 65535 and two["category"].item() == 255 and two["dominant"].item() == 255
    assert two["qa"].item() == A.QA_MIN_POLLUTANTS and two["n_pollutants"].item() == 2
    no_pm = A.aqi_from_concentrations(_cpcb({"no2": 50.0, "so2": 90.0, "co": 1.5}), "cpcb:2014")
    assert no_pm["aqi"].item() == 65535 and no_pm["qa"].item() == A.QA_MIN_POLLUTANTS
    ok = A.aqi_from_concentrations(_cpcb({"pm10": 120.0, "no2": 50.0, "so2": 90.0}), "cpcb:2014")
    assert ok["aqi"].item() == 114 and ok["qa"].item() == 0 and ok["dominant"].item() == A.POLLUTANT_CODES["pm10"]
    relaxed = A.aqi_from_concentrations(_cpcb({"pm25": 75.0, "no2": 50.0}), "cpcb:2014", require_min_pollutants=False)
    assert relaxed["aqi"].item() == 149 and relaxed["qa"].item() == A.QA_MIN_POLLUTANTS
    assert "not an AQI" in relaxed["aqi"].attrs["long_name"] and relaxed.attrs["aqi_estimate"] == "true"


def test_no_data_pixels_and_epa_single_pollutant() -> None:
    pm = make_raster([[np.nan, 40.0]], attrs={"units": "ug/m3"})
    out = A.aqi_from_concentrations({"pm25": pm}, "epa:2024")
    np.testing.assert_array_equal(out["aqi"].values, [[65535, 112]])
    np.testing.assert_array_equal(out["n_pollutants"].values, [[0, 1]])
    np.testing.assert_array_equal(out["qa"].values, [[0, 0]])  # EPA has no minimum-pollutant rule
    assert out["aqi"].attrs["long_name"] == A.load_standard("epa:2024").title


def test_satellite_pm25_is_labelled_never_an_aqi() -> None:
    pm = make_raster([[75.0]], attrs={"units": "ug/m3"})
    out = A.aqi_from_concentrations({"pm25": pm}, "cpcb:2014", require_min_pollutants=False)
    assert out["aqi"].item() == 149
    name = out["aqi"].attrs["long_name"]
    assert name.startswith("satellite-estimated PM2.5 sub-index") and "not an AQI" in name
    assert "satellite-estimated PM2.5 sub-index" in out["category"].attrs["long_name"]
    strict = A.aqi_from_concentrations({"pm25": pm}, "cpcb:2014")
    assert strict["aqi"].item() == 65535 and strict.attrs["aqi_estimate"] == "false"
    for name in ("aqi_value", "aqi_category_cpcb", "aqi_category_epa", "aqi_pm25_subindex_cpcb",
                 "aqi_pm25_subindex_epa"):
        assert "satellite-estimated PM2.5 sub-index, never an AQI" in A.LAYER_SPECS[name].description, name


def test_dominant_ties_take_lowest_code_and_epa_ozone_max() -> None:
    subs = {"pm10": make_raster([[100.0, 80.0]]), "pm25": make_raster([[100.0, 90.0]]),
            "no2": make_raster([[100.0, 95.0]])}
    out = A.aqi(subs, "cpcb:2014")
    np.testing.assert_array_equal(out["dominant"].values, [[A.POLLUTANT_CODES["pm25"], A.POLLUTANT_CODES["no2"]]])
    np.testing.assert_array_equal(out["aqi"].values, [[100, 95]])
    o3 = {"o3_8h": make_raster([[0.080]], attrs={"units": "ppm"}),
          "o3_1h": make_raster([[0.170]], attrs={"units": "ppm"})}
    res = A.aqi_from_concentrations(o3, "epa:2024")
    # 8-h: 101+49*9/14 = 132.5 -> 133; 1-h: 151+49*5/39 = 157.3 -> 157; the larger is reported.
    assert res["o3_8h_subindex"].item() == 133 and res["aqi"].item() == 157
    assert res["dominant"].item() == A.POLLUTANT_CODES["o3_1h"] and res["category"].item() == 4


def test_above_table_cpcb_flag_reaches_aqi_qa() -> None:
    out = A.aqi_from_concentrations(_cpcb({"pm25": 400.0, "pm10": 50.0, "no2": 10.0}), "cpcb:2014")
    assert out["aqi"].item() == 500 and out["category"].item() == 6
    assert out["qa"].item() == A.QA_ABOVE_TABLE | A.QA_UNVERIFIED_BREAKPOINT
    # Without flags, aqi() cannot know; the sub-index alone is capped at 500.
    plain = A.aqi({k: A.subindex(v, k) for k, v in _cpcb({"pm25": 400.0, "pm10": 50.0, "no2": 10.0}).items()})
    assert plain["aqi"].item() == 500 and plain["qa"].item() == 0


def test_point_tables_work_too() -> None:
    conc = xr.DataArray(np.array([[25.0, 75.0], [300.0, np.nan]]), dims=("time", "point"), attrs={"units": "ug/m3"})
    out = A.subindex(conc, "pm25", "cpcb:2014")
    np.testing.assert_array_equal(out.values, [[42, 149], [439, np.nan]])
    assert out.dims == ("time", "point")


# ------------------------------------------------------------------------------------------- units and errors
def test_units_are_checked_with_clear_messages() -> None:
    ok = {"µg/m³", "ug m-3", "µg m⁻³", "ug/m^3", "μg/m3", "UG/M3", "micrograms/m3", "ug.m-3"}
    for u in ok:
        assert A.subindex(make_raster([[25.0]], attrs={"units": u}), "pm25").item() == 42, u
    for u in ("ppb", "ppbv", "PPB"):  # EPA NO2 is in ppb; 53 ppb is the top of "Good"
        assert A.subindex(make_raster([[53.0]], attrs={"units": u}), "no2", "epa:2024").item() == 50, u
    with pytest.raises(AQIUnitsError, match="no 'units' attribute"):
        A.subindex(make_raster([[25.0]]), "pm25")
    with pytest.raises(AQIUnitsError, match="a column is not a surface concentration"):
        A.subindex(make_raster([[1e-4]], attrs={"units": "mol/m2"}, name="no2"), "no2")
    with pytest.raises(AQIUnitsError, match="not a surface concentration"):
        A.subindex(make_raster([[1e-4]], attrs={"units": "mol m-2"}), "no2", "epa:2024")
    with pytest.raises(AQIUnitsError, match="aerosol optical depth"):
        A.subindex(make_raster([[0.4]], attrs={"units": "1"}), "pm25")
    with pytest.raises(AQIUnitsError, match="Multiply by 1000"):
        A.subindex(make_raster([[2.0]], attrs={"units": "ug/m3"}), "co")  # CPCB CO is mg/m3
    with pytest.raises(AQIUnitsError, match="1.88 ug/m3"):
        A.subindex(make_raster([[40.0]], attrs={"units": "ug/m3"}), "no2", "epa:2024")
    err = pytest.raises(AQIUnitsError, A.subindex, make_raster([[4.0]], attrs={"units": "ppm"}), "co", "cpcb:2014")
    assert isinstance(err.value, InputError) and isinstance(err.value, ValueError) and err.value.exit_code == 3


def test_unknown_names_and_mixed_standards_raise_config_errors() -> None:
    pm = make_raster([[25.0]], attrs={"units": "ug/m3"})
    with pytest.raises(ConfigError, match="unknown AQI standard 'epa:2015'"):
        A.subindex(pm, "pm25", "epa:2015")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="no pollutant 'o3'.*o3_8h"):
        A.subindex(pm, "o3", "epa:2024")
    with pytest.raises(ConfigError, match="computed with cpcb:2014"):
        A.aqi({"pm25": A.subindex(pm, "pm25")}, "epa:2024")
    with pytest.raises(ConfigError, match="at least one sub-index"):
        A.aqi({}, "epa:2024")
    stored = encode(A.subindex(pm, "pm25"), A.LAYER_SPECS["aqi_pm25_subindex_cpcb"])
    with pytest.raises(ConfigError, match="65535 -> NaN"):
        A.aqi({"pm25": stored})


def test_table_validation_rejects_broken_tables() -> None:
    text = resources.files("agromap.airquality").joinpath("tables", "epa_2024.csv").read_text(encoding="utf-8")
    assert A.parse_standard_csv(text).name == "epa:2024"
    bad = {
        "gap": ("epa,2024,pm25,24h,ug/m3,1,9.1,35.4", "epa,2024,pm25,24h,ug/m3,1,9.2,35.4"),
        "overlap": ("epa,2024,pm10,24h,ug/m3,0,55,154", "epa,2024,pm10,24h,ug/m3,0,50,154"),
        "index": (",55.5,125.4,151,200,", ",55.5,125.4,152,200,"),
        "finer": (",0.0,9.0,0,50,", ",0.0,9.05,0,50,"),
        "colour": ("35.5,55.4,101,150,3,Unhealthy for Sensitive Groups,FF7E00", "35.5,55.4,101,150,3,"
                   "Unhealthy for Sensitive Groups,FF7E01"),
    }
    for what, (old, new) in bad.items():
        assert old in text, what
        with pytest.raises(ConfigError, match="breakpoint table"):
            A.parse_standard_csv(text.replace(old, new, 1), what)


def test_tables_ship_in_the_package_and_load_once() -> None:
    root = resources.files("agromap.airquality").joinpath("tables")
    for f in (*FILES.values(), "README.md"):
        assert root.joinpath(f).is_file(), f
    assert A.load_standard("cpcb:2014") is A.load_standard("cpcb:2014")
    readme = root.joinpath("README.md").read_text(encoding="utf-8")
    unverified = [r for s in FILES for r in _raw_table(s) if r["verified"] == "false"]
    assert {r["standard"] + r["pollutant"] for r in unverified if r["standard"] == "cpcb"} == {
        "cpcb" + p for p in ("pm10", "pm25", "no2", "o3", "co", "so2", "nh3", "pb")}
    assert all(r["i_lo"] == "401" for r in unverified if r["standard"] == "cpcb")
    assert "Unverified rows" in readme


# ------------------------------------------------------------------------------------------- laziness, dask
def _scene(chunks: dict[str, int] | None) -> dict[str, xr.DataArray]:
    rng = np.random.default_rng(7)
    vals = {p: rng.uniform(0, top, (6, 7)) for p, top in (("pm25", 400), ("pm10", 600), ("no2", 500))}
    vals["pm25"][0, :3] = np.nan
    vals["no2"][1, 1] = -3.0
    return {p: make_raster(v, chunks=chunks, attrs={"units": "ug/m3"}) for p, v in vals.items()}


@pytest.mark.parametrize("standard", ["cpcb:2014", "epa:2024"])
def test_lazy_typed_and_identical_to_numpy(standard: str) -> None:
    scene = _scene({"y": 4, "x": 3})
    if standard.startswith("epa"):
        scene["no2"] = scene["no2"].assign_attrs(units="ppb")
    with raise_if_dask_computes():
        out = A.aqi_from_concentrations(scene, standard)
        want = {"aqi": np.uint16, "category": np.uint8, "dominant": np.uint8, "n_pollutants": np.uint8,
                "qa": np.uint8, "pm25_subindex": np.float32}
        for name, dt in want.items():
            assert out[name].dtype == dt and out[name].chunks == scene["pm25"].chunks, name
    eager = A.aqi_from_concentrations({k: v.compute() for k, v in scene.items()}, standard)
    xr.testing.assert_identical(out.compute(), eager)
    assert out["qa"].values[1, 1] & A.QA_NEGATIVE_INPUT
    assert np.all(out["category"].values[out["aqi"].values != 65535] <= 6)


@settings(deadline=None, max_examples=25, derandomize=True)
@given(cy=st.integers(1, 5), cx=st.integers(1, 6), std=st.sampled_from(["cpcb:2014", "epa:2024", "epa:2012"]))
def test_chunked_equals_unchunked(cy: int, cx: int, std: str) -> None:
    scene = _scene(None)
    if std.startswith("epa"):
        scene["no2"] = scene["no2"].assign_attrs(units="ppb")
    eager = A.aqi_from_concentrations(scene, std, require_min_pollutants=False)
    lazy = A.aqi_from_concentrations({k: v.chunk(y=cy, x=cx) for k, v in scene.items()}, std,
                                     require_min_pollutants=False)
    xr.testing.assert_identical(eager, lazy.compute())


@pytest.mark.parametrize("standard", ["cpcb:2014", "epa:2024", "epa:2012"])
def test_subindex_is_monotonic_over_each_table(standard: str) -> None:
    std = A.load_standard(standard)
    for t in std.tables:
        step = 10.0 ** -t.decimals
        n = int(round(t.c_hi[-1] * 1.2)) + 2
        conc = make_raster(np.arange(n, dtype=np.float64)[None, :] * step, dtype="float64",
                           attrs={"units": t.unit})
        vals = A.subindex(conc, t.pollutant, standard).values[0]
        finite = vals[~np.isnan(vals)]
        assert np.all(np.diff(finite) >= 0), t.pollutant
        assert finite.min() == t.i_lo[0] and np.all(finite == np.round(finite))
        above = vals[math.floor(t.c_hi[-1]) + 1:]  # the grid is in table steps, like t.c_hi
        if t.above == "cap":
            assert np.all(above == 500), t.pollutant
        elif t.above == "undefined":
            assert np.all(np.isnan(above)), t.pollutant
        else:
            assert np.all(above >= 500) and above[-1] > 500, t.pollutant


# ------------------------------------------------------------------------------------------- layers
def test_layer_specs_follow_science_7_1() -> None:
    specs = A.LAYER_SPECS
    for name, classes, std in (("aqi_category_cpcb", CPCB_CLASSES, "cpcb:2014"),
                               ("aqi_category_epa", EPA_CLASSES, "epa:2024")):
        s = specs[name]
        assert (s.kind, s.dtype, s.nodata, s.overview_resampling) == ("class", "uint8", 255, "mode")
        assert s.classes == classes and dict(s.tags)["AQI_STANDARD"] == std
        assert s.colormap()[6] == tuple(int(classes[5][2][i:i + 2], 16) for i in (0, 2, 4)) + (255,)
    v = specs["aqi_value"]
    assert (v.kind, v.dtype, v.nodata, v.overview_resampling, v.units) == ("continuous", "uint16", 65535, "average",
                                                                          "index")
    subs = [k for k in specs if "_subindex_" in k]
    assert len(subs) == 8 + 7 and all(specs[k].dtype == "uint16" and specs[k].nodata == 65535 for k in subs)
    dom = specs["aqi_dominant"]
    assert dom.kind == "class" and [c[0] for c in dom.classes] == list(A.POLLUTANT_CODES.values())
    assert specs["aqi_qa"].overview_resampling == "nearest"
    assert all(k == s.name for k, s in specs.items())


def test_outputs_encode_into_their_layers() -> None:
    out = A.aqi_from_concentrations(_scene({"y": 3, "x": 7}), "cpcb:2014")
    sub = encode(out["pm25_subindex"], A.LAYER_SPECS["aqi_pm25_subindex_cpcb"]).values
    assert sub.dtype == np.uint16 and np.all(sub[0, :3] == 65535)
    np.testing.assert_array_equal(sub[1:], out["pm25_subindex"].values[1:].astype(np.uint16))
    cat = encode(out["category"], A.LAYER_SPECS["aqi_category_cpcb"])
    assert cat.dtype == np.uint8 and set(np.unique(cat.values)) <= {1, 2, 3, 4, 5, 6, 255}
    assert out["category"].attrs["colours"] == [c[2] for c in CPCB_CLASSES]


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-golden"]:
        write_golden()
        print(f"wrote {GOLDEN} ({len(_golden())} rows)")
    else:
        sys.exit("usage: python tests/test_35_aqi.py --write-golden")

"""The stress sweep's rule parameter overrides (``--optical-param``, ``--sar-param``; bench/rice_stress.py).

One fixed SAR table of 60 points and seed 0: the mechanics, not the sweep's figures.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from agromap.rice.optical_params import OpticalRiceParams
from agromap.rice.sar_params import SarRiceParams

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, where bench/ lives

from bench.rice_stress import main, rule_params  # noqa: E402

TINY = ["--sensor", "sar", "--kinds", "dense", "--seeds", "0", "--points", "60", "--ceiling", "none",
        "--only", "no setting but the fixed table"]


def _table_oa(tmp_path: Path, *extra: str) -> float:
    out = tmp_path / f"rows{len(list(tmp_path.iterdir()))}.json"
    assert main([*TINY, *extra, "--json", str(out)]) == 0
    (row,) = json.loads(out.read_text())
    assert row["setting"] == "table"
    return float(row["rule_oa"][0])


def test_a_sar_override_reaches_the_rule_and_the_next_run_has_the_defaults(tmp_path):
    default = _table_oa(tmp_path)
    # A flood minimum 6 dB deeper than the published -18 dB: the table's direct-seeded paddies (floods
    # of -20 to -18.5 dB) and the shallower transplanted ones (-24 to -21.5 dB) lose their flood.
    deeper = _table_oa(tmp_path, "--sar-param", "vh_min_db=-24", "--sar-param", "growth_noise=0")
    assert deeper < default - 0.01
    assert _table_oa(tmp_path) == default  # the overrides last one run


@pytest.mark.parametrize(("args", "names"), [
    (["--sar-param", "no_such_threshold=1"], ["--sar-param no_such_threshold", "not a parameter of SarRiceParams"]),
    (["--sar-param", "vh_min_db=deep"], ["--sar-param vh_min_db", "'deep' is not float"]),
    (["--sar-param", "vh_min_db"], ["--sar-param 'vh_min_db'", "NAME=VALUE"]),
    (["--sar-param", "max_seasons=2.5"], ["--sar-param max_seasons", "is not int"]),
    (["--sar-param", "rise_db=NaN"], ["--sar-param rise_db", "'NaN' is not float"]),
    (["--sar-param", "align_tracks=1"], ["--sar-param align_tracks", "is not bool"]),
    (["--sar-param", "max_seasons=20"], ["--sar-param", "max_seasons must be within 1-12"]),  # the rule's own check
    (["--sar-param", "rise_db=4", "--sar-param", "rise_db=6"], ["--sar-param rise_db", "given twice"]),
    (["--optical-param", "vh_min_db=-19"], ["--optical-param vh_min_db", "not a parameter of OpticalRiceParams"]),
    (["--optical-param", "growth_rule=xiaoo"], ["--optical-param growth_rule", "is not one of 'xiao'"]),
])
def test_a_bad_override_is_a_one_line_usage_error_naming_the_parameter(capsys, args, names):
    with pytest.raises(SystemExit) as exc:
        main([*TINY, *args])
    assert exc.value.code == 2  # as argparse's own usage errors (e.g. --sensor radar)
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("python -m bench.rice_stress: error: ")
    for name in names:
        assert name in err


def test_override_values_take_the_field_types():
    p = rule_params("sar", ["vh_min_db=-19", "cycle_last_pass_deep_db=null", "align_tracks=false", "max_seasons=2"])
    assert p == SarRiceParams(vh_min_db=-19.0, cycle_last_pass_deep_db=None, align_tracks=False, max_seasons=2)
    assert isinstance(p.vh_min_db, float)  # an integer given for a float field
    assert rule_params("optical", ["growth_rule=ndvi"]) == OpticalRiceParams(growth_rule="ndvi")  # bare text
    assert rule_params("optical", ['growth_rule="ndvi"']) == OpticalRiceParams(growth_rule="ndvi")
    assert rule_params("sar", []) is None  # the rule's defaults

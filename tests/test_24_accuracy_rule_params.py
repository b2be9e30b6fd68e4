"""The accuracy benchmark's rule-parameter trials (``--optical-param``, ``--sar-param``,
``ACCURACY_OPTICAL_PARAMS`` / ``ACCURACY_SAR_PARAMS``): the mechanics on a 24-px scene and one seed,
not the scenes' figures.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agromap.rice.optical_params import OpticalRiceParams
from agromap.rice.sar_params import SarRiceParams
from agromap.scenes.evaluate import _rule_params, main

TINY = ["--size", "24", "--seeds", "3", "--scenes", "clean_delta", "--only", "sar_rule,self_trained_sar"]


def _run(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[dict, dict, str]:
    out = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
    assert main([*TINY, *extra, "--out", str(out)]) == 0
    res = json.loads(next(out.glob("accuracy-*.json")).read_text())
    rows = {r["method"]: r for r in res["rows"]}
    return res["settings"], rows, capsys.readouterr().out


def _confident_rice(row: dict) -> int:
    """The confident rice pixels the SAR rule gave self-training (a 24-px scene is too small to train on)."""
    return int(re.search(r"about only (\d+) rice pixel", row["refused"]).group(1))


def test_a_sar_override_reaches_the_rule_and_its_self_trained_labels_and_is_recorded(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ACCURACY_SAR_PARAMS", raising=False)
    monkeypatch.delenv("ACCURACY_OPTICAL_PARAMS", raising=False)
    settings, rows, text = _run(tmp_path, capsys)
    assert settings["sar_params"] == {} and settings["optical_params"] == {}
    assert "rule parameters: the defaults" in text and "CHANGED" not in text
    assert rows["sar_rule"]["oa"] == pytest.approx(0.998, abs=0.002)
    # A flood minimum 6 dB deeper than the published -18 dB: most paddies lose their flood.
    settings, changed, text = _run(tmp_path, capsys, "--sar-param", "vh_min_db=-24")
    assert settings["sar_params"] == {"vh_min_db": -24.0} and settings["optical_params"] == {}
    assert "RULE PARAMETERS CHANGED" in text and "sar vh_min_db=-24.0" in text
    assert changed["sar_rule"]["oa"] < rows["sar_rule"]["oa"] - 0.2
    assert changed["sar_baseline"]["oa"] == rows["sar_baseline"]["oa"]  # the baselines read no rule
    assert _confident_rice(changed["self_trained_sar"]) < _confident_rice(rows["self_trained_sar"])
    # The environment's form, and the options replacing it.
    monkeypatch.setenv("ACCURACY_SAR_PARAMS", "vh_min_db=-24, growth_noise=0")
    settings, env_rows, _ = _run(tmp_path, capsys)
    assert settings["sar_params"] == {"vh_min_db": -24.0, "growth_noise": 0.0}
    assert env_rows["sar_rule"]["oa"] < rows["sar_rule"]["oa"] - 0.2
    settings, flag_rows, _ = _run(tmp_path, capsys, "--sar-param", "rise_db=4")
    assert settings["sar_params"] == {"rise_db": 4.0}


@pytest.mark.parametrize(("args", "env", "names"), [
    (["--sar-param", "no_such_threshold=1"], "", ["--sar-param no_such_threshold", "not a parameter of SarRiceParams"]),
    (["--optical-param", "max_seasons=2.5"], "", ["--optical-param max_seasons", "is not int"]),
    (["--sar-param", "max_seasons=20"], "", ["--sar-param", "max_seasons must be within 1-12"]),
    ([], "vh_min_db=-19", ["ACCURACY_OPTICAL_PARAMS vh_min_db", "not a parameter of OpticalRiceParams"]),
    ([], "growth_rule", ["ACCURACY_OPTICAL_PARAMS 'growth_rule'", "NAME=VALUE"]),
])
def test_a_bad_override_is_a_one_line_usage_error_before_any_scene(capsys, monkeypatch, args, env, names):
    monkeypatch.setenv("ACCURACY_OPTICAL_PARAMS", env)
    monkeypatch.delenv("ACCURACY_SAR_PARAMS", raising=False)
    with pytest.raises(SystemExit) as exc:
        main([*TINY, *args, "--out", "/nonexistent/never-written"])
    assert exc.value.code == 2  # as argparse's own usage errors (e.g. --seeds a,b)
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("python -m agromap.scenes.evaluate: error: ")
    assert not any("rendered" in line for line in err)  # refused before any scene
    for name in names:
        assert name in err[-1]


def test_each_self_trained_map_takes_the_parameters_of_the_rules_it_draws_labels_from():
    opt, sar = OpticalRiceParams(ndvi_high=0.65), SarRiceParams(rise_db=4.0)
    both = {"optical_params": opt, "sar_params": sar}
    assert _rule_params("optical", both) is opt and _rule_params("sar", both) is sar
    assert _rule_params("both", both) == (sar, opt)  # the order self_trained_rice_map takes
    assert _rule_params("both", {"optical_params": None, "sar_params": sar}) == (sar, None)
    assert _rule_params("both", {"optical_params": None, "sar_params": None}) is None
    assert _rule_params("sar", {}) is None

"""Flood-map accuracy on the real hand-labelled Sen1Floods11 chips in sample_data (the evaluation command).

Figures measured with ``python -m agromap.disaster.evaluate`` (docs/flood.md); asserted a little
below, so a regression fails. Everything is deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest

from agromap.disaster import evaluate as ev

pytestmark = pytest.mark.integration

BASELINES = ("Otsu VH", "VV < -15", "VH < -22")


@pytest.fixture(scope="module")
def scores():
    return ev.evaluate(ki=False)


def _by(scores):
    return {(s.chip, s.method): s for s in scores}


def test_every_chip_is_read_and_scored(scores):
    chips = {s.chip for s in scores}
    assert chips == {"India_900498", "Nigeria_812045", "USA_905409", "Somalia_699062", "Spain_6860600",
                     "Ghana_53713", "Ghana_97059"}
    by = _by(scores)
    assert by[("Nigeria_812045", "agromap")].water == 119_583  # SOURCE.md: 120 118 minus pixels with NaN VV/VH
    assert by[("Ghana_97059", "agromap")].labelled == 27_394 and by[("Ghana_97059", "agromap")].water == 0


def test_agromap_beats_the_baselines_on_every_chip_with_water(scores):
    by = _by(scores)
    print("\n" + ev.format_table(scores))
    for chip in sorted({s.chip for s in scores if s.water}):
        ours = by[(chip, "agromap")].iou
        for b in BASELINES:
            assert ours >= by[(chip, b)].iou, (chip, b, ours, by[(chip, b)].iou)
    measured = {"India_900498": 0.766, "Nigeria_812045": 0.868, "USA_905409": 0.934, "Spain_6860600": 0.043}
    for chip, iou in measured.items():
        assert by[(chip, "agromap")].iou >= iou - 0.01, chip
    assert ev.pooled_iou(scores, "agromap") >= 0.80  # measured 0.809; the best baseline (VH < -22) 0.711
    assert ev.pooled_iou(scores, "agromap") > max(ev.pooled_iou(scores, b) for b in BASELINES) + 0.05
    assert by[("India_900498", "agromap + S2")].iou >= 0.90  # measured 0.902 with the same day's S2


def test_false_alarms_on_the_chips_without_water(scores):
    by = _by(scores)
    for chip in ("Ghana_53713", "Ghana_97059"):
        ours = by[(chip, "agromap")].false_alarm
        assert ours <= min(by[(chip, b)].false_alarm for b in BASELINES), chip
    assert by[("Ghana_53713", "agromap")].false_alarm < 0.0005  # measured 0 of 262 144 px
    # Ghana_97059: one compact 230-px patch at VV -18 / VH -26 dB (median) is labelled not-water; every
    # threshold at or above those values maps it. Measured 0.84 % of the labelled pixels.
    assert by[("Ghana_97059", "agromap")].false_alarm < 0.009


def test_command_line_prints_the_table_and_fails_cleanly(tmp_path, agromap_cli):
    bad = agromap_cli.run(str(tmp_path), module="agromap.disaster.evaluate", timeout=60)
    assert bad.returncode == 3 and bad.stderr.startswith("agromap: error: no <chip>_S1Hand.tif")
    assert "Traceback" not in bad.stderr
    s = ev.ChipScore("c", "agromap", tp=3, union=4, predicted=5, labelled=10, water=2)
    assert s.iou == 0.75 and s.false_alarm == pytest.approx(2 / 8)
    assert np.isnan(ev.ChipScore("c", "x", 0, 0, 1, 10, 0).iou)


def _write_chip(folder, name, vv, vh, label):
    import rasterio
    from rasterio.transform import from_origin

    prof = {"driver": "GTiff", "height": vv.shape[0], "width": vv.shape[1], "crs": "EPSG:4326",
            "transform": from_origin(10.0, 5.0, 9e-5, 9e-5)}
    with rasterio.open(folder / f"{name}_S1Hand.tif", "w", count=2, dtype="float32", nodata=float("nan"),
                       **prof) as f:
        f.write(np.stack([vv, vh]).astype(np.float32))
    with rasterio.open(folder / f"{name}_LabelHand.tif", "w", count=1, dtype="int16", **prof) as f:
        f.write(label.astype(np.int16)[None])


def test_leave_one_chip_out_picks_on_the_other_chips(tmp_path):
    """Two synthetic chips, each a lake (-26 dB VH) with a 6-px rim at -18.5 dB, a few dB above the
    fitted threshold, in -15 dB land: each held-out chip gets the setting that is best on the other
    one, scored on itself."""
    rng = np.random.default_rng(21)
    n = 96
    yy, xx = np.mgrid[:n, :n]
    for i, name in enumerate(("A_1", "B_2")):
        r = np.hypot(yy - 48, xx - 40 - 8 * i)
        vh = np.where(r < 20, -26.0, np.where(r < 26, -18.5, -15.0)) + rng.normal(0, 0.8, (n, n))
        _write_chip(tmp_path, name, vh + 6.0, vh, (r < 26).astype(int))
    grid = {"narrow": {"grow_db": 1.0}, "wide": {"grow_db": 3.0}}
    scores, rows = ev.leave_one_chip_out([tmp_path], grid=grid)
    by = _by(scores)
    assert {s.method for s in scores} == {"narrow", "wide", *BASELINES}
    for held, pick, iou in rows:
        other = "B_2" if held == "A_1" else "A_1"
        print(f"\nheld out {held}: picked {pick}; on {other} narrow {by[(other, 'narrow')].iou:.3f}, "
              f"wide {by[(other, 'wide')].iou:.3f}")
        assert by[(other, pick)].iou == max(by[(other, g)].iou for g in grid)
        assert iou == by[(held, pick)].iou
    assert by[("A_1", "wide")].iou > by[("A_1", "narrow")].iou + 0.05  # the rim is only reached by wide growth

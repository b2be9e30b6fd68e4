"""Optical rice rule: a flood that the series' end cuts before its crop's canopy (``end_flood_days``)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from agromap.rice.rules_optical import OpticalRiceParams, optical_rice_rule

_DAYS = list(range(0, 290, 10))  # a clear date every 10 days; the series ends on day 280


def _points(ndvi: list[list[float]], lswi: list[list[float]]) -> xr.Dataset:
    """A (time, point) table of indices; EVI = 0.75 NDVI."""
    time = np.datetime64("2023-01-01") + np.asarray(_DAYS).astype("timedelta64[D]")
    nd, ls = np.asarray(ndvi, np.float32).T, np.asarray(lswi, np.float32).T
    return xr.Dataset({"ndvi": (("time", "point"), nd), "evi": (("time", "point"), nd * np.float32(0.75)),
                       "lswi": (("time", "point"), ls)}, coords={"time": time})


def _series(head_nd: float, head_ls: float, tail: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    """The same reading on every date, then ``tail`` (NDVI, LSWI) on the series' last dates."""
    n = len(_DAYS) - len(tail)
    # a fallow drifts a little from date to date
    nd = [head_nd + 0.02 * (i % 3) for i in range(n)] + [t[0] for t in tail]
    ls = [head_ls - 0.01 * (i % 2) for i in range(n)] + [t[1] for t in tail]
    return nd, ls


def test_a_flood_on_bare_ground_at_the_series_end_is_rice_where_ponds_puddles_and_wetlands_are_not():
    series = {
        # dry fallow all year, puddled 30 days before the end: open water, then the young crop standing in it
        "paddy": _series(.25, -.05, [(-.1, .3), (-.05, .32), (.15, .33), (.3, .34)]),
        # the same flood seen on the last clear date only
        "paddy_last_date": _series(.25, -.05, [(-.08, .28)]),
        # a rain puddle on the fallow: the soil shows through the water (NDVI above 0)
        "puddle": _series(.25, -.05, [(.05, .2), (.06, .22)]),
        # seasonal wetland: its flood rises over green, moist grass, not over bare dry ground
        "wetland": _series(.6, .15, [(-.05, .3), (-.02, .3), (.1, .32)]),
        # a pond filled 100 days before the end: too long without a canopy for a paddy
        "pond": _series(.25, -.05, [(-.1, .3)] * 11),
        # a puddle that dried out again before the end
        "dried": _series(.25, -.05, [(-.1, .3), (.25, -.05)]),
    }
    ds = _points([v[0] for v in series.values()], [v[1] for v in series.values()])
    out = optical_rice_rule(ds)
    got = dict(zip(series, out.rice_class.values.tolist(), strict=True))
    assert got == {"paddy": 1, "paddy_last_date": 1, "puddle": 0, "wetland": 0, "pond": 0, "dried": 0}
    # undated evidence: one season without a date
    assert out.n_seasons.values[0] == 1 and out.transplant_doy.values[0, 0] == 0
    # without the term the series shows no canopy after the flood, and the paddies are missed
    old = optical_rice_rule(ds, OpticalRiceParams(end_flood_days=None))
    assert old.rice_class.values.tolist() == [0] * len(series)
    # the run must start within end_flood_days of the last clear date (30 days here)
    short = optical_rice_rule(ds, OpticalRiceParams(end_flood_days=20.0))
    assert short.rice_class.values.tolist()[:2] == [0, 1]


def test_a_marsh_flooded_for_months_then_greening_is_no_young_crop_before_a_gap():
    # A seasonal marsh with the series starting in its flood (NDVI 0.1-0.2 under water, LSWI about 0.17),
    # a few drier weeks, its grass greening before a 95-day cloud gap, green to the series' end: a flood,
    # a bare date and a young crop before a gap for ``hidden_young_rise``, except that the flood lasted
    # 100 days, longer than a paddy's (``max_flood_days``), and no harvest was seen.
    reads = ("17:.07/.11 22:.10/.17 27:.16/.20 32:.21/.21 42:.20/.18 57:.12/.14 67:.14/.18 72:.06/.20 82:.15/.16 "
             "92:.20/.17 97:.16/.07 102:.16/.13 117:.14/.09 122:.27/.06 142:.50/.18 147:.57/.18 242:.42/.14 "
             "277:.57/.16 282:.63/.19 287:.56/.17 292:.61/.15 302:.42/.16 307:.61/.18 312:.43/.15").split()
    days = [int(r.split(":")[0]) for r in reads]
    nd = [float(r.split(":")[1].split("/")[0]) for r in reads]
    ls = [float(r.split("/")[1]) for r in reads]
    time = np.datetime64("2019-01-01") + np.asarray(days).astype("timedelta64[D]")
    ds = xr.Dataset({"ndvi": (("time", "point"), np.asarray([nd], np.float32).T),
                     "evi": (("time", "point"), np.asarray([nd], np.float32).T * np.float32(0.75)),
                     "lswi": (("time", "point"), np.asarray([ls], np.float32).T)}, coords={"time": time})
    assert optical_rice_rule(ds).rice_class.values.tolist() == [0]
    # the flood's length is what refutes it: with a limit longer than the flood the undated evidence takes it
    assert optical_rice_rule(ds, OpticalRiceParams(max_flood_days=200.0)).rice_class.values.tolist() == [1]


def test_the_flood_at_the_end_may_follow_the_bare_fallow_across_a_monsoon_cloud_gap():
    # clear dates every 10 days; NaN: a cloudy date. A fallow seen bare until day 180, 85 days of monsoon
    # cloud, then the puddled field's open water (day 270) and its young crop (day 280) end the series.
    days = list(range(0, 290, 10))
    bare = [(.25 + .02 * (i % 3), -.05 - .01 * (i % 2)) for i in range(len(days))]
    cloud = (float("nan"), float("nan"))

    def row(last_bare: int) -> list[tuple[float, float]]:
        return [bare[i] if d <= last_bare else cloud for i, d in enumerate(days[:-2])] + [(-.08, .3), (.2, .34)]

    rows = {"paddy_after_gap": row(180), "drained_pond_refilled": row(120)}
    time = np.datetime64("2023-01-01") + np.asarray(days).astype("timedelta64[D]")
    nd = np.asarray([[r[0] for r in v] for v in rows.values()], np.float32).T
    ls = np.asarray([[r[1] for r in v] for v in rows.values()], np.float32).T
    ds = xr.Dataset({"ndvi": (("time", "point"), nd), "evi": (("time", "point"), nd * np.float32(0.75)),
                     "lswi": (("time", "point"), ls)}, coords={"time": time})
    # 90 days from the bare date to the flood: linked; 150 days (a pond drained for months): not
    assert optical_rice_rule(ds).rice_class.values.tolist() == [1, 0]
    # with the former link (40 days, hidden_flood_link_days) the paddy behind the cloud gap was missed
    assert optical_rice_rule(ds, OpticalRiceParams(end_flood_link_days=40.0)).rice_class.values.tolist() == [0, 0]
    assert optical_rice_rule(ds, OpticalRiceParams(end_flood_link_days=160.0)).rice_class.values.tolist() == [1, 1]


def _monsoon_end(tail: dict[int, tuple[float, float]]) -> tuple[list[int], list[float], list[float]]:
    """A fallow seen bare and dry every 15 days to day 231, the monsoon's clouds, then ``tail`` (day: NDVI, LSWI)."""
    fallow = {d: (.27 + .02 * (i % 3), -.04 - .01 * (i % 2)) for i, d in enumerate(range(6, 232, 15))}
    reads = {**fallow, **tail}
    days = sorted(reads)
    return days, [reads[d][0] for d in days], [reads[d][1] for d in days]

def _monsoon_end_points(rows: dict) -> xr.Dataset:
    """One point per entry of ``rows`` (each a tail of clear dates for :func:`_monsoon_end`), on the
    union of their dates (NaN where a point has none)."""
    series = [_monsoon_end(tail) for tail in rows.values()]
    days = sorted({d for s in series for d in s[0]})
    nd = np.full((len(days), len(rows)), np.nan, np.float32)
    ls = np.full((len(days), len(rows)), np.nan, np.float32)
    for j, (ds_, n_, l_) in enumerate(series):
        for d, a, b in zip(ds_, n_, l_, strict=True):
            nd[days.index(d), j], ls[days.index(d), j] = a, b
    time = np.datetime64("2023-01-01") + np.asarray(days).astype("timedelta64[D]")
    return xr.Dataset({"ndvi": (("time", "point"), nd), "evi": (("time", "point"), nd * np.float32(0.75)),
                       "lswi": (("time", "point"), ls)}, coords={"time": time})



def test_a_young_crop_or_its_canopy_in_water_at_the_series_end_is_rice_without_open_water():
    # Clear dates of paddies of the monsoon scene's 10-month series shifted 60 days (seed 0): the crop went
    # in under the monsoon's clouds and its seedlings already cover the water on the last clear dates.
    rows = {
        # seedlings standing in water, greening by 0.2: no date of open water (NDVI above 0)
        "seedlings": {276: (.22, .34), 286: (.44, .30), 296: (.41, .27)},
        # seedlings in water, then their canopy, still in water, on the last date
        "seedlings_then_canopy": {276: (.15, .32), 286: (.55, .34)},
        # the canopy in water 45 days after the bare date: puddling and seedlings hidden by the clouds
        "canopy_after_gap": {276: (.55, .37), 286: (.81, .37), 296: (.77, .36)},
        # a puddle or a flooded pit: wet to the end, never greening
        "puddle": {276: (.15, .25), 286: (.16, .26), 296: (.14, .25)},
        # an upland crop sown under the clouds: its canopy stands over drier soil
        "upland_crop": {276: (.55, .26), 286: (.70, .27), 296: (.72, .25)},
        # a wet canopy 20 days after the bare date: too soon for a crop puddled after it
        "canopy_too_soon": {251: (.60, .36), 261: (.75, .36)},
        # the flood's first days turbid (open water, LSWI below the run's 0.20), then the seedlings in it
        "turbid_first_days": {266: (-.10, .14), 276: (-.05, .19), 286: (.01, .36), 296: (.15, .34)},
    }
    ds = _monsoon_end_points(rows)
    got = dict(zip(rows, optical_rice_rule(ds).rice_class.values.tolist(), strict=True))
    assert got == {"seedlings": 1, "seedlings_then_canopy": 1, "canopy_after_gap": 1, "puddle": 0,
                   "upland_crop": 0, "canopy_too_soon": 0, "turbid_first_days": 1}
    # the turbid water is no bare date: without passing over it the last paddy is missed
    assert optical_rice_rule(ds, OpticalRiceParams(end_flood_turbid=False)).rice_class.values.tolist()[-1] == 0
    # each reading is what admits its paddy: without it the paddy is missed, as before
    off = {"end_flood_rise": None, "end_flood_canopy_lswi": None}
    assert optical_rice_rule(ds, OpticalRiceParams(**off)).rice_class.values.tolist()[:3] == [0, 0, 0]
    # (the seedlings' first date, NDVI 0.15 over water at LSWI 0.32, also reads as the puddled field under water)
    no_rise = {"end_flood_rise": None, "end_flood_deep_lswi": None}
    assert optical_rice_rule(ds, OpticalRiceParams(**no_rise)).rice_class.values.tolist()[:3] == [0, 0, 1]
    assert optical_rice_rule(ds, OpticalRiceParams(end_flood_rise=0.25)).rice_class.values.tolist()[:3] == [0, 1, 1]
    assert optical_rice_rule(ds, OpticalRiceParams(end_canopy_min_gap=None)).rice_class.values.tolist()[:3] == [1, 1, 0]
    assert optical_rice_rule(ds, OpticalRiceParams(end_canopy_min_gap=50.0)).rice_class.values.tolist()[:3] == [1, 1, 0]


def test_a_flood_cut_on_its_first_days_open_or_shallow_water_over_mud_is_rice():
    # Clear dates of missed paddies of wetland_confusion's 10-month series shifted 120 days (seed 1): the
    # series ends days after puddling, on water over mud drier than the run's LSWI bar (0.20).
    rows = {
        # shallow water over mud on two dates (NDVI 0-0.09, LSWI 0.05-0.13): no open water, no wet date
        "shallow_two": {266: (.07, .12), 276: (.09, .09)},
        # one date of open water from bund to bund, LSWI 0.06
        "open_one": {276: (-.07, .06)},
        # shallow water, then a wet date of open water (the run), the shallow date passed over to the fallow
        "shallow_then_wet": {251: (.01, .11), 261: (-.01, .06), 276: (-.20, .30)},
        # a rain puddle on the fallow: one flooded date (NDVI 0.12, LSWI 0.10), no open water
        "puddle_once": {286: (.12, .10)},
        # moist soil drying: flood signal on no date
        "moist_soil": {276: (.20, .08), 286: (.22, .06)},
    }
    ds = _monsoon_end_points(rows)
    got = dict(zip(rows, optical_rice_rule(ds).rice_class.values.tolist(), strict=True))
    assert got == {"shallow_two": 1, "open_one": 1, "shallow_then_wet": 1, "puddle_once": 0, "moist_soil": 0}
    # without the shallow flood the three paddies were missed
    off = optical_rice_rule(ds, OpticalRiceParams(end_flood_shallow_ndvi=None)).rice_class.values.tolist()
    assert off == [0, 0, 0, 0, 0]
    # a bar below the mud's NDVI leaves the shallow run out; the open water still votes
    low = optical_rice_rule(ds, OpticalRiceParams(end_flood_shallow_ndvi=0.05)).rice_class.values.tolist()
    assert low == [0, 1, 1, 0, 0]


def test_the_puddled_field_under_water_on_the_last_clear_date_alone_is_rice():
    # Clear dates of missed paddies of wetland_confusion's 10-month series shifted 120 days (seed 5): a dry
    # fallow to the monsoon's clouds, then one clear date of the puddled field under water, seedlings too
    # small to show (NDVI 0.06-0.15 over mud, LSWI 0.30-0.36), on the series' last days.
    rows = {
        # the puddling flood on the last clear date: shallow water over mud, as wet as standing water reads
        "puddled_last": {296: (.06, .36)},
        # the same flood on two dates, neither of them open water
        "puddled_two": {286: (.12, .31), 296: (.08, .33)},
        # a rain puddle on the fallow: part of the pixel wet (LSWI 0.24), the soil showing through
        "rain_puddle": {296: (.10, .24)},
        # moist soil under a young upland crop: too green for water over mud
        "moist_crop": {296: (.22, .34)},
        # the edge of a pond refilled after its drained weeks: water and bund (NDVI 0.12, EVI 0.09, LSWI 0.06: the
        # flood signal) on every date before
        "pond_edge": {**{d: (.12, .06) for d in range(6, 232, 15)}, 296: (.06, .36)},
        # a marsh's flood over bare ground receding by the last date (LSWI 0.33, then 0.24): no water standing
        "receding": {286: (.02, .33), 296: (.03, .24)},
        # a marsh flooded for a month over bare ground, nothing greening in it: no puddling flood's first days
        "standing_marsh": {266: (.05, .36), 281: (.08, .38), 296: (.06, .36)},
    }
    ds = _monsoon_end_points(rows)
    got = dict(zip(rows, optical_rice_rule(ds).rice_class.values.tolist(), strict=True))
    assert got == {"puddled_last": 1, "puddled_two": 1, "rain_puddle": 0, "moist_crop": 0, "pond_edge": 0,
                   "receding": 0, "standing_marsh": 0}
    # without the reading the run holds no open water and no greening: the paddies were missed
    off = optical_rice_rule(ds, OpticalRiceParams(end_flood_deep_lswi=None)).rice_class.values.tolist()
    assert off == [0] * 7
    # a bar above the flood's LSWI leaves the one-date paddy out; below the puddle's, the puddle and the receding
    # marsh (its last date) enter
    assert optical_rice_rule(ds, OpticalRiceParams(end_flood_deep_lswi=0.34)).rice_class.values.tolist() == [1] + [0] * 6
    assert optical_rice_rule(ds, OpticalRiceParams(end_flood_deep_lswi=0.20)).rice_class.values.tolist() == [
        1, 1, 1, 0, 0, 1, 0]
    # the pond's edge is kept out by its wet dates before the flood, not by the flood itself
    assert optical_rice_rule(ds, OpticalRiceParams(end_flood_deep_fallow=1.0)).rice_class.values.tolist()[4] == 1
    # the marsh by the flood's age: read over 45 days, its month of water enters
    assert optical_rice_rule(ds, OpticalRiceParams(early_ndvi_days=45.0)).rice_class.values.tolist()[-1] == 1

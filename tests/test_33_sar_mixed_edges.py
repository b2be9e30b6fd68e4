"""Mixed pixels at field edges in the SAR rule: a paddy's share of a pixel from its neighbours."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from agromap.errors import ConfigError
from agromap.rice.rules_sar import SarRiceParams, sar_rice_rule
from agromap.rice.sar_mixed import mixed_share
from agromap.rice.seasons import QA_SAR
from agromap.testing import raise_if_dask_computes

N_T, SIZE = 30, 24
H = SIZE // 2
OFF = SarRiceParams(mixed_min_fraction=None)


def _series() -> dict[str, np.ndarray]:
    """Linear VH of a paddy (flood -23 dB on 3 dates, canopy -14 dB), a village (-8 dB) and a
    dryland crop (bare -17 dB, canopy -13.5 dB, no flood), every 12 days."""
    bare = np.full(N_T, -17.0)
    paddy = bare.copy()
    paddy[8:11], paddy[11], paddy[12], paddy[13:19] = -23.0, -19.0, -16.0, -14.0
    upland = bare.copy()
    upland[11:19] = -13.5
    return {k: 10 ** (v / 10) for k, v in (("paddy", paddy), ("village", np.full(N_T, -8.0)), ("upland", upland))}


def _patch(middle: str, looks: float = 100.0, seed: int = 0) -> xr.DataArray:
    """Paddy on the left half, village on the right. ``middle="mix"``: the last paddy column holds
    30 % village and the first village column 30 % paddy (a border crossing both footprints);
    ``"mix_one"``: only the paddy column is mixed; ``"upland"``: a two-pixel dryland strip between them. Gamma speckle of ``looks`` looks (100:
    a series averaged over a field or a large window)."""
    s = _series()
    lin = np.empty((N_T, SIZE, SIZE))
    lin[:, :, :H] = s["paddy"][:, None, None]
    lin[:, :, H:] = s["village"][:, None, None]
    if middle.startswith("mix"):
        lin[:, :, H - 1] = (0.7 * s["paddy"] + 0.3 * s["village"])[:, None]
        if middle == "mix":
            lin[:, :, H] = (0.3 * s["paddy"] + 0.7 * s["village"])[:, None]
    else:
        lin[:, :, H - 1:H + 1] = s["upland"][:, None, None]
    lin *= np.random.default_rng(seed).gamma(looks, 1.0 / looks, size=lin.shape)
    t = np.datetime64("2023-01-01") + np.arange(N_T) * np.timedelta64(12, "D")
    return xr.DataArray(lin.astype(np.float32), dims=("time", "y", "x"), coords={"time": t}, name="vh",
                        attrs={"units": "linear"})


def test_a_paddy_pixel_crossed_by_a_border_is_rice():
    """The mixed column (70 % paddy) fails depth and rise on its own series, and is rice with the
    term: its series is the paddy's and the village's mixed 0.7 / 0.3. The village-centred column
    (30 % paddy) stays non-rice."""
    arr = _patch("mix")
    on = sar_rice_rule(arr).compute()
    off = sar_rice_rule(arr, OFF).compute()
    assert (off.rice_class.values[:, : H - 1] == 1).all() and (on.rice_class.values[:, : H - 1] == 1).all()
    assert (off.rice_class.values[:, H - 1] == 0).all()  # the rule alone misses the edge
    assert (on.rice_class.values[:, H - 1] == 1).all()
    assert (on.rice_class.values[:, H:] == 0).all()
    edge = on.isel(x=H - 1)
    assert (edge.rice_score.values > 0.5).all() and (edge.rice_score.values <= on.rice_score.values[:, H - 2]).all()
    # Its seasons are those of the paddy pixel that explains it best, one of its three paddy neighbours.
    doy = on.transplant_doy.values
    for y in range(SIZE):
        src = [doy[:, yy, H - 2] for yy in (y - 1, y, y + 1) if 0 <= yy < SIZE]
        assert any(np.array_equal(doy[:, y, H - 1], d) for d in src)
    assert (edge.n_seasons.values >= 1).all()
    assert (edge.qa_flags.values & QA_SAR).all()
    # Nothing else moves.
    rest = np.ones((SIZE, SIZE), dtype=bool)
    rest[:, H - 1] = False
    for v in ("rice_class", "rice_score", "n_seasons", "qa_flags", "n_valid_obs"):
        np.testing.assert_array_equal(on[v].values[rest], off[v].values[rest])


def test_the_share_is_the_paddy_fraction():
    """Without noise the least-squares share is the paddy fraction read against the opposite
    neighbour: 0.7 beside a pure village; 4/7 when that neighbour is itself 30 % paddy (0.7 =
    a + 0.3 (1 - a)), so a mixed neighbour makes the share an underestimate, never an excess.
    The village-centred column has no confident paddy neighbour (its paddy side is the mixed
    column), so no share."""

    def shares(middle: str) -> tuple[np.ndarray, np.ndarray]:
        arr = _patch(middle, looks=1e9)
        score = sar_rice_rule(arr, OFF).rice_score.values.astype(np.float32)
        lin = np.pad(arr.values, ((0, 0), (1, 1), (1, 1)), constant_values=np.nan)
        share, rms, _ = mixed_share(lin, np.pad(score, 1, constant_values=np.nan), source_score=0.9,
                                    max_rms_db=1.0)
        return share, rms

    share, rms = shares("mix_one")
    assert share[5, H - 1] == pytest.approx(0.7, abs=1e-3) and rms[5, H - 1] < 0.01
    share, rms = shares("mix")
    assert share[5, H - 1] == pytest.approx(4 / 7, abs=1e-3) and rms[5, H - 1] < 0.01
    assert np.isnan(share[5, H]) and np.isnan(share[5, H + 3])


def test_a_dryland_strip_beside_a_paddy_stays_non_rice():
    """A dryland crop between a paddy and a village lies between their levels, but no mixture of
    them reproduces its series (its canopy comes without the paddy's flood): nothing changes."""
    arr = _patch("upland")
    on = sar_rice_rule(arr).compute()
    off = sar_rice_rule(arr, OFF).compute()
    assert (on.rice_class.values[:, H - 1:] == 0).all()
    for v in ("rice_class", "rice_score", "transplant_doy", "qa_flags"):
        np.testing.assert_array_equal(on[v].values, off[v].values)


def test_lazy_and_chunk_independent():
    """A chunk border between the edge column and its paddy: builds without computing, equals
    the in-memory result."""
    arr = _patch("mix", looks=50.0, seed=3)
    eager = sar_rice_rule(arr).compute()
    with raise_if_dask_computes():
        lazy = sar_rice_rule(arr.chunk({"y": 10, "x": H - 1}))
    assert lazy.rice_class.chunks is not None
    done = lazy.compute()
    for v in eager.data_vars:
        np.testing.assert_array_equal(done[v].values, eager[v].values)
        assert done[v].dtype == eager[v].dtype and done[v].dims == eager[v].dims
    assert (done.rice_class.values[:, H - 1] == 1).mean() > 0.9


def test_point_tables_are_untouched():
    """Without a raster there are no neighbours: a (time, point) table gets the rule alone."""
    arr = _patch("mix").isel(y=0).rename(x="point")
    np.testing.assert_array_equal(sar_rice_rule(arr).rice_class.values, sar_rice_rule(arr, OFF).rice_class.values)


@pytest.mark.parametrize("kwargs", [{"mixed_min_fraction": 0.0}, {"mixed_min_fraction": 1.5},
                                    {"mixed_source_score": 0.4}, {"mixed_max_rms_db": 0.0},
                                    {"mixed_other_score": 0.5}, {"mixed_other_source_score": 0.5},
                                    {"mixed_other_rms_db": 0.0}])
def test_bad_mixed_parameters(kwargs):
    with pytest.raises(ConfigError):
        SarRiceParams(**kwargs)


def _pond_patch(paddy_share: float, column: int, looks: float = 100.0) -> xr.DataArray:
    """Paddy (canopy -13 dB) on the left half, a pond (-23 dB, drained to -16 dB for 36 days) on the
    right; ``column`` (the last paddy or the first pond column) holds ``paddy_share`` of the paddy
    and the rest of the pond (a border crossing one footprint)."""
    s = _series()
    paddy = s["paddy"] * np.where(10 * np.log10(s["paddy"]) > -15.0, 10 ** 0.1, 1.0)
    pond = np.full(N_T, 10 ** -2.3)
    pond[22:25] = 10 ** -1.6
    lin = np.empty((N_T, SIZE, SIZE))
    lin[:, :, :H] = paddy[:, None, None]
    lin[:, :, H:] = pond[:, None, None]
    lin[:, :, column] = (paddy_share * paddy + (1 - paddy_share) * pond)[:, None]
    lin *= np.random.default_rng(0).gamma(looks, 1.0 / looks, size=lin.shape)
    t = np.datetime64("2023-01-01") + np.arange(N_T) * np.timedelta64(12, "D")
    return xr.DataArray(lin.astype(np.float32), dims=("time", "y", "x"), coords={"time": t}, name="vh",
                        attrs={"units": "linear"})


def test_a_pond_pixel_under_a_paddy_canopy_is_the_ponds():
    """In linear power 45 % of a paddy's canopy over a pond's water reads -16 dB, and the rule
    alone maps the pond-centred column rice; read as a mixture of the paddy and the pond it is
    mostly pond, and leaves the map. Nothing else moves."""
    arr = _pond_patch(0.45, H)
    on = sar_rice_rule(arr).compute()
    off = sar_rice_rule(arr, SarRiceParams(mixed_other_score=None)).compute()
    assert (off.rice_class.values[:, H] == 1).all()  # the rule alone takes the pond's edge
    assert (on.rice_class.values[:, H] == 0).all()
    assert (on.rice_score.values[:, H] < 0.5).all() and (on.n_seasons.values[:, H] == 0).all()
    assert (on.transplant_doy.values[:, :, H] == 0).all()
    assert (off.qa_flags.values[:, H] & QA_SAR).all() and not (on.qa_flags.values[:, H] & QA_SAR).any()
    assert (on.rice_class.values[:, :H] == 1).all() and (on.rice_class.values[:, H + 1:] == 0).all()
    rest = np.ones((SIZE, SIZE), dtype=bool)
    rest[:, H] = False
    for v in ("rice_class", "rice_score", "n_seasons", "qa_flags"):
        np.testing.assert_array_equal(on[v].values[rest], off[v].values[rest])


def test_a_pond_edge_with_a_paddy_majority_stays_rice():
    """Beside the same pond, a pixel whose series is 60 % paddy is the paddy's: the reading leaves it."""
    arr = _pond_patch(0.6, H - 1)
    on = sar_rice_rule(arr).compute()
    off = sar_rice_rule(arr, SarRiceParams(mixed_other_score=None)).compute()
    assert (off.rice_class.values[:, H - 1] == 1).all()
    np.testing.assert_array_equal(on.rice_class.values, off.rice_class.values)

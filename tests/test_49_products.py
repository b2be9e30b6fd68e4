"""The product registry: every product plug-in is complete, and everything derived from it agrees."""

from __future__ import annotations

import typing
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr

from agromap.errors import ConfigError
from agromap.io.layers import BASE_SPECS, LayerSpec
from agromap.layer_registry import LAYERS, find_layer_spec, get_layer
from agromap.pipeline import config
from agromap.pipeline.products import AreaContext, Product, plan_layers
from agromap.pipeline.products.registry import config_models, get_product, product_names, products
from agromap.quicklook import product_style, product_styles


def _literal_values(model: type) -> set[str]:
    return set(typing.get_args(model.model_fields["product"].annotation))


@pytest.mark.parametrize("name", product_names())
def test_every_product_is_complete(name):
    """Config model, builder, layer specs and a fixed quicklook style for every continuous layer."""
    p = products()[name]
    assert isinstance(p, Product) and p.name == name
    assert name in _literal_values(p.config_model), f"{p.config_model.__name__}.product does not accept {name!r}"
    assert p.config_model in config_models()
    assert callable(p.build)
    specs = p.layer_specs()
    assert specs, f"product {name!r} registers no layer spec"
    for key, spec in specs.items():
        assert isinstance(spec, LayerSpec) and spec.name == key
        assert LAYERS[key] is spec or LAYERS[key] == spec  # one registry, the product's own definition
        if spec.kind == "continuous":
            style, source = product_style(key, spec.units)
            assert source == "product", f"{name}: continuous layer {key!r} has no fixed quicklook style"
    assert all(isinstance(v, str) for v in p.side_values)


def test_config_union_and_names_are_derived():
    assert config.PRODUCTS == product_names()
    assert set().union(*(_literal_values(m) for m in config_models())) == set(product_names())
    union = typing.get_args(typing.get_args(config.LayerConfig)[0])
    assert set(union) == set(config_models())


def test_unknown_product_is_refused_with_the_registered_names():
    data = {"areas": [{"name": "a", "inputs": [{"kind": "landsat_c2", "path": "x"}],
                       "layers": [{"product": "ndmi_typo"}]}]}
    with pytest.raises(ConfigError, match="unknown product 'ndmi_typo'") as err:
        config.parse_config(data)
    assert all(n in str(err.value) for n in product_names())
    with pytest.raises(ConfigError, match="unknown product 'nope'"):
        get_product("nope")


def test_plan_layers_never_falls_back_to_an_index():
    """A layer whose product nobody registered is an error, not silently an optical index."""
    ds = xr.Dataset({"red": (("time", "y", "x"), np.ones((1, 2, 2), np.float32)),
                     "nir": (("time", "y", "x"), np.ones((1, 2, 2), np.float32))},
                    coords={"time": [np.datetime64("2023-06-01")]})
    area = SimpleNamespace(name="a", layers=[SimpleNamespace(product="ndmi_typo")])
    with pytest.raises(ConfigError, match="unknown product 'ndmi_typo'"):
        plan_layers(AreaContext(area, ds, lambda p: p))  # type: ignore[arg-type]


def test_one_layer_registry_with_specs_defined_next_to_their_science():
    from agromap.disaster import burn, drought, flood

    for name, module in (("flood_class", flood), ("flood_likelihood", flood), ("burn_severity", burn),
                         ("dnbr", burn), ("vci", drought)):
        assert name not in BASE_SPECS
        assert LAYERS[name] is module.LAYER_SPECS[name] is find_layer_spec(name) is get_layer(name)
    assert LAYERS["flood_class"].classes is flood.FLOOD_CLASSES
    for name, spec in LAYERS.items():
        assert spec.name == name
    assert find_layer_spec("no_such_layer") is None and find_layer_spec(None) is None
    with pytest.raises(ConfigError, match="registered layers"):
        get_layer("no_such_layer")


def test_quicklook_styles_come_from_the_products():
    styles = product_styles()
    assert styles["vci"] == products()["vci"].quicklook_style["vci"]
    assert styles["dnbr"] == products()["burn_severity"].quicklook_style["dnbr"]
    assert product_style("transplant_doy_2")[0] == styles["transplant_doy"]
    assert product_style("aqi_pm25_subindex_cpcb")[0] == styles["aqi_"]


def _area_with(product: Product, monkeypatch) -> AreaContext:
    """An area of one 4 x 4 date whose single layer is ``product`` (registered for this test only)."""
    from agromap.pipeline.products import registry

    monkeypatch.setattr(registry, "get_product", lambda name: product)
    ds = xr.Dataset({"red": (("time", "y", "x"), np.ones((1, 4, 4), np.float32))},
                    coords={"time": [np.datetime64("2023-06-01")]})
    area = SimpleNamespace(name="a", layers=[SimpleNamespace(product=product.name)])
    return AreaContext(area, ds, lambda p: p)  # type: ignore[arg-type]


def _probe(side: dict, stac_side: tuple[str, ...] = ()):
    import pandas as pd

    from agromap.pipeline.products import PlannedLayer

    def build(ctx, layer):
        t = pd.Timestamp("2023-06-01", tz="UTC")
        return [PlannedLayer("a", "probe_20230601", BASE_SPECS["ndvi"], ctx.ds["red"].isel(time=0), t, t, "each", {},
                             {"product": "probe"}, side, stac_side=stac_side)]
    return build


@pytest.mark.parametrize(("side", "stac_side", "message"), [
    ({"thr": 0.5, "flag": True, "extra": 1}, (), r"reports undeclared side value\(s\) \['extra'\]"),
    ({"thr": 0.5}, (), r"misses declared side value\(s\) \['flag'\]"),
    ({"thr": xr.DataArray([0.5, 0.6]), "flag": True}, (), r"side value\(s\) \['thr'\] that are not 0-d"),
    ({"thr": 0.5, "flag": True}, ("detected",), r"publishes side value\(s\) \['detected'\] in STAC"),
])
def test_side_values_must_be_the_declared_ones(monkeypatch, side, stac_side, message):
    """A builder's side values are checked against its record when the area is planned (before any compute)."""
    from agromap.errors import ProductContractError

    probe = Product("probe", object, _probe(side, stac_side), dict, side_values=("thr", "flag"),  # type: ignore[arg-type]
                    optional_side_values=("thr_optical",))
    with pytest.raises(ProductContractError, match=message) as err:
        plan_layers(_area_with(probe, monkeypatch))
    assert "product 'probe': layer probe_20230601" in str(err.value) and err.value.exit_code == 1


def test_declared_side_values_pass(monkeypatch):
    """All required values, optional ones or none at all (a layer without side values) are fine."""
    for side in ({"thr": xr.DataArray(0.5), "flag": True}, {"thr": 0.5, "flag": True, "thr_optical": 0.2}, {}):
        probe = Product("probe", object, _probe(side), dict, side_values=("thr", "flag"),  # type: ignore[arg-type]
                        optional_side_values=("thr_optical",))
        assert [p.stem for p in plan_layers(_area_with(probe, monkeypatch))] == ["probe_20230601"]


def test_real_flood_layers_report_their_declared_side_values():
    """The flood builder on a small SAR + optical area: the side values it reports are declared,
    with every required one present (the check runs inside plan_layers)."""
    import pandas as pd

    from agromap.io.grid import attach_geobox
    from agromap.testing import make_raster

    rng = np.random.default_rng(0)
    times = pd.to_datetime(["2023-08-18", "2023-08-30"]).to_numpy()
    base = make_raster(np.zeros((2, 64, 64), np.float32), times=times, chunks={"x": 64, "y": 64})
    gbox = base.odc.geobox
    water = np.zeros((64, 64), bool)
    water[20:40, 10:50] = True
    vv = np.where(water, 0.003, 0.08) * rng.gamma(4.0, 0.25, (2, 64, 64))
    vh = vv / 5
    ds = xr.Dataset({"vv": base.copy(data=vv.astype(np.float32)), "vh": base.copy(data=vh.astype(np.float32))})
    ds = attach_geobox(ds, gbox)
    area = SimpleNamespace(name="a", layers=[config.parse_config({"areas": [{"name": "a", "inputs": [
        {"kind": "landsat_c2", "path": "x"}], "layers": [{"product": "flood", "event_date": "2023-08-30"}]}]})
        .areas[0].layers[0]], districts=None)
    planned = plan_layers(AreaContext(area, ds, lambda p: p))  # type: ignore[arg-type]
    flood = get_product("flood")
    side = set(next(p for p in planned if p.stem.startswith("flood_class")).side)
    assert set(flood.side_values) <= side <= set(flood.side_values) | set(flood.optional_side_values)
    assert {"threshold_vv", "threshold_vh"} <= side


def test_every_registered_layer_is_described_with_units():
    """STAC items, COG tags and the tables' column notes all take these from the spec: none is blank.
    Units are a unit, ``1`` for dimensionless values, ``class`` for class layers or ``index`` for AQI values."""
    for name, spec in LAYERS.items():
        assert spec.description.strip() and spec.description.strip().lower() != name, name
        assert spec.units.strip(), f"{name}: units empty; use '1' for a dimensionless value"
        assert (spec.units == "class") == (spec.kind == "class"), name
        if spec.kind == "class":
            assert all(n.strip() for _v, n, _c in spec.classes), f"{name}: a class without a name"

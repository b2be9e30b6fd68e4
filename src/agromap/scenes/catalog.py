"""The named hard scenes: land-cover mix, crop calendars, weather and acquisition plans.

Every number here is a scene design choice taken from the published figures listed in
``docs/scenes.md`` (calendars, cloud climatology, revisit, speckle). Day numbers count from
1 January of ``year`` (0 and negative days fall in December of the year before).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import landscape as L

__all__ = ["S1Plan", "S2Plan", "SceneConfig", "SCENES", "SCENE_NAMES"]


@dataclass(frozen=True)
class S1Plan:
    """Sentinel-1 IW GRD acquisitions over the scene."""

    revisit: int = 12
    """Days between passes of one relative orbit (12 with one satellite, 6 with S1A + S1B)."""
    orbits: tuple[tuple[str, int, float], ...] = (("ascending", 0, 0.0),)
    """(pass direction, day offset of its first pass, backscatter offset in dB from the
    incidence-angle difference between the tracks)."""
    missing: float = 0.0
    """Probability that a planned pass is not acquired or not delivered."""
    enl: float = 4.4
    """Equivalent number of looks of one GRD pixel (ESA: IW GRDH, 4.4)."""


@dataclass(frozen=True)
class S2Plan:
    """Sentinel-2 L2A acquisitions and the cloud regime of each date."""

    revisit: int = 5
    clear_prob: tuple[float, ...] = (0.6,) * 12
    """Per calendar month: probability that an acquisition is clear over the scene."""
    whole_prob: tuple[float, ...] = (0.1,) * 12
    """Per calendar month: probability that the whole scene is under cloud."""
    keep_whole: float = 0.3
    """Share of whole-cloudy dates still delivered (a tile-wide cloud filter lets them through)."""
    max_cover: float = 0.8
    """Partly cloudy dates above this local cover are dropped by the tile-wide filter."""
    n_clear: tuple[int, int] = (20, 60)
    """Accepted range of clear dates (local cloud cover < 10 %) over the scene's span."""
    max_gap: tuple[int, int] = (0, 60)
    """Accepted range of the longest gap (days) between consecutive clear dates."""
    haze_prob: float = 0.15
    """Probability of thin haze on a date (flagged by SCL only where thick)."""
    scl_misses: bool = True
    """SCL misses thin cloud fringes and the rim of cloud shadows (False: it flags them all)."""
    cloud_scale: int = 40


@dataclass(frozen=True)
class SceneConfig:
    """Definition of one named scene."""

    name: str
    description: str
    year: int
    start: str
    end: str
    cover_fractions: tuple[tuple[int, float], ...]
    rice_windows: tuple[tuple[int, int], ...]
    """Establishment (transplanting or sowing) windows, day numbers, one per season slot."""
    rice_patterns: tuple[tuple[float, tuple[int, ...]], ...]
    """(probability, season slots used) per cropping pattern of a rice field."""
    rice_length: tuple[int, int] = (88, 105)
    """Establishment-to-harvest days (short-duration varieties)."""
    wet_months: tuple[int, ...] = (5, 6, 7, 8, 9, 10)
    n_rain_events: int = 8
    flood_onset: tuple[int, int] = (200, 240)
    """Onset window (day numbers) of the yearly flood pulse of wetlands and grasslands."""
    preseason_ponding: float = 0.0
    """Share of rice fields that hold rainwater for 20-50 days before puddling in the wet months
    (rainfed lowland fields waiting for the nursery or for enough water to puddle)."""
    fallow_flood: bool = False
    """Rice fields that skip a season slot lie under the river flood during it (the Mekong
    upper delta's flood-season fallow between summer-autumn and winter-spring crops)."""
    rice_shrimp_window: tuple[int, int] = (220, 250)
    """Transplanting window (day numbers) of the wet-season rice of rice-shrimp fields: after the
    shrimp (Feb-Jul) and the flushing of the salt by the first rains, rice goes in from about
    mid-August to early September (Preston & Clayton 2003; docs/scenes.md)."""
    rice_shrimp_length: tuple[int, int] = (100, 115)
    """Transplanting-to-harvest days of that crop (harvest mid-November to December; the field is
    refilled with brackish water for the next shrimp in January-February)."""
    rice_shrimp_stock: tuple[int, int] = (15, 45)
    """Day numbers when the field is flooded with brackish water and stocked with shrimp."""
    rice_shrimp_flush: tuple[int, int] = (20, 40)
    """Days between the shrimp harvest (draining the pond) and the rice field's puddling flood:
    the salt is flushed with rainwater before rice can be planted."""
    lotus_start: tuple[int, int] = (60, 110)
    cane_plant: tuple[int, int] = (-30, 45)
    dryland_windows: tuple[tuple[int, int], ...] = ((130, 170), (250, 280))
    field_size: int = 10
    edge_mix: float = 0.3
    """Neighbour share of a pixel whose right or lower neighbour lies in another field."""
    s1: S1Plan = field(default_factory=S1Plan)
    s2: S2Plan = field(default_factory=S2Plan)
    calendar_shift: int = 0
    """Days the whole local calendar (every class: crops, flood pulse, ponds) is moved later
    against the acquisitions and the weather; the calendar repeats every 365 days, so a shift of
    365 is the scene itself. A desk's series starts where its own year starts, not where the
    crops' year does: ``make accuracy`` with ``ACCURACY_CALENDAR_SHIFT`` measures the methods on
    such a series (docs/scenes.md)."""

    def __post_init__(self) -> None:
        total = sum(f for _, f in self.cover_fractions)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"{self.name}: cover fractions sum to {total}, not 1.")
        if len(self.rice_windows) > L.MAX_SEASONS:
            raise ValueError(f"{self.name}: at most {L.MAX_SEASONS} rice season windows.")


# Monthly cloud climatology of mainland South-East Asia under the south-west monsoon
# (clear skies mostly from November to April, near-continuous cloud June-September).
_MONSOON_CLEAR = (.50, .55, .45, .30, .12, .03, .02, .02, .04, .12, .35, .45)
_MONSOON_WHOLE = (.10, .08, .10, .20, .35, .55, .60, .60, .55, .35, .15, .10)

SCENES: dict[str, SceneConfig] = {
    "clean_delta": SceneConfig(
        name="clean_delta",
        description="Easy reference: one or two transplanted rice seasons, upland crops, forest, "
        "towns and ponds; frequent clear Sentinel-2 dates with every cloud and shadow flagged, one "
        "12-day Sentinel-1 track without gaps, no heavy-rain puddles, no mixed pixels.",
        year=2023, start="2023-01-01", end="2023-12-31",
        cover_fractions=((L.RICE, 0.45), (L.DRYLAND, 0.20), (L.FALLOW, 0.05), (L.FOREST, 0.12),
                         (L.BUILT_UP, 0.10), (L.WATER, 0.08)),
        rice_windows=((10, 40), (170, 200)),
        rice_patterns=((0.5, (0, 1)), (0.5, (1,))),
        rice_length=(95, 110),
        n_rain_events=0,
        edge_mix=0.0,
        s1=S1Plan(revisit=12, orbits=(("ascending", 3, 0.0),), missing=0.0),
        s2=S2Plan(clear_prob=(0.7,) * 12, whole_prob=(0.1,) * 12, n_clear=(25, 60), max_gap=(0, 45),
                  haze_prob=0.0, scl_misses=False),
    ),
    "monsoon_sparse_optical": SceneConfig(
        name="monsoon_sparse_optical",
        description="Monsoon rice (with a dry-season crop on part of the fields, some direct-seeded) "
        "among sugarcane, maize, orchards and wetlands; 8-15 clear Sentinel-2 dates a year with gaps "
        "up to 130 days and haze/shadow that SCL misses; Sentinel-1 after the loss of S1B (12 days, "
        "both passes, missing passes).",
        year=2022, start="2022-01-01", end="2022-12-31",
        cover_fractions=((L.RICE, 0.36), (L.RICE_DSR, 0.10), (L.SUGARCANE, 0.03), (L.DRYLAND, 0.03),
                         (L.ORCHARD, 0.05), (L.FALLOW, 0.07), (L.FOREST, 0.14), (L.BUILT_UP, 0.10),
                         (L.WATER, 0.07), (L.WETLAND, 0.03), (L.GRASSLAND, 0.02)),
        rice_windows=((5, 45), (180, 230)),
        rice_patterns=((0.4, (0, 1)), (0.6, (1,))),
        rice_length=(100, 120),
        preseason_ponding=0.3,
        s1=S1Plan(revisit=12, orbits=(("ascending", 2, 0.6), ("descending", 8, -0.9)), missing=0.1),
        s2=S2Plan(clear_prob=_MONSOON_CLEAR, whole_prob=_MONSOON_WHOLE, keep_whole=0.3, n_clear=(8, 15),
                  max_gap=(100, 130), haze_prob=0.25),
    ),
    "mekong_triple_sar": SceneConfig(
        name="mekong_triple_sar",
        description="Mekong-delta triple and double rice with staggered winter-spring, summer-autumn and "
        "autumn-winter calendars, direct-seeded fields, shrimp ponds, flood-irrigated orchards on raised "
        "beds, water hyacinth and lotus; S1A + S1B 6-day revisit on both passes with missing passes.",
        year=2019, start="2019-01-01", end="2019-12-31",
        # Rice-shrimp fields take 6 % of the area out of the transplanted rice: listed right after it,
        # they replace a share of its fields and every other pixel keeps its cover.
        cover_fractions=((L.RICE, 0.34), (L.RICE_SHRIMP, 0.06), (L.RICE_DSR, 0.15), (L.AQUACULTURE, 0.10), (L.ORCHARD, 0.10),
                         (L.HYACINTH, 0.03), (L.LOTUS, 0.02), (L.BUILT_UP, 0.07), (L.WATER, 0.06),
                         (L.FOREST, 0.03), (L.GRASSLAND, 0.04)),
        rice_windows=((-30, -5), (105, 140), (222, 253), (335, 359)),
        rice_patterns=((0.55, (0, 1, 2, 3)), (0.45, (0, 1, 3))),
        rice_length=(85, 100),
        flood_onset=(220, 250),
        fallow_flood=True,
        s1=S1Plan(revisit=6, orbits=(("ascending", 1, 0.6), ("descending", 4, -0.9)), missing=0.12),
        s2=S2Plan(clear_prob=_MONSOON_CLEAR, whole_prob=_MONSOON_WHOLE, n_clear=(8, 15), max_gap=(60, 130),
                  haze_prob=0.2),
    ),
    "wetland_confusion": SceneConfig(
        name="wetland_confusion",
        description="Rice among seasonal wetland, flooded grassland, shrimp ponds, flood-irrigated orchards "
        "and fallow with puddles, whose VH dips to about -21 dB (90th percentile near -16 dB); about 76 "
        "Sentinel-1 dates over 10 months from both passes.",
        year=2019, start="2019-01-15", end="2019-11-15",
        cover_fractions=((L.RICE, 0.42), (L.RICE_DSR, 0.05), (L.WETLAND, 0.12), (L.GRASSLAND, 0.07),
                         (L.AQUACULTURE, 0.06), (L.ORCHARD, 0.07), (L.FALLOW, 0.06), (L.DRYLAND, 0.04),
                         (L.FOREST, 0.05), (L.BUILT_UP, 0.04), (L.WATER, 0.02)),
        rice_windows=((20, 55), (150, 195)),
        rice_patterns=((0.45, (0, 1)), (0.55, (1,))),
        rice_length=(95, 110),
        flood_onset=(190, 240),
        n_rain_events=12,
        preseason_ponding=0.5,
        s1=S1Plan(revisit=6, orbits=(("ascending", 2, 0.6), ("descending", 5, -0.9)), missing=0.25),
        s2=S2Plan(clear_prob=_MONSOON_CLEAR, whole_prob=_MONSOON_WHOLE, n_clear=(8, 15), max_gap=(60, 130),
                  haze_prob=0.2),
    ),
}

SCENE_NAMES: tuple[str, ...] = tuple(SCENES)

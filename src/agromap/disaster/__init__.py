"""Disaster layers: flood extent and classes, exposure, burn severity, drought."""

from .._lazy import attach

__all__, __getattr__, __dir__ = attach(__name__, {
    # flood
    "flood_map": ".flood",
    "prepare_sar": ".flood",
    "robust_threshold": ".threshold",
    "flood_exposure": ".exposure",
    # burn
    "dnbr": ".burn",
    "rdnbr": ".burn",
    "burn_severity": ".burn",
    "clear_composite": ".burn",
    "burned_paddy": ".burn",
    # drought
    "vci": ".drought",
    "vci_class": ".drought",
})

"""Rice crop area: phenology rules, supervised classification, accuracy and area estimation."""

from .._lazy import attach

__all__, __getattr__, __dir__ = attach(__name__, {
    # rules
    "optical_rice_rule": ".rules_optical",
    "sar_rice_rule": ".rules_sar",
    "split_seasons": ".seasons",
    "calendar_windows": ".calendars",
    # self-trained
    "self_trained_rice_map": ".self_trained",
    # supervised
    "temporal_features": ".features",
    "index_features": ".features",
    "read_labels": ".labels",
    "extract_samples": ".labels",
    "cross_validate": ".model",
    "train": ".model",
    "save_model": ".model",
    "load_model": ".model",
    "predict": ".model",
    # baselines and accuracy
    "optical_baseline": ".baselines",
    "sar_baseline": ".baselines",
    "olofsson": ".accuracy",
    "accuracy_report": ".accuracy",
})

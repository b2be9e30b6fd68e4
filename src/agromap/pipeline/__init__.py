"""Orchestration: configuration models, the runner (the one compute) and the CLI."""

from .._lazy import attach

__all__, __getattr__, __dir__ = attach(__name__, {
    # configuration
    "load_config": ".config",
    "parse_config": ".config",
    "RunConfig": ".config",
    "config_json_schema": ".config_schema",
    # the run
    "plan_run": ".runner",
    "run": ".runner",
})

"""Orchestration: configuration models, the runner (the one compute) and the CLI."""

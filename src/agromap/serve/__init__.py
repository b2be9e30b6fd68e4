"""Local web map of a run (``agromap serve``)."""

from .._lazy import attach

__all__, __getattr__, __dir__ = attach(__name__, {
    "make_server": ".app",
})

"""Local web map of a run (``agromap serve``)."""

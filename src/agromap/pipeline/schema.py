"""Building blocks of the run configuration shared by the core models and the product plug-ins.

Every configuration model is frozen and refuses unknown keys (:class:`Strict`); dates written
unquoted in YAML stay ISO text (:data:`IsoDateTime`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict

__all__ = ["Strict", "IsoDateTime", "TimeReduce", "Period"]

# YAML turns an unquoted 2023-05-15 into a date; keep it as ISO text either way.
IsoDateTime = Annotated[str, BeforeValidator(lambda v: v.isoformat() if hasattr(v, "isoformat") else v)]
TimeReduce = Literal["each", "median", "mean", "max", "min", "first", "last"]
Period = tuple[IsoDateTime, IsoDateTime]


class Strict(BaseModel):
    """Base of every configuration model: frozen, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

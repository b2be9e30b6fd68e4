"""Building blocks of the run configuration shared by the core models and the product plug-ins.

Every configuration model is frozen, refuses unknown keys and non-finite numbers (:class:`Strict`);
dates written unquoted in YAML stay ISO text (:data:`IsoDateTime`); the dates a layer computes with
must parse (:data:`LayerDate`).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

__all__ = ["Strict", "IsoDateTime", "LayerDate", "TimeReduce", "Period", "Nodata"]

# YAML turns an unquoted 2023-05-15 into a date; keep it as ISO text either way.
IsoDateTime = Annotated[str, BeforeValidator(lambda v: v.isoformat() if hasattr(v, "isoformat") else v)]
TimeReduce = Literal["each", "median", "mean", "max", "min", "first", "last"]


# A calendar date first (2023-06-01 or 20230601), then what datetime.fromisoformat takes (a time, seconds
# fractions, Z or an offset); a year or year-month alone also names a period's start. No week or ordinal
# dates: the science reads these strings with pandas, which does not take them.
_CALENDAR = re.compile(r"\d{4}-?\d{2}-?\d{2}(?:[T ].*)?", re.IGNORECASE)
_REDUCED = re.compile(r"\d{4}(?:-\d{2})?")


def _parseable(v: str) -> str:
    """``v`` unchanged if it is an ISO 8601 date or date-time (parsed without pandas, so loading stays light)."""
    s = v.strip().upper()  # RFC 3339 allows a lower-case t and z; fromisoformat does not
    try:
        if _REDUCED.fullmatch(s):
            datetime.fromisoformat(s + ("-01" if len(s) == 7 else "-01-01"))
        elif _CALENDAR.fullmatch(s):
            datetime.fromisoformat(s)
        else:
            raise ValueError(s)
    except ValueError:
        raise ValueError(f"{v!r} is not an ISO date/time such as 2023-06-01") from None
    return v


#: A date a layer computes with (an event date, a composite period): checked when the file is read.
LayerDate = Annotated[IsoDateTime, AfterValidator(_parseable)]
Period = tuple[LayerDate, LayerDate]
#: NaN is a legitimate nodata value of float rasters; every other number in a run must be finite.
Nodata = Annotated[float, Field(allow_inf_nan=True)] | None | Literal["auto"]


class Strict(BaseModel):
    """Base of every configuration model: frozen, unknown keys and NaN/infinite numbers are errors
    (NaN or infinity in a threshold, scale or bound would silently empty every layer or overflow a grid).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

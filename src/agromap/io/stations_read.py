"""Ground-station tables (CSV), read at the edge into a raw :class:`pandas.DataFrame`.

Only the file is read here: column names, pollutant codes, units and coordinates are validated by
:func:`agromap.airquality.stations.read_stations`, which also accepts a table already in memory.
"""

from __future__ import annotations

import os

import pandas as pd

from ..errors import StationTableError

__all__ = ["read_station_csv"]


def read_station_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a station CSV as written, keeping ``station_id`` as text (``"007"`` stays ``"007"``).

    Parameters
    ----------
    path : str or os.PathLike
        A comma-separated file with a header row.

    Returns
    -------
    pandas.DataFrame
        The rows and columns of the file, unvalidated.

    Raises
    ------
    StationTableError
        The file is missing, unreadable, empty or not a CSV (one line saying which).
    """
    name = os.fspath(path)
    try:
        return pd.read_csv(name, dtype={"station_id": str})
    except FileNotFoundError:
        raise StationTableError(f"{name}: station table not found; check the path.") from None
    except pd.errors.EmptyDataError:
        raise StationTableError(f"{name}: station table is empty; it needs a header row and one row per "
                                "measurement.") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise StationTableError(f"{name}: not a readable CSV ({exc}); write it as UTF-8 comma-separated text."
                                ) from None
    except OSError as exc:
        raise StationTableError(f"{name}: cannot read the station table ({exc.strerror or exc}).") from None

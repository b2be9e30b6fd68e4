"""The errors and warnings agromap raises on purpose.

Every error carries the process exit code the CLI uses for it, and also derives from the
standard-library type a caller would already catch (``ValueError``, ``OSError``...).
Messages say what was found, what was expected and how to fix it, on one line.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AgromapError",
    "ConfigError",
    "InputError",
    "CorruptInputError",
    "MissingBandError",
    "RasterTooLargeError",
    "UnknownCRSError",
    "NoOverlapError",
    "GridMismatchError",
    "MetadataError",
    "SarUnitsError",
    "NoValidDataError",
    "OutputLockedError",
    "ComputeLostError",
    "ExportError",
    "ProductContractError",
    "UnsafeInputError",
    "OutputError",
    "DeadlineError",
    "RunInterrupted",
    "PlanNeeded",
    "RunTerminated",
    "AgromapWarning",
    "RadiometryWarning",
    "NoValidDataWarning",
    "OrbitMismatchError",
    "ZonalError",
    "MaskDtypeError",
    "AccessorUnavailableError",
    "LabelError",
    "LabelCRSError",
    "LabelOverlapError",
    "SingleClassError",
    "SamplingError",
    "SampleDesignError",
    "ModelFileError",
    "UnknownModelFileError",
    "UntrustedModelError",
    "ModelChecksumError",
    "ModelVersionError",
    "FeatureMismatchError",
    "FoldError",
    "FoldReductionWarning",
    "LazySamplesError",
    "TooFewConfidentPixelsError",
    "CalibrationError",
    "WrongUnitsError",
    "StationTableError",
    "StationsOutsideGridError",
    "CollocationError",
    "S5PLayoutError",
    "EmptySwathError",
    "AQIUnitsError",
    "EXIT_CODES",
]


class AgromapError(Exception):
    """Base of every error agromap raises on purpose; the CLI exits with ``exit_code``."""

    exit_code: ClassVar[int] = 1


class ConfigError(AgromapError, ValueError):
    """The run configuration (YAML or arguments) is invalid."""

    exit_code = 2


class InputError(AgromapError, OSError):
    """An input cannot be used as it is (unreadable, corrupt, or inconsistent)."""

    exit_code = 3


class CorruptInputError(InputError):
    """A file is not a raster, is truncated, or fails to decode."""


class MissingBandError(InputError, KeyError):
    """A band the run needs is absent from a source."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class RasterTooLargeError(InputError):
    """A raster declares more pixels than the configured budget (decompression-bomb guard)."""


class UnknownCRSError(InputError):
    """A raster has no usable coordinate reference system."""


class NoOverlapError(InputError):
    """Inputs do not overlap each other or the target grid."""


class MetadataError(InputError):
    """Product metadata needed for radiometry or georeferencing is missing or inconsistent."""


class SarUnitsError(InputError, ValueError):
    """SAR values do not look like the declared units (dB passed as linear power, or the reverse)."""


class GridMismatchError(AgromapError, ValueError):
    """Arrays combined by a science function are not on the same grid."""

    exit_code = 3


class NoValidDataError(AgromapError, RuntimeError):
    """Every pixel of a product is nodata (all cloud, all fill)."""

    exit_code = 4


class OutputLockedError(AgromapError, RuntimeError):
    """Another run holds the lock on the output directory."""

    exit_code = 5


class ComputeLostError(AgromapError, RuntimeError):
    """The computation was lost (killed worker, out of memory) after retries."""

    exit_code = 6


class ExportError(AgromapError, RuntimeError):
    """A product could not be written or failed validation; nothing was published."""

    exit_code = 1


class ProductContractError(AgromapError, RuntimeError):
    """A product plug-in returned something its :class:`Product` record does not declare (a bug)."""

    exit_code = 1


class UnsafeInputError(InputError):
    """An input points somewhere agromap does not read: outside its folder, a device, a pipe, the network."""


class OutputError(AgromapError, OSError):
    """The output cannot be written: no permission, read-only, disk full, name too long, not a folder."""

    exit_code = 7


class DeadlineError(AgromapError, TimeoutError):
    """Something agromap waited for (a scheduler, a worker) did not answer within its deadline."""

    exit_code = 8


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT): the run stopped, cleaned its staging files and released its lock.

    A ``KeyboardInterrupt`` so every cleanup path that already handles Ctrl-C handles it too.
    """

    exit_code: ClassVar[int] = 130


class RunTerminated(RunInterrupted):
    """SIGTERM (``kill``, a batch system's time limit): handled exactly like Ctrl-C."""

    exit_code: ClassVar[int] = 143


class PlanNeeded(Exception):
    """Not an error: ``agromap validate``'s header-only check cannot settle this configuration, so
    the full plan (the one ``agromap run`` builds) decides, with its own messages.

    Raised for inputs, products or options the light check does not model and for anything it
    finds wrong (the full plan then reports the fault exactly as ``run`` would).
    """


class AgromapWarning(UserWarning):
    """Base of agromap's warnings (tests turn them into errors)."""


class RadiometryWarning(AgromapWarning):
    """Values look implausible for the declared radiometric convention."""


class NoValidDataWarning(AgromapWarning):
    """A layer, date or scene holds no valid pixel."""


# Errors of the science and product modules, one place for all (their modules raise them).


# Flood mapping
class OrbitMismatchError(InputError, ValueError):
    """Pre- and post-event SAR scenes come from different relative orbits or pass directions."""


# Zonal tables
class ZonalError(AgromapError, ValueError):
    """Polygons or options that cannot give a zonal table (missing id field, duplicate ids...)."""

    exit_code = 3


# Masks
class MaskDtypeError(InputError, TypeError):
    """A mask function got an array of the wrong dtype (classes and bits need integers, masks bools)."""


# The xarray accessor
class AccessorUnavailableError(AgromapError, AttributeError):
    """An accessor method whose module cannot be imported here (an optional part is missing)."""


# Rice reference labels
class LabelError(InputError):
    """A label file or its contents cannot be used (format, columns, classes, geometry)."""


class LabelCRSError(LabelError):
    """Labels have no CRS, or a CRS other than the raster's (and reprojection was not requested)."""


class LabelOverlapError(LabelError, NoOverlapError):
    """Some or all labels fall outside the raster."""


class SingleClassError(LabelError, ValueError):
    """Fewer than two classes among the labels: nothing to learn to separate."""


# Rice sampling design
class SamplingError(AgromapError, ValueError):
    """A requested sample cannot be drawn from this class map."""

    exit_code = 3


# Accuracy assessment
class SampleDesignError(AgromapError, ValueError):
    """A confusion matrix, mapped areas or sampling plan cannot support the estimate."""

    exit_code = 3


# Classifier models
class ModelFileError(InputError):
    """A model file (a rice classifier in skops, a PM2.5 model in JSON) cannot be loaded safely,
    is not an agromap model, or is inconsistent.
    """


class UnknownModelFileError(ModelFileError):
    """Not a skops model file (pickle, joblib, text, empty, or a skops file agromap did not write)."""


class UntrustedModelError(ModelFileError):
    """The skops file contains a type outside :data:`agromap.rice.model.ALLOWED_TYPES`."""


class ModelChecksumError(ModelFileError):
    """The file's SHA-256 differs from the expected one (or from its sidecar)."""


class ModelVersionError(ModelFileError):
    """The model was saved with another scikit-learn version (``InconsistentVersionWarning``)."""


class FeatureMismatchError(AgromapError, ValueError):
    """The features to predict differ from the model's, by name or order."""

    exit_code = 3


class FoldError(AgromapError, ValueError):
    """Spatially blocked cross-validation is impossible with these labels and blocks."""

    exit_code = 3


class FoldReductionWarning(AgromapWarning):
    """Cross-validation used fewer folds than requested (recorded in :class:`agromap.rice.model.CVReport`)."""


class LazySamplesError(ConfigError):
    """Training got a dask-backed sample table; the library never computes on its own."""


# Self-trained rice map
class TooFewConfidentPixelsError(NoValidDataError):
    """The rule is confident about too few pixels of a class to train on."""


# PM2.5 from AOD
class CalibrationError(NoValidDataError):
    """Too few usable station observations (or stations) to fit and cross-validate a model."""


# Ground stations
class WrongUnitsError(InputError, ValueError):
    """Values are declared in a unit agromap does not accept for that quantity."""


class StationTableError(InputError, ValueError):
    """A station table is missing columns or holds values that cannot be used."""


class StationsOutsideGridError(NoOverlapError):
    """Stations lie outside the raster they are collocated with."""


class CollocationError(NoValidDataError):
    """No station-day matches a raster date (or every matched pixel is nodata)."""


# Sentinel-5P
class S5PLayoutError(MissingBandError):
    """A Level-2 file lacks a group or variable of the S5P layout (``PRODUCT/qa_value``...)."""


class EmptySwathError(NoValidDataError):
    """No pixel of a swath survives QA filtering, or none falls on the grid."""


# AQI
class AQIUnitsError(MetadataError, ValueError):
    """A concentration's ``units`` attribute is missing or not the unit the breakpoint table uses."""


#: Process exit codes, stable and documented in the README and ``agromap --help``.
EXIT_CODES: dict[int, str] = {
    0: "success (warnings possible)",
    1: "unexpected error (a bug: run again with --debug and report the traceback)",
    2: "bad configuration or usage",
    3: "input unreadable, corrupt or inconsistent",
    4: "no valid data in the products",
    5: "output directory locked by another run",
    6: "computation lost (killed worker, lost scheduler, or out of memory after retries)",
    7: "cannot write the output (permissions, read-only, disk full, name too long)",
    8: "scheduler unreachable or timed out (no answer within its deadline, 10 s)",
    130: "interrupted (Ctrl-C); staging files removed, lock released",
    143: "terminated (SIGTERM); staging files removed, lock released",
}


def output_error(exc: OSError, path: object = None) -> OutputError:
    """An :class:`OutputError` with a one-line, actionable message for an OS write failure.

    Parameters
    ----------
    exc : OSError
        What the write raised (``errno`` decides the wording).
    path : path-like, optional
        The file or folder being written; default ``exc.filename``.
    """
    import errno

    where = str(path if path is not None else (exc.filename or "output"))
    code = getattr(exc, "errno", None)
    if code in (errno.ENOSPC, errno.EDQUOT):
        why = "disk full (no space left on the device); free some space or choose another --out"
    elif code in (errno.EACCES, errno.EPERM):
        why = "permission denied; choose a writable --out or fix the folder's permissions"
    elif code == errno.EROFS:
        why = "the file system is read-only; choose another --out"
    elif code == errno.ENAMETOOLONG:
        why = "a file name is too long for the file system; shorten the run/area name or the --out path"
    elif code in (errno.ENOTDIR, errno.EEXIST):
        why = "a file is in the way where a folder is needed; choose another --out"
    else:
        why = f"{exc.strerror or type(exc).__name__}; check the output folder"
    return OutputError(f"cannot write {where}: {why}.")

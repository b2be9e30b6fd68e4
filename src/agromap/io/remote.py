"""Remote inputs: hrefs (``https://``, ``s3://``, ``/vsicurl/``) as GDAL paths, and href signing.

GDAL reads cloud-optimised GeoTIFFs over HTTP with range requests (``/vsicurl/``) and from
object stores (``/vsis3/``, ``/vsigs/``, ``/vsiaz/``); agromap only has to turn an href into
the GDAL path and choose the HTTP settings (:mod:`agromap.io.gdal_env`). Credentials are never
stored by agromap: GDAL takes them from the environment (``AWS_ACCESS_KEY_ID``...,
``AWS_PROFILE``), and public buckets are read unsigned when none are set.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ..errors import ConfigError

__all__ = ["is_remote", "is_url", "gdal_path", "resolve_href", "s3_unsigned", "load_signer"]

_VSI_FOR_SCHEME = {"s3": "/vsis3/", "gs": "/vsigs/", "az": "/vsiaz/", "abfs": "/vsiaz/"}


def is_url(href: str | os.PathLike[str]) -> bool:
    """True for ``scheme://...`` hrefs other than ``file://`` (and never for a Windows drive)."""
    parsed = urlparse(os.fspath(href))
    return len(parsed.scheme) > 1 and parsed.scheme != "file" and "://" in os.fspath(href)


#: GDAL virtual file systems and URL schemes that reach the network (or could).
_REMOTE = re.compile(r"(^|[:\"'])(/vsi(curl|s3|gs|az|adls|oss|swift|webhdfs|hdfs|http)[a-z_]*/|[a-z][a-z0-9+.-]*://)",
                     re.IGNORECASE)


def is_remote(href: str | os.PathLike[str]) -> bool:
    """True when reading ``href`` goes over a network: a URL (``https://``, ``s3://``...) or a GDAL
    network path (``/vsicurl/``, ``/vsis3/``...), also inside a GDAL connection string such as
    ``GPKG:/vsicurl/http://host/f.gpkg:table``. ``file://`` is local.
    """
    s = os.fspath(href)
    return bool(_REMOTE.search(s)) and not s.startswith("file://")


def gdal_path(href: str | os.PathLike[str]) -> str:
    """The path GDAL opens for ``href``.

    ``https://h/a.tif`` -> ``/vsicurl/https://h/a.tif``; ``s3://b/k.tif`` -> ``/vsis3/b/k.tif``
    (``gs://``, ``az://`` alike); ``file:///x.tif`` -> ``/x.tif``; GDAL paths and local paths
    are returned unchanged.
    """
    s = os.fspath(href)
    if s.startswith("/vsi"):
        return s
    parsed = urlparse(s)
    if parsed.scheme in ("http", "https"):
        return f"/vsicurl/{s}"
    if parsed.scheme in _VSI_FOR_SCHEME:
        return f"{_VSI_FOR_SCHEME[parsed.scheme]}{parsed.netloc}{parsed.path}"
    if parsed.scheme == "file":
        return parsed.path
    return s


def resolve_href(href: str | os.PathLike[str], base: str | os.PathLike[str]) -> str:
    """``href`` made absolute against ``base`` (a folder or URL); URLs and absolute paths stay.

    A URL in a configuration file is never joined to the file's folder.
    """
    s = os.fspath(href)
    if is_remote(s) or s.startswith("/vsi"):
        return s
    if urlparse(s).scheme == "file":
        return urlparse(s).path
    b = os.fspath(base)
    if is_url(b):
        from urllib.parse import urljoin

        return urljoin(b if b.endswith("/") else b + "/", s)
    p = Path(s).expanduser()
    return str(p if p.is_absolute() else (Path(b) / p).resolve())


def s3_unsigned() -> bool:
    """Whether S3 reads go unsigned: asked for, or no credentials anywhere GDAL would look."""
    flag = os.environ.get("AWS_NO_SIGN_REQUEST")
    if flag is not None:
        return flag.upper() in ("YES", "TRUE", "1", "ON")
    if os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE"):
        return False
    creds = Path(os.environ.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")).expanduser()
    return not creds.is_file()


def load_signer(dotted: str | Callable[..., Any] | None) -> Callable[..., Any] | None:
    """A signing function from its dotted name (``"planetary_computer.sign"``) or itself.

    Catalogues such as Microsoft's Planetary Computer hand out hrefs that must be signed
    (a short-lived token appended) before they can be read; the signer is called on each
    ``pystac.Item`` before its assets are opened.
    """
    if dotted is None or callable(dotted):
        return dotted
    module, _, name = dotted.rpartition(".")
    if not module:
        raise ConfigError(f"sign: {dotted!r} is not a dotted name such as 'planetary_computer.sign'.")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"sign: cannot import {dotted!r} ({exc}); install the package that provides it "
            "(e.g. pip install planetary-computer) or remove the sign option."
        ) from None
    if not callable(fn):
        raise ConfigError(f"sign: {dotted!r} is not callable.")
    return fn

import logging
import subprocess
import sys

import agromap
from agromap._versions import versions


def test_version_is_set():
    assert agromap.__version__ != "0.0.0+unknown"


def test_show_versions_lists_gdal_proj():
    v = versions()
    for key in ("agromap", "GDAL", "PROJ", "rasterio", "xarray", "dask", "numpy"):
        assert key in v and v[key] and v[key] != "not installed"


def test_import_adds_no_handlers():
    code = ("import logging, agromap, agromap.io.loaders, agromap.pipeline.runner; "
            "print(len(logging.getLogger().handlers), len(logging.getLogger('agromap').handlers))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["0", "0"]
    assert logging.getLogger("agromap").level == logging.NOTSET

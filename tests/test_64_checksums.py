"""The input checksums' caches: an unchanged file is hashed once per machine, a changed one always again."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml

from agromap.pipeline import checksums
from agromap.pipeline.checksums import CACHE_DIR_ENV, FileHashes, machine_cache_dir
from agromap.pipeline.config import load_config
from agromap.pipeline.runner import run
from conftest import write_tif


@pytest.fixture
def machine(tmp_path, monkeypatch) -> Path:
    """This test's own machine cache folder."""
    folder = tmp_path / "machine"
    monkeypatch.setenv(CACHE_DIR_ENV, str(folder))
    return folder


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _same_size_and_mtime(path: Path, data: bytes) -> None:
    """New bytes of the same length with the old modification time: what ``cp -p`` or ``rsync -t`` leave."""
    st = path.stat()
    assert len(data) == st.st_size
    path.write_bytes(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_mtime_ns == st.st_mtime_ns


def test_a_file_is_hashed_once_per_machine_whatever_the_output_folder(tmp_path, machine):
    data = tmp_path / "in.bin"
    data.write_bytes(os.urandom(3 << 20))
    first = FileHashes(tmp_path / "out1")
    assert first.sha256(data) == _digest(data) and first.hashed == 1
    first.save()
    again = FileHashes(tmp_path / "out2")  # another folder: only the machine's cache knows the file
    assert again.sha256(data) == _digest(data) and again.hashed == 0
    written = (machine / "file-hashes.json").stat().st_ino  # a rewrite renames a new file over it
    again.save()  # learnt from the machine: the folder's own cache gets it too, the machine's is left alone
    assert (machine / "file-hashes.json").stat().st_ino == written
    assert json.loads((tmp_path / "out2" / ".agromap" / "file-hashes.json").read_text())[str(data.resolve())][
        "sha256"] == _digest(data)
    assert FileHashes(tmp_path / "out2").path.is_file()
    assert list(machine.iterdir()) == [machine / "file-hashes.json"]  # no partial file left


def test_a_file_changed_with_its_old_size_and_mtime_is_hashed_again(tmp_path, machine):
    data = tmp_path / "in.bin"
    data.write_bytes(b"a" * 4096)
    old = FileHashes(tmp_path / "out1")
    old.sha256(data)
    old.save()
    _same_size_and_mtime(data, b"b" * 4096)
    for out in ("out1", "out2"):  # the folder's cache and the machine's both hold the old hash
        fresh = FileHashes(tmp_path / out)
        assert fresh.sha256(data) == _digest(data) == hashlib.sha256(b"b" * 4096).hexdigest()
        assert fresh.hashed == 1
    # Replaced by a rename (another inode), same size and time again: hashed again too.
    other = tmp_path / "other.bin"
    other.write_bytes(b"c" * 4096)
    os.utime(other, ns=(data.stat().st_atime_ns, data.stat().st_mtime_ns))
    os.replace(other, data)
    assert FileHashes(tmp_path / "out1").sha256(data) == hashlib.sha256(b"c" * 4096).hexdigest()


def test_damaged_caches_count_as_empty(tmp_path, machine):
    data = tmp_path / "in.bin"
    data.write_bytes(b"x" * 100)
    key = str(data.resolve())
    st = data.stat()
    stamp = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns, "inode": st.st_ino,
             "device": st.st_dev}
    machine.mkdir()
    (machine / "file-hashes.json").write_text('{"' + key + '": {"size": 1')  # cut short by a crash
    (tmp_path / "out" / ".agromap").mkdir(parents=True)
    (tmp_path / "out" / ".agromap" / "file-hashes.json").write_text(json.dumps(
        {key: {**stamp, "sha256": "not a checksum"}}))
    hashes = FileHashes(tmp_path / "out")
    assert hashes.sha256(data) == _digest(data) and hashes.hashed == 1
    hashes.save()
    saved = json.loads((machine / "file-hashes.json").read_text())
    assert saved[key]["sha256"] == _digest(data) and saved[key]["inode"] == st.st_ino


def test_an_unwritable_machine_cache_is_skipped(tmp_path, monkeypatch):
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setenv(CACHE_DIR_ENV, str(blocked / "cache"))  # below a file: cannot be made
    data = tmp_path / "in.bin"
    data.write_bytes(b"y" * 10)
    hashes = FileHashes(tmp_path / "out")
    hashes.sha256(data)
    hashes.save()
    assert json.loads(hashes.path.read_text())[str(data.resolve())]["sha256"] == _digest(data)


def test_runs_saving_at_once_keep_each_others_entries(tmp_path, machine):
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(b"a")
    b.write_bytes(b"b")
    one, two = FileHashes(tmp_path / "out1"), FileHashes(tmp_path / "out2")  # both read an empty cache
    one.sha256(a)
    two.sha256(b)
    one.save()
    two.save()
    saved = json.loads((machine / "file-hashes.json").read_text())
    assert {saved[str(p.resolve())]["sha256"] for p in (a, b)} == {_digest(a), _digest(b)}


def test_the_machine_cache_keeps_the_entries_hashed_last(tmp_path, machine, monkeypatch):
    monkeypatch.setattr(checksums, "MACHINE_ENTRIES_MAX", 2)
    files = [tmp_path / f"{i}.bin" for i in range(3)]
    for i, f in enumerate(files):
        f.write_bytes(bytes([i]))
        hashes = FileHashes(tmp_path / "out")
        hashes.sha256(f)
        hashes._new[str(f.resolve())]["hashed_at"] = 1000 + i  # one second apart
        hashes.save()
    assert sorted(json.loads((machine / "file-hashes.json").read_text())) == sorted(str(f.resolve())
                                                                                    for f in files[1:])


def test_the_machine_cache_folder(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_DIR_ENV, "")
    assert machine_cache_dir() is None
    assert FileHashes(tmp_path).machine_path is None
    monkeypatch.delenv(CACHE_DIR_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert machine_cache_dir() == tmp_path / "xdg" / "agromap"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert machine_cache_dir() == tmp_path / "home" / ".cache" / "agromap"


def test_a_run_into_a_new_folder_sees_an_input_corrected_in_place(tmp_path, machine):
    """End to end: a second run into another folder finds the first run's checksums on the machine,
    but an input rewritten with its old size and mtime is hashed and computed from its new bytes."""
    red = write_tif(tmp_path / "red.tif", np.full((64, 64), 1000, np.uint16), nodata=0)
    nir = write_tif(tmp_path / "nir.tif", np.full((64, 64), 3000, np.uint16), nodata=0)
    cfg = tmp_path / "run.yaml"
    cfg.write_text(yaml.safe_dump({"version": 1, "name": "sums", "scheduler": "threads", "areas": [{
        "name": "a", "inputs": [{"kind": "files", "datetime": "2021-01-01", "bands": {"red": str(red), "nir": str(nir)}}],
        "layers": [{"product": "ndvi"}]}]}))
    first = run(load_config(cfg), tmp_path / "out1")
    saved = json.loads((machine / "file-hashes.json").read_text())
    files = {f["path"]: f["sha256"] for e in first.manifest["inputs"] for f in e["files"]}
    assert {saved[str(Path(p).resolve())]["sha256"] for p in files} == set(files.values()) == {_digest(red),
                                                                                               _digest(nir)}
    fixed = write_tif(tmp_path / "fixed.tif", np.full((64, 64), 2000, np.uint16), nodata=0)
    _same_size_and_mtime(red, fixed.read_bytes())
    second = run(load_config(cfg), tmp_path / "out2")
    files = {f["path"]: f["sha256"] for e in second.manifest["inputs"] for f in e["files"]}
    assert files[str(red)] == _digest(red) != saved[str(red.resolve())]["sha256"]
    assert second.outputs[0]["recipe"] != first.outputs[0]["recipe"]
    with rasterio.open(tmp_path / "out2" / second.outputs[0]["path"]) as src:
        assert float(src.read(1)[0, 0]) == pytest.approx((3000 - 2000) / (3000 + 2000), abs=1e-3)

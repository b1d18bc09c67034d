"""``fastrnn.io``'s ``save`` / ``load`` (the format in its docstring) on
files it wrote: round trips of every class and option that changes the
parameters (same class and config, bit-identical parameters, identical
outputs); the file itself (one zip at exactly the given path, JSON header,
one ``.npy`` per parameter, atomic replacement, permissions, links); the
registry; the variations of a valid file that load."""
import errno
import io
import os
import re
import stat
import time
import zipfile

import numpy as np
import pytest

import fastrnn as fr
from fastrnn import io as fio
from fastrnn.io import registry, saving
from fastrnn.io import load, save
from fastrnn.layers.module import Module

from helpers.saved_files import (CELL_VARIANTS, DTYPES, LAYER_VARIANTS, assert_same_module,
                                 assert_same_outputs, forged, header_json, npy_bytes, read_entries)



# ------------------------------------------------------------- round trips
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("variant", LAYER_VARIANTS, ids=[v[0] for v in LAYER_VARIANTS])
def test_layer_round_trip(tmp_path, rng, variant, dtype):
    _, cls, kwargs = variant
    layer = cls(3, 5, dtype=dtype, seed=11, **kwargs)
    path = tmp_path / "layer.frnn"
    save(layer, path)
    loaded = load(path)
    assert_same_module(layer, loaded)
    assert loaded.dtype == np.dtype(dtype)
    shape = (2, 6, 3) if layer.batch_first else (6, 2, 3)
    assert_same_outputs(layer, loaded, rng.standard_normal(shape).astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("variant", CELL_VARIANTS, ids=[v[0] for v in CELL_VARIANTS])
def test_cell_round_trip(tmp_path, rng, variant, dtype):
    _, cls, kwargs = variant
    cell = cls(4, 3, dtype=dtype, seed=5, **kwargs)
    path = tmp_path / "cell.frnn"
    save(cell, str(path))
    loaded = load(str(path))
    assert_same_module(cell, loaded)
    assert_same_outputs(cell, loaded, rng.standard_normal((2, 4)).astype(dtype))


def test_round_trip_keeps_trained_weights(tmp_path, rng):
    """Parameters changed after construction (training) are what is loaded,
    including values that are not representable in a narrower float."""
    gru = fr.GRU(2, 3, dtype="float64", seed=0)
    for arr in gru.parameters().values():
        arr[...] = rng.standard_normal(arr.shape) * 1e-300 + np.pi
    gru.parameters()["bias_hh_l0"][0] = np.nextafter(1.0, 2.0)
    path = tmp_path / "trained.frnn"
    save(gru, path)
    loaded = load(path)
    assert_same_module(gru, loaded)
    assert loaded.parameters()["bias_hh_l0"][0] == np.nextafter(1.0, 2.0)


def test_loaded_module_is_independent(tmp_path, model):
    path = tmp_path / "m.frnn"
    save(model, path)
    a, b = load(path), load(path)
    a.parameters()["weight_ih_l0"][...] = 0
    assert not np.all(b.parameters()["weight_ih_l0"] == 0)
    assert np.array_equal(b.parameters()["weight_ih_l0"], model.parameters()["weight_ih_l0"])


# ---------------------------------------------------------------- the file
@pytest.mark.parametrize("name", ["model.frnn", "model", "weights.bin", "two.dots.npz"])
@pytest.mark.parametrize("as_str", [True, False])
def test_writes_exactly_the_given_path(tmp_path, model, name, as_str):
    path = tmp_path / name
    save(model, str(path) if as_str else path)
    assert sorted(os.listdir(tmp_path)) == [name]  # no extension added, no temp file left
    assert_same_module(model, load(path if as_str else str(path)))


def test_file_layout(saved, model):
    path, entries = saved
    assert zipfile.is_zipfile(path)
    params = model.state_dict()
    assert list(entries) == ["header.json"] + [k + ".npy" for k in params]
    header = header_json(entries)
    assert header["format"] == "fastrnn" == fio.FORMAT_NAME
    # version 1 (older fastrnn reads it): nothing shared; 2 is the newest
    assert header["format_version"] == 1 and fio.FORMAT_VERSION == 2
    assert header["fastrnn_version"] == fr.__version__
    assert header["class"] == "LSTM"
    assert header["config"] == model.get_config()
    assert header["dtype"] == "float32"
    assert header["parameters"] == [{"name": k, "shape": list(v.shape), "dtype": "float32"}
                                    for k, v in params.items()]
    # numpy reads the arrays (no pickles needed)
    with np.load(path, allow_pickle=False) as npz:
        for key, arr in params.items():
            assert np.array_equal(npz[key], arr)
    assert fio.FILE_EXTENSION == ".frnn"


def test_save_is_reproducible(tmp_path, model):
    save(model, tmp_path / "a.frnn")
    time.sleep(0.01)
    save(model, tmp_path / "b.frnn")
    assert (tmp_path / "a.frnn").read_bytes() == (tmp_path / "b.frnn").read_bytes()


def test_save_replaces_atomically(tmp_path, monkeypatch):
    path = tmp_path / "m.frnn"
    first = fr.GRU(2, 3, seed=1)
    second = fr.GRU(2, 3, seed=2)
    save(first, path)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full (simulated)")

    with monkeypatch.context() as mp:
        mp.setattr(np.lib.format, "write_array", broken)
        with pytest.raises(RuntimeError, match="simulated"):
            save(second, path)
    assert path.read_bytes() == before            # old file untouched
    assert os.listdir(tmp_path) == ["m.frnn"]     # temporary file removed
    assert_same_module(first, load(path))
    save(second, path)
    assert os.listdir(tmp_path) == ["m.frnn"]
    assert_same_module(second, load(path))


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_saved_file_mode_follows_umask(tmp_path, model):
    path = tmp_path / "m.frnn"
    old = os.umask(0o027)
    try:
        save(model, path)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o640
    path.chmod(0o600)
    save(model, path)  # replacing keeps the existing file's mode
    assert path.stat().st_mode & 0o777 == 0o600


def test_save_refuses_what_it_cannot_write(tmp_path, model):
    class MyLSTM(fr.LSTM):
        pass

    with pytest.raises(TypeError, match="not a registered"):
        save(MyLSTM(2, 3), tmp_path / "sub.frnn")
    with pytest.raises(TypeError, match="not a registered"):
        save(object(), tmp_path / "obj.frnn")
    with pytest.raises(TypeError, match="path"):
        save(model, 42)
    with pytest.raises(TypeError, match="path"):
        save(model, io.BytesIO())
    with pytest.raises(IsADirectoryError):
        save(model, tmp_path)
    with pytest.raises(FileNotFoundError):
        save(model, tmp_path / "no" / "such" / "dir.frnn")
    assert os.listdir(tmp_path) == []


def test_load_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.frnn")
    with pytest.raises(TypeError, match="path"):
        load(3.5)


# --------------------------------------------------------------- registry
class Scale(Module):
    """A toy module: y = x * weight, optionally with a child GRU."""

    _config_keys = ("size", "with_child", "dtype")

    def __init__(self, size, with_child=False, dtype="float32", seed=None):
        super().__init__(dtype)
        self.size, self.with_child = size, with_child
        self._add_parameter("weight", np.random.default_rng(seed).standard_normal(size))
        if with_child:
            self._add_module("inner", fr.GRU(size, 2, dtype=dtype, seed=seed))
            self._add_module("cell", fr.LSTMCell(2, 2, dtype=dtype, seed=seed))

    def __call__(self, x):
        return x * self.parameters()["weight"]


def test_registry_lists_the_six_classes():
    reg = fio.registered_modules()
    for cls in (fr.RNN, fr.LSTM, fr.GRU, fr.RNNCell, fr.LSTMCell, fr.GRUCell):
        assert reg[cls.__name__] is cls
    reg["Evil"] = object  # a copy: the registry is not changed
    assert "Evil" not in fio.registered_modules()


def test_register_module_makes_a_class_loadable(tmp_path, isolated_registry):
    module = Scale(4, with_child=True, dtype="float64", seed=9)
    path = tmp_path / "scale.frnn"
    with pytest.raises(TypeError, match="not a registered"):
        save(module, path)
    assert fio.register_module(Scale) is Scale
    save(module, path)
    names = [p["name"] for p in header_json(read_entries(path))["parameters"]]
    assert "inner.weight_ih_l0" in names and "cell.bias_hh" in names  # dotted names
    loaded = load(path)
    assert_same_module(module, loaded)
    assert np.array_equal(loaded(np.ones(4)), module(np.ones(4)))
    # once unregistered, the same file names an unknown class
    del registry.REGISTRY["Scale"]
    with pytest.raises(ValueError, match="unknown module class 'Scale'"):
        load(path)


def test_register_module_checks_its_arguments(isolated_registry):
    with pytest.raises(TypeError):
        fio.register_module(dict)
    with pytest.raises(TypeError):
        fio.register_module(Scale(2))
    with pytest.raises(ValueError, match="already taken"):
        fio.register_module(Scale, name="LSTM")
    with pytest.raises(ValueError, match="identifier"):
        fio.register_module(Scale, name="os.system")
    fio.register_module(Scale)
    assert fio.register_module(Scale) is Scale  # idempotent
    with pytest.raises(ValueError, match="already registered"):
        fio.register_module(Scale, name="Other")
    with pytest.raises(TypeError, match="callable"):
        fio.register_module(Scale, param_shapes=3)


# -------------------------------------------- accepted variations of a file
def test_other_valid_encodings_load_bit_exact(tmp_path, saved, model):
    """Big-endian and Fortran-ordered arrays are fine (compressed entries
    are not: see the zip bomb tests)."""
    _, entries = saved
    params = model.state_dict()
    swapped = dict(entries)
    for key, arr in params.items():
        swapped[key + ".npy"] = (npy_bytes(arr.astype(">f4")) if arr.ndim == 1
                                 else npy_bytes(arr, fortran=True))
    assert swapped != entries
    assert_same_module(model, load(forged(tmp_path, swapped)))


def test_load_does_not_touch_other_files(tmp_path, saved):
    path, _ = saved
    before = sorted(os.listdir(tmp_path))
    load(path)
    assert sorted(os.listdir(tmp_path)) == before


# ------------------------------------------------------ save: where it writes
def assert_no_temporary_files(*folders):
    for folder in folders:
        assert not [n for n in os.listdir(folder) if n.endswith(".tmp")], os.listdir(folder)


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symbolic links")
def test_save_writes_through_a_symlink(tmp_path, model):
    """Like np.save: the link's target is replaced (atomically, next to it)
    and the link stays a link."""
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    target = real_dir / "m.frnn"
    save(fr.GRU(2, 3, seed=1), target)
    target.chmod(0o600)
    link = tmp_path / "link.frnn"
    link.symlink_to(target)
    save(model, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.is_file() and not target.is_symlink()
    assert target.stat().st_mode & 0o777 == 0o600  # the replaced file's mode kept
    assert_same_module(model, load(target))
    assert_same_module(load(link), load(target))
    assert sorted(os.listdir(tmp_path)) == ["link.frnn", "real"]
    assert os.listdir(real_dir) == ["m.frnn"]
    # a link to a link, and a relative link
    chain = tmp_path / "chain.frnn"
    chain.symlink_to("link.frnn")
    other = fr.GRU(2, 3, seed=7)
    save(other, chain)
    assert chain.is_symlink() and link.is_symlink()
    assert_same_module(other, load(target))


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symbolic links")
def test_save_through_a_dangling_symlink(tmp_path, model):
    """A link to a file not there yet creates it (np.save does too) when its
    folder exists, and is refused naming the user's path when it does not;
    a loop of links is refused naming the path."""
    (tmp_path / "sub").mkdir()
    link = tmp_path / "new.frnn"
    link.symlink_to(tmp_path / "sub" / "made.frnn")
    save(model, link)
    assert link.is_symlink()
    assert_same_module(model, load(tmp_path / "sub" / "made.frnn"))
    nowhere = tmp_path / "nowhere.frnn"
    nowhere.symlink_to(tmp_path / "no-such-folder" / "m.frnn")
    with pytest.raises(FileNotFoundError, match=re.escape(repr(str(nowhere))) +
                       ".*no-such-folder.* does not exist"):
        save(model, nowhere)
    loop_a, loop_b = tmp_path / "a.frnn", tmp_path / "b.frnn"
    loop_a.symlink_to(loop_b)
    loop_b.symlink_to(loop_a)
    with pytest.raises(OSError, match=re.escape(repr(str(loop_a))) + " is a loop of symbolic"):
        save(model, loop_a)
    assert loop_a.is_symlink() and loop_b.is_symlink()
    assert_no_temporary_files(tmp_path, tmp_path / "sub")


@pytest.mark.parametrize("length", [243, 250, 255])
def test_save_long_file_names(tmp_path, model, length):
    """Names up to NAME_MAX (255 bytes) save: the temporary name is short."""
    name = "m" * (length - len(".frnn")) + ".frnn"
    assert len(os.fsencode(name)) == length
    save(model, tmp_path / name)
    assert os.listdir(tmp_path) == [name]
    assert_same_module(model, load(tmp_path / name))
    too_long = tmp_path / ("m" * 256)
    with pytest.raises(OSError, match=re.escape(repr(str(too_long))) + ".*name too long"):
        save(model, too_long)
    assert os.listdir(tmp_path) == [name]


def test_save_errors_name_the_users_path(tmp_path, model, monkeypatch):
    """Every error names the path given (never the temporary file) and what
    is wrong with it."""
    def refused(path, exc_type, match):
        with pytest.raises(exc_type) as info:
            save(model, path)
        message = str(info.value)
        assert repr(str(path)) in message, message
        assert re.search(match, message), message
        assert ".tmp" not in message and ".fastrnn-" not in message, message
        assert_no_temporary_files(tmp_path)

    refused(str(tmp_path / "m.frnn") + os.sep, IsADirectoryError,
            r"must name a file.*ends in '/', which names a folder")
    refused(str(tmp_path) + os.sep, IsADirectoryError, "is a directory")
    refused(tmp_path, IsADirectoryError, "is a directory")
    refused(tmp_path / "no-such-folder" / "m.frnn", FileNotFoundError,
            r"must be in an existing folder.*does not exist")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe")
        refused(tmp_path / "pipe", FileExistsError, "is not a regular file \\(a FIFO\\)")
        assert stat.S_ISFIFO(os.stat(tmp_path / "pipe").st_mode)  # left alone
        os.unlink(tmp_path / "pipe")

    # A folder that is not writable (root writes anyway, so simulated).
    def no_permission(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / ".fastrnn-x.tmp"))

    with monkeypatch.context() as mp:
        mp.setattr(saving.tempfile, "mkstemp", no_permission)
        refused(tmp_path / "m.frnn", PermissionError,
                r"cannot create a temporary file in .*Permission denied \(the folder is not "
                r"writable\)")

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / ".fastrnn-x.tmp"))

    with monkeypatch.context() as mp:
        mp.setattr(saving.os, "fsync", full_disk)
        refused(tmp_path / "m.frnn", OSError, "cannot write it: No space left on device")
    assert os.listdir(tmp_path) == []

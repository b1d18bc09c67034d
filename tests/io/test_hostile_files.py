"""``fastrnn.load`` on files it did not write: every malformed, truncated,
forged, oversized or pickled file is refused with a ``ValueError`` naming the
problem, before anything large is allocated, and nothing in a file is ever
unpickled (a pickle payload that would create a marker file is refused and
the marker never appears)."""
import io
import json
import os
import pickle
import re
import signal
import struct
import time
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

import fastrnn as fr
from fastrnn.io import FormatError, load, loading, save, saving

from helpers.saved_files import (forged, header_json, npy_bytes, read_entries, with_header,
                                 write_entries)



# ------------------------------------------------- refusals: not our file
def test_format_error_is_a_value_error():
    assert issubclass(FormatError, ValueError)


def test_random_bytes_refused(tmp_path, rng):
    path = tmp_path / "random.frnn"
    path.write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(ValueError, match="not a zip archive"):
        load(path)
    # random bytes behind a zip signature
    path.write_bytes(b"PK\x03\x04" + rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(ValueError, match="corrupt or truncated"):
        load(path)


def test_empty_file_refused(tmp_path):
    path = tmp_path / "empty.frnn"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        load(path)


def test_pickle_file_refused(tmp_path, model):
    path = tmp_path / "model.pkl"
    with open(path, "wb") as f:
        pickle.dump(model, f)
    with pytest.raises(ValueError, match="pickle"):
        load(path)


def test_bare_npy_refused(tmp_path):
    path = tmp_path / "w.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(ValueError, match=r"\.npy"):
        load(path)


def test_truncated_files_refused(tmp_path, saved):
    path, _ = saved
    data = path.read_bytes()
    n = len(data)
    cuts = sorted({1, 4, 30, 100, 500, n // 3, n // 2, 2 * n // 3, n - 200, n - 23, n - 22,
                   n - 10, n - 1})
    for cut in cuts:
        bad = tmp_path / f"cut{cut}.frnn"
        bad.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="corrupt|truncated|not a zip|empty"):
            load(bad)


def test_corrupted_weight_bytes_refused(tmp_path, saved, model):
    path, _ = saved
    data = bytearray(path.read_bytes())
    weights = model.state_dict()["weight_hh_l1"].tobytes()
    at = data.find(weights)
    assert at > 0
    data[at + len(weights) // 2] ^= 0x40  # a flipped bit in the middle of a weight
    bad = tmp_path / "flipped.frnn"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupt"):
        load(bad)


def test_zip_without_header_refused(tmp_path, model):
    path = tmp_path / "plain.npz"
    np.savez(path, **model.state_dict())
    with pytest.raises(ValueError, match="missing header.json"):
        load(path)
    empty = write_entries(tmp_path / "empty.zip", {})
    with pytest.raises(ValueError, match="missing header.json"):
        load(empty)


# --------------------------------------------------- refusals: the header
@pytest.mark.parametrize("raw, match", [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not valid JSON"),
    (b'{"format": "fastrnn", "format": "fastrnn"}', "not valid JSON.*duplicate"),
    (b'{"format": NaN}', "not valid JSON"),
    (b"[1, 2, 3]", "JSON object"),
    (b"[" * 100000 + b"]" * 100000, "not valid JSON"),
])
def test_invalid_header_json_refused(tmp_path, saved, raw, match):
    _, entries = saved
    entries = dict(entries, **{"header.json": raw})
    with pytest.raises(ValueError, match=match):
        load(forged(tmp_path, entries))


@pytest.mark.parametrize("key, value, match", [
    ("format", "pytorch", "wrong format 'pytorch'"),
    ("format", None, "wrong format"),
    ("format_version", 3, r"unsupported format version 3; this fastrnn reads format "
                          r"versions \[1, 2\] \(written by a newer fastrnn\?\)"),
    ("format_version", 0, "unsupported format version 0"),
    ("format_version", "1", "unsupported format version '1'"),
    ("format_version", True, "unsupported format version True"),
    ("format_version", 1.0, "unsupported format version 1.0"),
    ("class", "Popen", "unknown module class 'Popen'"),
    ("class", "subprocess.Popen", "unknown module class"),
    ("class", "os.system", "unknown module class"),
    ("class", "Module", "unknown module class 'Module'"),
    ("class", "__builtins__", "unknown module class"),
    ("class", ["LSTM"], "class must be a string"),
    ("dtype", "float16", "dtype must be one of"),
    ("dtype", "object", "dtype must be one of"),
    ("config", [3, 4], "config must be a JSON object"),
    ("parameters", {}, "parameters must be a list"),
    ("fastrnn_version", 1, "fastrnn_version must be a string"),
])
def test_bad_header_fields_refused(tmp_path, saved, key, value, match):
    _, entries = saved
    header = header_json(entries)
    header[key] = value
    with pytest.raises(ValueError, match=match):
        load(forged(tmp_path, with_header(entries, header)))


def test_missing_or_unknown_header_keys_refused(tmp_path, saved):
    _, entries = saved
    header = header_json(entries)
    del header["dtype"]
    with pytest.raises(ValueError, match=r"missing key\(s\) \['dtype'\]"):
        load(forged(tmp_path, with_header(entries, header), "a.frnn"))
    header = header_json(entries)
    header["code"] = "import os"
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['code'\]"):
        load(forged(tmp_path, with_header(entries, header), "b.frnn"))
    del header["format"]
    with pytest.raises(ValueError, match="wrong format"):
        load(forged(tmp_path, with_header(entries, header), "c.frnn"))


@pytest.mark.parametrize("item, match", [
    ({"name": "weight_ih_l0", "shape": [16, 3]}, "must be an object with keys"),
    ({"name": "../../etc/passwd", "shape": [16, 3], "dtype": "float32"}, "invalid name"),
    ({"name": "weight_ih_l0", "shape": [16, -3], "dtype": "float32"}, "invalid shape"),
    ({"name": "weight_ih_l0", "shape": [16, 3.0], "dtype": "float32"}, "invalid shape"),
    ({"name": "weight_ih_l0", "shape": "16x3", "dtype": "float32"}, "invalid shape"),
    ({"name": "weight_ih_l0", "shape": [16, 3], "dtype": "float64"}, "dtype 'float64'"),
    ({"name": "weight_ih_l0", "shape": [16, 3], "dtype": "object"}, "dtype 'object'"),
])
def test_bad_parameter_list_refused(tmp_path, saved, item, match):
    _, entries = saved
    header = header_json(entries)
    header["parameters"][0] = item
    with pytest.raises(ValueError, match=match):
        load(forged(tmp_path, with_header(entries, header)))


def test_parameter_listed_twice_refused(tmp_path, saved):
    _, entries = saved
    header = header_json(entries)
    header["parameters"].append(dict(header["parameters"][0]))
    with pytest.raises(ValueError, match="listed twice"):
        load(forged(tmp_path, with_header(entries, header)))


# ---------------------------------------------------- refusals: the config
@pytest.mark.parametrize("change, match", [
    ({"evil": 1}, r"config has key\(s\) \['evil'\]"),
    ({"__class__": "x"}, r"config has key\(s\)"),
    ({"hidden_size": [[0] * 10000]}, r"config invalid.*hidden_size.*\.\.\.$"),
    ({"hidden_size": "4"}, "config invalid.*hidden_size"),
    ({"hidden_size": 4.0}, "config invalid.*hidden_size"),
    ({"num_layers": 0}, "config invalid.*num_layers"),
    ({"merge_mode": "xor"}, "config invalid.*merge_mode"),
    ({"bidirectional": "yes"}, "config invalid.*bidirectional"),
    ({"recurrent_init": "zeros"}, "config invalid.*recurrent_init"),
    ({"forget_bias": "1"}, "config invalid.*forget_bias"),
    ({"dtype": "float64"}, "config dtype 'float64' does not match"),
    ({"hidden_size": 5}, "do not match.*shape mismatch"),
    ({"num_layers": 3}, r"do not match.*missing parameter\(s\)"),
    ({"bidirectional": False}, r"do not match.*extra parameter\(s\)"),
    ({"merge_mode": "sum"}, "do not match.*weight_ih_l1"),
    ({"bias": False}, r"do not match.*extra parameter\(s\).*bias"),
])
def test_bad_config_refused(tmp_path, saved, change, match):
    _, entries = saved
    header = header_json(entries)
    header["config"].update(change)
    with pytest.raises(ValueError, match=match):
        load(forged(tmp_path, with_header(entries, header)))


def test_config_missing_required_key_refused(tmp_path, saved):
    _, entries = saved
    header = header_json(entries)
    del header["config"]["input_size"]
    with pytest.raises(ValueError, match="config invalid.*input_size"):
        load(forged(tmp_path, with_header(entries, header)))


def test_config_missing_dtype_uses_default_and_is_checked(tmp_path):
    """A config without dtype builds float32: refused for a float64 file."""
    gru = fr.GRU(2, 3, dtype="float64")
    save(gru, tmp_path / "g.frnn")
    entries = read_entries(tmp_path / "g.frnn")
    header = header_json(entries)
    del header["config"]["dtype"]
    with pytest.raises(ValueError, match="dtype float32; the file's dtype is float64"):
        load(forged(tmp_path, with_header(entries, header)))


@pytest.mark.parametrize("change", [{"hidden_size": 10**6}, {"input_size": 10**9},
                                    {"num_layers": 10**9}, {"hidden_size": 2**62}])
def test_forged_huge_config_refused_before_building(tmp_path, saved, change):
    """A config that would allocate terabytes is refused from the header alone."""
    _, entries = saved
    header = header_json(entries)
    header["config"].update(change)
    start = time.perf_counter()
    with pytest.raises(ValueError, match="do not match"):
        load(forged(tmp_path, with_header(entries, header)))
    assert time.perf_counter() - start < 2.0


# ------------------------------------------------ refusals: the parameters
class MarkerPayload:
    """Unpickling this creates the file at ``path`` (via builtins ``open``)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_marker_payload_is_live(tmp_path):
    """The payload used below really runs code when unpickled (else the
    refusal test would prove nothing)."""
    marker = tmp_path / "proof"
    pickle.loads(pickle.dumps(MarkerPayload(marker))).close()
    assert marker.exists()
    marker.unlink()
    arr = np.empty(1, dtype=object)
    arr[0] = MarkerPayload(marker)
    np.load(io.BytesIO(npy_bytes(arr, allow_pickle=True)), allow_pickle=True)[0].close()
    assert marker.exists()


@pytest.mark.parametrize("shape", [(1,), (16, 3)])
def test_pickled_object_array_refused_without_running_code(tmp_path, saved, shape):
    _, entries = saved
    marker = tmp_path / "PWNED"
    payload = np.empty(shape, dtype=object)
    payload.flat[0] = MarkerPayload(marker)
    bad = dict(entries)
    bad["weight_ih_l0.npy"] = npy_bytes(payload, allow_pickle=True)
    with pytest.raises(ValueError, match="pickled object array"):
        load(forged(tmp_path, bad))
    assert not marker.exists()
    # also as np.savez writes it, with the header declaring an object dtype
    header = header_json(entries)
    header["parameters"][0]["dtype"] = "object"
    with pytest.raises(ValueError):
        load(forged(tmp_path, with_header(bad, header), "b.frnn"))
    assert not marker.exists()


def test_pickled_header_entry_refused_without_running_code(tmp_path, saved):
    _, entries = saved
    marker = tmp_path / "PWNED"
    bad = dict(entries, **{"header.json": pickle.dumps(MarkerPayload(marker))})
    with pytest.raises(ValueError, match="header.json is not valid JSON"):
        load(forged(tmp_path, bad))
    assert not marker.exists()


def test_extra_entries_refused(tmp_path, saved):
    _, entries = saved
    for i, (name, data) in enumerate([("extra.npy", npy_bytes(np.zeros(3, np.float32))),
                                      ("notes.txt", b"hello"), ("dir/", b""),
                                      ("__MACOSX/._header.json", b"x")]):
        with pytest.raises(ValueError, match="unexpected extra entr"):
            load(forged(tmp_path, dict(entries, **{name: data}), f"x{i}.frnn"))


def test_extra_parameter_refused(tmp_path, saved):
    """Listed in the header and present, but not a parameter of the module."""
    _, entries = saved
    header = header_json(entries)
    header["parameters"].append({"name": "backdoor", "shape": [3], "dtype": "float32"})
    bad = with_header(entries, header)
    bad["backdoor.npy"] = npy_bytes(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match=r"extra parameter\(s\) \['backdoor'\]"):
        load(forged(tmp_path, bad))


def test_missing_parameter_refused(tmp_path, saved):
    _, entries = saved
    # entry gone, header still lists it
    bad = {k: v for k, v in entries.items() if k != "weight_hh_l0.npy"}
    with pytest.raises(ValueError, match=r"missing parameter entr.*weight_hh_l0\.npy"):
        load(forged(tmp_path, bad, "a.frnn"))
    # gone from both: the module needs it
    header = header_json(entries)
    header["parameters"] = [p for p in header["parameters"] if p["name"] != "weight_hh_l0"]
    with pytest.raises(ValueError, match=r"missing parameter\(s\) \['weight_hh_l0'\]"):
        load(forged(tmp_path, with_header(bad, header), "b.frnn"))


def test_duplicate_entries_refused(tmp_path, saved):
    _, entries = saved
    pairs = list(entries.items()) + [("weight_ih_l0.npy", entries["weight_ih_l0.npy"])]
    with pytest.raises(ValueError, match="duplicate entries"):
        load(forged(tmp_path, pairs))


def test_wrong_shapes_refused(tmp_path, saved, model):
    _, entries = saved
    w = model.state_dict()["weight_ih_l0"]           # (16, 3)
    cases = [np.zeros((16, 4), np.float32),            # more data
             np.zeros((16,), np.float32),              # other rank
             np.ascontiguousarray(w.T)]                # same bytes, transposed shape
    for i, arr in enumerate(cases):
        bad = dict(entries, **{"weight_ih_l0.npy": npy_bytes(arr)})
        with pytest.raises(ValueError, match=r"shape \(\d+,( \d+)?\) in its entry; the header "
                                             r"says \(16, 3\)"):
            load(forged(tmp_path, bad, f"e{i}.frnn"))
    # header and entry agree with each other, but not with the config
    header = header_json(entries)
    header["parameters"][0]["shape"] = [16, 4]
    bad = with_header(entries, header)
    bad["weight_ih_l0.npy"] = npy_bytes(np.zeros((16, 4), np.float32))
    with pytest.raises(ValueError, match=r"shape mismatch weight_ih_l0: file \(16, 4\)"):
        load(forged(tmp_path, bad, "h.frnn"))


@pytest.mark.parametrize("dtype", ["int32", "uint32", "float64", "float16", "complex64",
                                   "bool", "U1", "S4", "V4", [("a", "<f4")]])
def test_wrong_entry_dtype_refused(tmp_path, saved, dtype):
    _, entries = saved
    bad = dict(entries, **{"weight_ih_l0.npy": npy_bytes(np.zeros((16, 3), dtype=dtype))})
    with pytest.raises(ValueError, match="has dtype .*expected float32"):
        load(forged(tmp_path, bad))


def test_entry_with_trailing_or_missing_data_refused(tmp_path, saved):
    _, entries = saved
    good = entries["weight_ih_l0.npy"]
    for i, data in enumerate([good + b"\x00" * 4, good[:-4], good[:20]]):
        bad = dict(entries, **{"weight_ih_l0.npy": data})
        with pytest.raises(ValueError, match="corrupt or truncated"):
            load(forged(tmp_path, bad, f"t{i}.frnn"))


def test_entry_with_bad_npy_header_refused(tmp_path, saved):
    _, entries = saved
    good = entries["weight_ih_l0.npy"]
    for i, data in enumerate([b"\x93NUMPY\x09\x00" + good[8:],       # unknown npy version
                              b"NOTNUMPY" + good[8:],                 # bad magic
                              good.replace(b"'descr'", b"'d'", 1)]):  # bad header dict
        bad = dict(entries, **{"weight_ih_l0.npy": data})
        with pytest.raises(ValueError, match="npy|corrupt"):
            load(forged(tmp_path, bad, f"n{i}.frnn"))


# ------------------------------------------------------ refusals: zip bombs
def stored_zip(records):
    """The bytes of a zip of stored entries written by hand: ``records`` are
    ``(name, data, offset)``, ``offset`` None for "next in the file", or an
    offset INSIDE earlier data (an entry nested in another's bytes, which
    zipfile reads).  Returns ``(bytes, {name: offset})``."""
    out, offsets = b"", {}
    for name, data, offset in records:
        raw = name.encode()
        local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0x21,
                            zlib.crc32(data), len(data), len(data), len(raw), 0) + raw + data
        if offset is None:
            offsets[name] = len(out)
            out += local
        else:
            assert out[offset:offset + len(local)] == local  # nested for real
            offsets[name] = offset
    central = b""
    for name, data, _ in records:
        raw = name.encode()
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21,
                               zlib.crc32(data), len(data), len(data), len(raw), 0, 0, 0, 0,
                               0, offsets[name]) + raw
    n = len(records)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n, n, len(central), len(out), 0)
    return out + central + end, offsets


def lstm_header(hidden):
    """The header of a float32 LSTM(hidden, hidden) and its parameter shapes."""
    G = 4 * hidden
    shapes = {"weight_ih_l0": (G, hidden), "weight_hh_l0": (G, hidden),
              "bias_ih_l0": (G,), "bias_hh_l0": (G,)}
    header = {"format": "fastrnn", "format_version": 1, "fastrnn_version": fr.__version__,
              "class": "LSTM", "config": {"input_size": hidden, "hidden_size": hidden},
              "dtype": "float32",
              "parameters": [{"name": k, "shape": list(v), "dtype": "float32"}
                             for k, v in shapes.items()]}
    return header, shapes


def write_deflated_bomb(path, hidden, header_compression=zipfile.ZIP_STORED):
    """A file of an all-zero LSTM(hidden, hidden) whose weights are deflated:
    32 * hidden**2 bytes of parameters in a file a thousand times smaller."""
    header, shapes = lstm_header(hidden)
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("header.json"), json.dumps(header).encode(),
                    compress_type=header_compression)
        for name, shape in shapes.items():
            info = zipfile.ZipInfo(name + ".npy")
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w") as out:
                np.lib.format.write_array_header_1_0(
                    out, {"descr": "<f4", "fortran_order": False, "shape": shape})
                left = 4 * int(np.prod(shape))
                while left:
                    out.write(chunk[:left])
                    left -= min(left, len(chunk))
    return path


def refused_within(path, match, peak_bytes):
    """``load(path)`` raises FormatError matching ``match`` with at most
    ``peak_bytes`` allocated meanwhile (tracemalloc: numpy reports to it)."""
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match=match):
            load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < peak_bytes, peak


def test_deflated_bomb_refused_before_anything_is_read(tmp_path):
    """A 32 KiB file declaring a 32 MiB LSTM: refused from the zip directory
    alone, naming the entry, what was expected and what was got, without
    allocating the arrays (nor the module)."""
    path = write_deflated_bomb(tmp_path / "bomb.frnn", 1024)
    assert path.stat().st_size < (1 << 20) // 4
    start = time.perf_counter()
    refused_within(path, r"entry 'weight_ih_l0\.npy' is compressed: expected compression "
                         r"method 0 \(stored\), got 8 \(deflated\)", 2 << 20)
    assert time.perf_counter() - start < 1.0


def test_deflated_header_refused(tmp_path, saved):
    """The header cannot be a bomb either (nor any entry of a valid file
    deflated after the fact: save never compresses)."""
    path = write_deflated_bomb(tmp_path / "h.frnn", 8, header_compression=zipfile.ZIP_DEFLATED)
    with pytest.raises(FormatError, match=r"entry 'header\.json' is compressed"):
        load(path)
    padded = b"{" + b" " * (64 << 20) + b"}"  # 64 MiB of JSON in a few KiB
    _, entries = saved
    bomb = write_entries(tmp_path / "pad.frnn", dict(entries, **{"header.json": padded}),
                         zipfile.ZIP_DEFLATED)
    assert bomb.stat().st_size < (1 << 20)
    with pytest.raises(FormatError, match=r"entry 'header\.json' is compressed"):
        load(bomb)
    deflated = write_entries(tmp_path / "deflated.frnn", entries, zipfile.ZIP_DEFLATED)
    with pytest.raises(FormatError, match="is compressed.*never compressed"):
        load(deflated)


def test_overlapping_entries_refused(tmp_path):
    """Stored entries nested in one another's bytes (each claiming the same
    data, the non-compressed zip bomb) are refused before any is read."""
    inner = b"\x00" * 4096
    alone, _ = stored_zip([("b.npy", inner, None)])
    b_local = alone[:alone.index(b"PK\x01\x02")]
    outer = b"\x01" * 8 + b_local
    data, offsets = stored_zip([("a.npy", outer, None), ("header.json", b"{}", None),
                                ("b.npy", inner, 30 + len("a.npy") + 8)])
    path = tmp_path / "overlap.frnn"
    path.write_bytes(data)
    with zipfile.ZipFile(path) as zf:  # a real forgery: zipfile reads both
        assert zf.read("b.npy") == inner and zf.read("a.npy") == outer
    with pytest.raises(FormatError, match="entries overlap: they claim at least"):
        load(path)


def test_too_many_entries_refused_before_the_directory_is_parsed(tmp_path):
    """A zip64 end record listing ten million entries is refused from the
    end record, before zipfile builds an object per entry."""
    body, _ = stored_zip([("header.json", b"{}", None)])
    body = body[:body.index(b"PK\x05\x06")]
    count = 10 ** 7
    zip64 = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count,
                        len(body), 0)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, len(body), 1)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF,
                      0xFFFFFFFF, 0)
    path = tmp_path / "many.frnn"
    path.write_bytes(body + zip64 + locator + end)
    with pytest.raises(FormatError, match=f"lists {count} entries; a fastrnn model file has "
                                          f"at most 65536"):
        load(path)


def test_oversized_zip_directory_refused_before_it_is_parsed(tmp_path):
    """170000 directory records (9 MB, all naming one local entry) would
    cost zipfile some 85 MB of objects: refused from the end record."""
    body, _ = stored_zip([("header.json", b"{}", None)])
    record = body[body.index(b"PK\x01\x02"):body.index(b"PK\x05\x06")]
    directory = record * 170000
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, len(directory),
                      body.index(b"PK\x01\x02"), 0)
    path = tmp_path / "wide.frnn"
    path.write_bytes(body[:body.index(b"PK\x01\x02")] + directory + end)
    del directory
    refused_within(path, f"directory is {len(record) * 170000} bytes; a fastrnn model "
                         f"file's is at most {8 << 20}", 4 << 20)


def test_save_refuses_what_the_directory_bound_would_refuse(tmp_path, monkeypatch):
    monkeypatch.setattr(saving, "MAX_DIRECTORY_BYTES", 300)   # the bound save applies
    with pytest.raises(ValueError, match="zip directory of 441 bytes; a file.s is at most 300"):
        save(fr.LSTM(2, 2), tmp_path / "m.frnn")
    assert os.listdir(tmp_path) == []


def test_too_many_parameters_in_header_refused(tmp_path, saved):
    _, entries = saved
    header = header_json(entries)
    header["parameters"] = [0] * 65536
    with pytest.raises(FormatError, match="parameters lists 65536 items; a file holds at "
                                          "most 65535"):
        load(forged(tmp_path, with_header(entries, header)))


def test_deeply_nested_header_value_refused(tmp_path, saved):
    """A config value nested hundreds deep (under the JSON parser's own
    limit) is refused, not left to recurse in messages and checks."""
    _, entries = saved
    header = header_json(entries)
    header["config"]["input_size"] = json.loads("[" * 500 + "]" * 500)
    with pytest.raises(FormatError, match=r"nests more than 64 levels deep"):
        load(forged(tmp_path, with_header(entries, header)))


def test_entry_changed_while_read_refused_without_allocating(tmp_path, monkeypatch):
    """An entry whose .npy header is rewritten in place after the checks
    (a file changing while it is read) is refused: the data is read into an
    array of the CHECKED shape, never one the new header asks for.  (The
    entry is larger than zipfile's first read, so the header is compared
    before the CRC at the end of the entry could tell.)"""
    path = tmp_path / "linear.frnn"
    save(fr.Linear(64, 64, seed=0), path)
    data = path.read_bytes()
    match = re.search(rb"\(64, 64\), \} +\n", data)
    forged_shape = b"(999999999999, 64), }"
    patch = forged_shape + b" " * (len(match.group()) - len(forged_shape) - 1) + b"\n"
    real_build = loading._build

    def build_then_rewrite(*args, **kwargs):
        module = real_build(*args, **kwargs)
        with open(path, "r+b") as f:  # in place: the open descriptor sees it
            f.seek(match.start())
            f.write(patch)
        return module

    monkeypatch.setattr(loading, "_build", build_then_rewrite)
    refused_within(path, r"entry 'weight\.npy' changed while the file was read \(its header "
                         r"now says shape \(999999999999, 64\)", 1 << 20)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_load_refuses_what_is_not_a_regular_file(tmp_path):
    """A FIFO is refused at once (opening it must not wait for a writer), a
    folder with IsADirectoryError naming it."""
    fifo = tmp_path / "pipe.frnn"
    os.mkfifo(fifo)
    def hung(*args):
        raise TimeoutError("load(FIFO) waited for a writer")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(10)  # a hang fails the test instead of the run
    try:
        with pytest.raises(FormatError, match="it is a FIFO, not a regular file"):
            load(fifo)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    with pytest.raises(IsADirectoryError, match=re.escape(str(tmp_path))):
        load(tmp_path)

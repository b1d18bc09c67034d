"""``fr.save`` / ``fr.load`` of ``fr.Sequential`` (a container: its config in
the file lists its children's classes and configs).

* round trips: same classes and configs at every level, bit-identical
  parameters, identical outputs, in float32 and float64, nested Sequentials;
* refusals: a forged child (unknown class, bad config, huge sizes, too many
  or too deeply nested children, parameters that do not match) is refused
  with a ``FormatError`` before anything is built;
* save refuses what load could not rebuild (unregistered children, nesting
  beyond the bound), naming the child.
"""
import time
import tracemalloc

import numpy as np
import pytest

import fastrnn as fr
from fastrnn.io import FormatError, load, save

from helpers.saved_files import (assert_same_module, assert_same_outputs, header_json, npy_bytes,
                     read_entries, with_header, write_entries)

DTYPES = ["float32", "float64"]
MAX_DEPTH, MAX_MODULES = 16, 1024


def make_model(dtype, seed=0):
    """Embedding -> bidirectional LSTM -> Dropout -> Linear (ids in, logits out).

    The Dropout keeps its default float32 dtype: a parameter-free child may
    differ from the stream's dtype."""
    return fr.Sequential(fr.Embedding(10, 4, padding_idx=0, dtype=dtype, seed=seed),
                         fr.LSTM(4, 5, num_layers=2, bidirectional=True, dtype=dtype,
                                 seed=seed + 1),
                         fr.Dropout(0.25),
                         fr.Linear(10, 3, dtype=dtype, seed=seed + 2))


def nested(depth, leaf):
    """``leaf`` inside ``depth`` Sequentials."""
    module = leaf
    for _ in range(depth):
        module = fr.Sequential(module)
    return module


def tree(module):
    """(class, config) of a module, a Sequential's children in place of its config."""
    if isinstance(module, fr.Sequential):
        return fr.Sequential, [tree(child) for child in module]
    return type(module), module.get_config()


def assert_same_tree(a, b):
    assert tree(a) == tree(b)
    assert_same_module(a, b)  # class, bit-identical parameters with the same names


@pytest.fixture
def saved(tmp_path):
    """A valid file of ``make_model("float32")`` and its entries."""
    path = tmp_path / "seq.frnn"
    save(make_model("float32"), path)
    return path, read_entries(path)


def load_forged(tmp_path, entries, header=None):
    """``load`` of a zip holding ``entries``, with ``header`` as header.json if given."""
    if header is not None:
        entries = with_header(entries, header)
    return load(write_entries(tmp_path / "forged.frnn", entries))


def header_only(header):
    """The entries of a file of ``header`` alone (no ``.npy`` entries)."""
    return with_header({}, header)


def container_header(config):
    """The header of a float32 Sequential without parameters."""
    return {"format": "fastrnn", "format_version": 1, "fastrnn_version": fr.__version__,
            "class": "Sequential", "config": config, "dtype": "float32", "parameters": []}


# ------------------------------------------------------------- round trips
@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip(tmp_path, dtype):
    model = make_model(dtype)
    for arr in model.parameters().values():  # "trained" weights, not the seeded init
        arr += np.linspace(-1, 1, arr.size, dtype=arr.dtype).reshape(arr.shape)
    path = tmp_path / "seq.frnn"
    save(model, path)
    loaded = load(path)
    assert_same_tree(model, loaded)
    assert loaded.dtype == np.dtype(dtype) and len(loaded) == 4
    ids = np.array([[1, 2], [3, 0], [9, 4]])  # (T, B)
    assert_same_outputs(model, loaded, ids)
    loaded.parameters()["3.weight"][...] = 0  # an independent copy
    assert not np.all(model.parameters()["3.weight"] == 0)


def test_file_layout(saved):
    path, entries = saved
    model = make_model("float32")
    header = header_json(entries)
    assert header["class"] == "Sequential" and header["dtype"] == "float32"
    assert header["config"] == {"modules": [
        {"class": "Embedding", "config": model[0].get_config()},
        {"class": "LSTM", "config": model[1].get_config()},
        {"class": "Dropout", "config": {"p": 0.25, "dtype": "float32"}},
        {"class": "Linear", "config": model[3].get_config()},
    ]}
    names = [p["name"] for p in header["parameters"]]
    assert names == list(model.parameters())
    assert names[0] == "0.weight" and "1.weight_hh_l1_reverse" in names
    assert names[-2:] == ["3.weight", "3.bias"]
    assert list(entries) == ["header.json"] + [n + ".npy" for n in names]


def test_nested_round_trip(tmp_path, rng):
    model = fr.Sequential(
        fr.Linear(3, 4, dtype="float64", seed=0),
        fr.Sequential(fr.GRU(4, 4, dtype="float64", seed=1),
                      fr.Sequential(fr.Dropout(0.1), fr.Linear(4, 4, dtype="float64", seed=2))),
        fr.Linear(4, 2, bias=False, dtype="float64", seed=3))
    path = tmp_path / "nested.frnn"
    save(model, path)
    config = header_json(read_entries(path))["config"]
    assert config["modules"][1]["config"]["modules"][1]["class"] == "Sequential"
    loaded = load(path)
    assert_same_tree(model, loaded)
    assert "1.1.1.weight" in loaded.parameters()
    assert_same_outputs(model, loaded, rng.standard_normal((5, 2, 3)))


def test_nesting_up_to_the_bound_round_trips(tmp_path):
    model = nested(MAX_DEPTH, fr.Linear(2, 2, seed=0))
    path = tmp_path / "deep.frnn"
    save(model, path)
    assert_same_tree(model, load(path))
    assert "0." * MAX_DEPTH + "weight" in model.parameters()


def test_parameter_free_sequential_round_trips(tmp_path):
    model = fr.Sequential(fr.Dropout(0.5, dtype="float64"), fr.Dropout(0.0))
    save(model, tmp_path / "d.frnn")
    assert_same_tree(model, load(tmp_path / "d.frnn"))


# ---------------------------------------------------------------- saving
def test_save_refuses_unregistered_child(tmp_path):
    class MyLinear(fr.Linear):
        pass

    for model, child in [
            (fr.Sequential(fr.Linear(2, 2), MyLinear(2, 2)), r"child '1' \(MyLinear\)"),
            (fr.Sequential(fr.Dropout(), fr.Sequential(MyLinear(2, 2))),
             r"child '1\.0' \(MyLinear\)")]:
        with pytest.raises(TypeError, match=child + " is not a registered"):
            save(model, tmp_path / "m.frnn")
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_save_refuses_what_load_would_refuse(tmp_path):
    with pytest.raises(ValueError, match=f"nest more than {MAX_DEPTH} deep"):
        save(nested(MAX_DEPTH + 1, fr.Dropout()), tmp_path / "deep.frnn")
    with pytest.raises(ValueError, match=f"more than {MAX_MODULES} modules"):
        save(fr.Sequential(*[fr.Dropout() for _ in range(MAX_MODULES + 1)]),
             tmp_path / "wide.frnn")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------- refusals: children
def child_config(header, index):
    return header["config"]["modules"][index]


@pytest.mark.parametrize("name, match", [
    ("Popen", "unknown module class 'Popen' \\(child '1'\\)"),
    ("os.system", "unknown module class 'os.system' \\(child '1'\\)"),
    ("Module", "unknown module class 'Module' \\(child '1'\\)"),
    ("__builtins__", "unknown module class"),
])
def test_unknown_child_class_refused(tmp_path, saved, name, match):
    _, entries = saved
    header = header_json(entries)
    child_config(header, 1)["class"] = name
    with pytest.raises(FormatError, match=match):
        load_forged(tmp_path, entries, header)


def test_unknown_nested_child_class_refused(tmp_path):
    header = container_header({"modules": [{"class": "Sequential", "config": {"modules": [
        {"class": "Dropout", "config": {}},
        {"class": "subprocess.Popen", "config": {"args": "touch PWNED"}}]}}]})
    with pytest.raises(FormatError, match="unknown module class 'subprocess.Popen' "
                                          "\\(child '0.1'\\)"):
        load_forged(tmp_path, header_only(header))


@pytest.mark.parametrize("change, match", [
    ({"evil": 1}, r"config has key\(s\) \['evil'\] that LSTM \(child '1'\) does not accept"),
    ({"__class__": "x"}, r"config has key\(s\)"),
    ({"hidden_size": "5"}, r"config invalid for LSTM \(child '1'\).*hidden_size"),
    ({"num_layers": 0}, r"config invalid for LSTM \(child '1'\).*num_layers"),
    ({"hidden_size": 6}, r"do not match what LSTM \(child '1'\) builds.*shape mismatch"),
    ({"bidirectional": False}, r"do not match.*extra parameter\(s\).*1\.weight_ih_l0_reverse"),
    ({"num_layers": 3}, r"do not match.*missing parameter\(s\).*1\.weight_ih_l2"),
    # a child with parameters must have the file's dtype
    ({"dtype": "float64"}, "share one dtype"),
])
def test_bad_child_config_refused(tmp_path, saved, change, match):
    _, entries = saved
    header = header_json(entries)
    child_config(header, 1)["config"].update(change)
    with pytest.raises(FormatError, match=match):
        load_forged(tmp_path, entries, header)


@pytest.mark.parametrize("config, match", [
    ({}, "config of Sequential must be an object with the one key 'modules'"),
    ({"modules": {"0": {}}}, "one key 'modules', a list"),
    ({"modules": [], "evil": 1}, "one key 'modules'"),
    ({"modules": ["Dropout"]}, "child '0' of Sequential must be an object"),
    ({"modules": [{"class": "Dropout"}]}, "child '0' of Sequential must be an object"),
    ({"modules": [{"class": "Dropout", "config": []}]}, "child '0'.*must be an object"),
    ({"modules": [{"class": ["Dropout"], "config": {}}]}, "child '0'.*must be an object"),
    ({"modules": [{"class": "Dropout", "config": {}, "code": "x"}]}, "must be an object"),
])
def test_malformed_container_config_refused(tmp_path, saved, config, match):
    _, entries = saved
    header = header_json(entries)
    header["config"] = config
    with pytest.raises(FormatError, match=match):
        load_forged(tmp_path, entries, header)


def test_children_with_another_dtype_refused(tmp_path, saved):
    """Every child with parameters in float64, in a float32 file."""
    _, entries = saved
    header = header_json(entries)
    for index in (0, 1, 3):
        child_config(header, index)["config"]["dtype"] = "float64"
    with pytest.raises(FormatError, match="the Sequential built from the config has dtype "
                                          "float64; the file's dtype is float32"):
        load_forged(tmp_path, entries, header)


def test_empty_container_refused(tmp_path):
    with pytest.raises(FormatError, match="config invalid for Sequential.*at least one module"):
        load_forged(tmp_path, header_only(container_header({"modules": []})))


@pytest.mark.parametrize("change", [{"hidden_size": 10**6}, {"input_size": 10**9},
                                    {"num_layers": 10**9}, {"hidden_size": 2**62}])
def test_forged_huge_child_refused_before_building(tmp_path, saved, change):
    """A child config that would allocate terabytes is refused from the header
    alone: quickly, and without allocating (numpy reports to tracemalloc)."""
    _, entries = saved
    header = header_json(entries)
    child_config(header, 1)["config"].update(change)
    path = write_entries(tmp_path / "huge.frnn", with_header(entries, header))
    start = time.perf_counter()
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match="do not match what LSTM \\(child '1'\\) builds"):
            load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 2.0
    assert peak < 4 << 20


def test_forged_huge_nested_child_refused_before_building(tmp_path, saved):
    """The same with the forged layer one level down, in a Sequential of its own."""
    _, entries = saved
    header = header_json(entries)
    lstm = child_config(header, 1)
    lstm["config"]["hidden_size"] = 10**6
    header["config"]["modules"][1] = {"class": "Sequential", "config": {"modules": [lstm]}}
    entries = dict(entries)
    for param in header["parameters"]:  # "1.weight_ih_l0" -> "1.0.weight_ih_l0"
        if param["name"].startswith("1."):
            entries["1.0." + param["name"][2:] + ".npy"] = entries.pop(param["name"] + ".npy")
            param["name"] = "1.0." + param["name"][2:]
    start = time.perf_counter()
    with pytest.raises(FormatError, match="do not match what LSTM \\(child '1.0'\\) builds"):
        load_forged(tmp_path, entries, header)
    assert time.perf_counter() - start < 2.0


def test_too_many_children_refused(tmp_path):
    many = {"modules": [{"class": "Dropout", "config": {}}] * (MAX_MODULES + 1)}
    start = time.perf_counter()
    with pytest.raises(FormatError, match=f"more than {MAX_MODULES} modules in all"):
        load_forged(tmp_path, header_only(container_header(many)))
    # the bound counts every level: 33 Sequentials of 32 Dropouts hold 33 * 33 modules
    inner = {"class": "Sequential",
             "config": {"modules": [{"class": "Dropout", "config": {}}] * 32}}
    wide = {"modules": [inner] * 33}
    with pytest.raises(FormatError, match=f"more than {MAX_MODULES} modules in all"):
        load_forged(tmp_path, header_only(container_header(wide)))
    assert time.perf_counter() - start < 2.0
    # exactly the bound is fine
    exact = {"modules": [{"class": "Dropout", "config": {}}] * MAX_MODULES}
    assert len(load_forged(tmp_path, header_only(container_header(exact)))) == MAX_MODULES


def test_too_deep_nesting_refused(tmp_path):
    config = {"modules": [{"class": "Dropout", "config": {}}]}
    for _ in range(MAX_DEPTH):
        config = {"modules": [{"class": "Sequential", "config": config}]}
    with pytest.raises(FormatError, match=f"nest more than {MAX_DEPTH} deep"):
        load_forged(tmp_path, header_only(container_header(config)))
    # one level less loads
    assert isinstance(
        load_forged(tmp_path, header_only(container_header(config["modules"][0]["config"]))),
        fr.Sequential)


# --------------------------------------------------- refusals: parameters
def add_parameter(entries, header, name, arr):
    header["parameters"].append({"name": name, "shape": list(arr.shape),
                                 "dtype": arr.dtype.name})
    return dict(with_header(entries, header), **{name + ".npy": npy_bytes(arr)})


@pytest.mark.parametrize("name", ["weight", "4.weight", "01.weight", "1", "9.0.bias"])
def test_parameter_outside_the_children_refused(tmp_path, saved, name):
    """The Sequential itself owns none; children are named "0".."3" exactly."""
    _, entries = saved
    header = header_json(entries)
    bad = add_parameter(entries, header, name, np.zeros(3, np.float32))
    with pytest.raises(FormatError, match=rf"extra parameter\(s\) \['{name}'\]"):
        load_forged(tmp_path, bad)


def test_parameter_list_mismatch_refused(tmp_path, saved):
    _, entries = saved
    # a child's parameter left out of the file
    header = header_json(entries)
    header["parameters"] = [p for p in header["parameters"] if p["name"] != "3.bias"]
    bad = {k: v for k, v in with_header(entries, header).items() if k != "3.bias.npy"}
    with pytest.raises(FormatError, match=r"missing parameter\(s\) \['3\.bias'\]"):
        load_forged(tmp_path, bad)
    # an extra parameter under a real child
    header = header_json(entries)
    bad = add_parameter(entries, header, "3.backdoor", np.zeros(3, np.float32))
    with pytest.raises(FormatError, match=r"extra parameter\(s\) \['3\.backdoor'\]"):
        load_forged(tmp_path, bad)
    # children swapped: the parameters no longer match their names
    header = header_json(entries)
    modules = header["config"]["modules"]
    modules[0], modules[3] = modules[3], modules[0]
    with pytest.raises(FormatError, match="do not match"):
        load_forged(tmp_path, entries, header)
    # the parameter-free child given a parameter
    header = header_json(entries)
    bad = add_parameter(entries, header, "2.weight", np.zeros(3, np.float32))
    with pytest.raises(FormatError, match=r"do not match what Dropout \(child '2'\) builds"):
        load_forged(tmp_path, bad)


# ------------------------------------------------- shared modules (tied weights)
def sgd_step(model, x, lr=0.1):
    """One SGD step on the sum of the outputs."""
    model.zero_grad()
    y, backprop = model.forward_train(x)
    backprop(np.ones_like(y))
    fr.optim.SGD(model, lr=lr).step()


def test_shared_module_round_trips_tied(tmp_path, rng):
    """A module object in several places (tied weights) is stored once and
    comes back as one object in each place, tied through training, like
    torch.save; the file says format version 2."""
    tied = fr.Linear(4, 4, dtype="float64", seed=0)
    model = fr.Sequential(tied, fr.Linear(4, 4, dtype="float64", seed=1), tied)
    path = tmp_path / "tied.frnn"
    save(model, path)
    entries = read_entries(path)
    header = header_json(entries)
    assert header["format_version"] == 2
    assert header["config"]["modules"][2] == {"same_as": "0"}
    assert [p["name"] for p in header["parameters"]] == ["0.weight", "0.bias", "1.weight",
                                                         "1.bias"]
    assert list(entries) == ["header.json", "0.weight.npy", "0.bias.npy", "1.weight.npy",
                             "1.bias.npy"]
    loaded = load(path)
    assert loaded[0] is loaded[2] and loaded[0] is not loaded[1]
    assert loaded.parameters()["2.weight"] is loaded.parameters()["0.weight"]
    assert_same_module(model, loaded)
    x = rng.standard_normal((3, 2, 4))
    assert_same_outputs(model, loaded, x)
    for m in (model, loaded):
        sgd_step(m, x)
    assert loaded[0] is loaded[2]
    assert_same_module(model, loaded)  # the same step: still tied, same weights
    assert_same_outputs(model, loaded, x)


def test_shared_modules_nested_and_shared_containers(tmp_path, rng):
    lin = fr.Linear(3, 3, seed=0)
    block = fr.Sequential(fr.Linear(3, 3, seed=1), fr.Dropout(0.0))
    model = fr.Sequential(lin, fr.Sequential(lin, block), block, fr.Sequential(block))
    path = tmp_path / "nested.frnn"
    save(model, path)
    modules = header_json(read_entries(path))["config"]["modules"]
    assert modules[1]["config"]["modules"][0] == {"same_as": "0"}
    assert modules[2] == {"same_as": "1.1"}
    assert modules[3]["config"]["modules"][0] == {"same_as": "1.1"}
    loaded = load(path)
    assert loaded[1][0] is loaded[0]
    assert loaded[2] is loaded[1][1] is loaded[3][0]
    assert len({id(a) for a in loaded.parameters().values()}) == 4
    x = rng.standard_normal((2, 2, 3)).astype(np.float32)
    assert_same_outputs(model, loaded, x)
    for m in (model, loaded):
        sgd_step(m, x)
    assert_same_module(model, loaded)


def test_untied_files_stay_version_1(tmp_path):
    """Files with nothing shared are written as version 1 (older fastrnn
    reads them), and version 1 files load."""
    save(make_model("float32"), tmp_path / "m.frnn")
    assert header_json(read_entries(tmp_path / "m.frnn"))["format_version"] == 1
    assert_same_tree(make_model("float32"), load(tmp_path / "m.frnn"))


def test_array_shared_by_different_modules_refused(tmp_path):
    """One array registered in two different modules cannot be rebuilt by
    load: save refuses it, naming both parameters, and writes nothing."""
    a, b = fr.Linear(4, 4, seed=0), fr.Linear(4, 4, seed=1)
    b._params["weight"] = a._params["weight"]
    with pytest.raises(ValueError, match=r"parameters '0\.weight' and '1\.weight' are one "
                                         r"array shared by two different modules"):
        save(fr.Sequential(a, b), tmp_path / "m.frnn")
    attention = fr.SelfAttention(4, seed=0)  # its out_proj also a child of the Sequential
    with pytest.raises(ValueError, match=r"parameters '0\.out_proj\.weight' and "
                                         r"'1\.weight' are one array"):
        save(fr.Sequential(attention, attention.out_proj), tmp_path / "m.frnn")
    with pytest.raises(ValueError, match=r"one array shared by two different modules"):
        fr.io.check_saveable(fr.Sequential(a, b))   # what fit checks before training
    fr.io.check_saveable(fr.Sequential(a, a))        # one module used twice is fine
    assert list(tmp_path.iterdir()) == []


def test_container_holding_itself_refused(tmp_path):
    seq = fr.Sequential(fr.Dropout())
    seq.modules.append(seq)
    with pytest.raises(ValueError, match=r"holds itself \(child '1' is the top-level module\)"):
        save(seq, tmp_path / "m.frnn")
    inner = fr.Sequential(fr.Dropout())
    inner.modules.append(inner)
    with pytest.raises(ValueError, match=r"holds itself \(child '0\.1' is '0'\)"):
        save(fr.Sequential(inner), tmp_path / "m.frnn")


@pytest.fixture
def tied_saved(tmp_path):
    lin = fr.Linear(2, 2, seed=0)
    path = tmp_path / "tied.frnn"
    save(fr.Sequential(lin, fr.Sequential(fr.Dropout(), lin)), path)
    return read_entries(path)


@pytest.mark.parametrize("same_as, match", [
    ("1", r"must name, with \"same_as\", a module before it that is not its container"),
    ("1.1", "a module before it"),
    ("2", "a module before it"),
    ("", "a module before it"),
    ("0.weight", "a module before it"),
    (0, "got 0"),
    (["0"], r"got \['0'\]"),
])
def test_forged_reference_refused(tmp_path, tied_saved, same_as, match):
    header = header_json(tied_saved)
    header["config"]["modules"][1]["config"]["modules"][1] = {"same_as": same_as}
    with pytest.raises(FormatError, match=r"child '1\.1' of Sequential \(child '1'\) .*" + match):
        load_forged(tmp_path, tied_saved, header)


def test_reference_needs_version_2_and_owns_no_parameters(tmp_path, tied_saved):
    header = header_json(tied_saved)
    header["format_version"] = 1
    with pytest.raises(FormatError, match=r"child '1\.1' .* is a shared module .*needs format "
                                          r"version 2; the file says version 1"):
        load_forged(tmp_path, tied_saved, header)
    header = header_json(tied_saved)
    bad = add_parameter(tied_saved, header, "1.1.weight", np.zeros((2, 2), np.float32))
    with pytest.raises(FormatError, match=r"extra parameter\(s\) \['1\.1\.weight'\]"):
        load_forged(tmp_path, bad)
    header = header_json(tied_saved)  # a reference with a class too
    header["config"]["modules"][1]["config"]["modules"][1]["class"] = "Linear"
    with pytest.raises(FormatError, match="must be an object"):
        load_forged(tmp_path, tied_saved, header)

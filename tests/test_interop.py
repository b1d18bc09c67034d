"""fastrnn.interop: ``from_torch`` / ``to_torch``.

* from_torch for RNN (tanh, relu), LSTM and GRU over num_layers x
  bidirectional x batch_first x bias x dtype: configuration carried over and
  outputs / final states equal torch's (float64 max abs error <= 1e-10,
  float32 relative error <= 1e-5), also with ``lengths`` against
  ``pack_padded_sequence``; the same for the cells.
* to_torch, and the round trip fastrnn -> torch -> fastrnn (bit-exact
  state_dict, same config, same outputs).
* Refusals: proj_size, merge_mode other than concat, reset_after=False,
  unsupported types; ImportError without torch.
* ``import fastrnn`` never imports torch.
"""
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

if os.environ.get("FASTRNN_REQUIRE_TORCH", "") == "1":
    import torch  # noqa: E402  (a missing torch must fail the run)
else:
    torch = pytest.importorskip("torch")

from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

import fastrnn as fr  # noqa: E402
from fastrnn.interop import from_torch, to_torch  # noqa: E402

T, B, I, H = 5, 3, 4, 6
KINDS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]
CELL_KINDS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]
DTYPES = [np.float64, np.float32]
DTYPE_IDS = ["f64", "f32"]
F64_ABS_TOL = 1e-10
F32_REL_TOL = 1e-5


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """The sizes here are tiny: threads only add overhead (and contention on a
    busy machine), so run both libraries single-threaded, then restore."""
    saved = torch.get_num_threads(), fr.get_num_threads()
    torch.set_num_threads(1)
    fr.set_num_threads(1)
    yield
    torch.set_num_threads(saved[0])
    fr.set_num_threads(saved[1])


# ------------------------------------------------------------------ helpers
def _tdtype(dtype):
    return torch.float64 if np.dtype(dtype) == np.float64 else torch.float32


def _close(ours, ref, dtype, what):
    """A fastrnn array against a torch tensor at the dtype's tolerance."""
    ref = ref.detach().numpy() if isinstance(ref, torch.Tensor) else np.asarray(ref)
    ours = np.asarray(ours)
    assert ours.shape == ref.shape, f"{what}: shape {ours.shape} != torch {ref.shape}"
    assert ours.dtype == np.dtype(dtype), f"{what}: dtype {ours.dtype} != {np.dtype(dtype)}"
    err = float(np.max(np.abs(ours.astype(np.float64) - ref.astype(np.float64))))
    if np.dtype(dtype) == np.float64:
        assert err <= F64_ABS_TOL, f"{what}: max abs error {err:.3e}"
    else:
        rel = err / max(float(np.max(np.abs(ref))), 1e-30)
        assert rel <= F32_REL_TOL, f"{what}: relative error {rel:.3e}"


def _torch_layer(kind, dtype=np.float64, seed=0, **kw):
    torch.manual_seed(seed)
    with warnings.catch_warnings():  # torch warns about dropout with one layer
        warnings.simplefilter("ignore", UserWarning)
        if kind.startswith("rnn_"):
            m = torch.nn.RNN(I, H, nonlinearity=kind[4:], **kw)
        else:
            m = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](I, H, **kw)
    return m.to(_tdtype(dtype)).eval()


def _torch_cell(kind, dtype=np.float64, seed=0, bias=True):
    torch.manual_seed(seed)
    if kind.startswith("rnn_"):
        m = torch.nn.RNNCell(I, H, bias=bias, nonlinearity=kind[4:])
    else:
        m = {"lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}[kind](I, H, bias=bias)
    return m.to(_tdtype(dtype))


def _fr_layer(kind, dtype=np.float64, seed=3, **kw):
    name = np.dtype(dtype).name
    if kind.startswith("rnn_"):
        return fr.RNN(I, H, nonlinearity=kind[4:], dtype=name, seed=seed, **kw)
    return {"lstm": fr.LSTM, "gru": fr.GRU}[kind](I, H, dtype=name, seed=seed, **kw)


def _fr_cell(kind, dtype=np.float64, seed=3, **kw):
    name = np.dtype(dtype).name
    if kind.startswith("rnn_"):
        return fr.RNNCell(I, H, nonlinearity=kind[4:], dtype=name, seed=seed, **kw)
    return {"lstm": fr.LSTMCell, "gru": fr.GRUCell}[kind](I, H, dtype=name, seed=seed, **kw)


def _compare_layers(ours, tm, kind, dtype, batch_first, D, num_layers, lengths=None, seed=1):
    """Run both on the same random input and initial state and compare."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, T, I) if batch_first else (T, B, I)).astype(dtype)
    h0 = rng.standard_normal((num_layers * D, B, H)).astype(dtype)
    c0 = rng.standard_normal((num_layers * D, B, H)).astype(dtype)
    hx = (h0, c0) if kind == "lstm" else h0
    hx_t = (torch.from_numpy(h0), torch.from_numpy(c0)) if kind == "lstm" else torch.from_numpy(h0)
    with torch.no_grad():
        if lengths is None:
            out_t, st_t = tm(torch.from_numpy(x), hx_t)
        else:
            packed = pack_padded_sequence(torch.from_numpy(x), torch.as_tensor(lengths),
                                          batch_first=batch_first, enforce_sorted=False)
            out_p, st_t = tm(packed, hx_t)
            out_t, _ = pad_packed_sequence(out_p, batch_first=batch_first, total_length=T)
    out, st = ours(x, hx, lengths=lengths)
    _close(out, out_t, dtype, "out")
    if kind == "lstm":
        _close(st[0], st_t[0], dtype, "h_n")
        _close(st[1], st_t[1], dtype, "c_n")
    else:
        _close(st, st_t, dtype, "h_n")


def _assert_same_weights(ours, tm):
    """Same names, and ours equal torch's values bit for bit."""
    ref = {k: v.detach().numpy() for k, v in tm.state_dict().items()}
    sd = ours.state_dict()
    assert set(sd) == set(ref)
    for k, v in ref.items():
        assert sd[k].dtype == v.dtype, k
        np.testing.assert_array_equal(sd[k], v, err_msg=k)


# -------------------------------------------------------------- from_torch
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["tmajor", "bf"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bidir"])
@pytest.mark.parametrize("num_layers", [1, 2], ids=["1l", "2l"])
@pytest.mark.parametrize("kind", KINDS)
def test_from_torch_layer(kind, num_layers, bidirectional, batch_first, bias, dtype):
    dropout = 0.25 if num_layers == 2 else 0.0
    tm = _torch_layer(kind, dtype, num_layers=num_layers, bidirectional=bidirectional,
                      batch_first=batch_first, bias=bias, dropout=dropout)
    ours = from_torch(tm)
    expected_cls = {"lstm": fr.LSTM, "gru": fr.GRU}.get(kind, fr.RNN)
    assert type(ours) is expected_cls
    cfg = ours.get_config()
    assert cfg["input_size"] == I and cfg["hidden_size"] == H
    assert cfg["num_layers"] == num_layers
    assert cfg["bidirectional"] is bidirectional and cfg["merge_mode"] == "concat"
    assert cfg["batch_first"] is batch_first and cfg["bias"] is bias
    assert cfg["dropout"] == dropout
    assert cfg["dtype"] == np.dtype(dtype).name
    if kind.startswith("rnn_"):
        assert cfg["nonlinearity"] == kind[4:]
    if kind == "gru":
        assert cfg["reset_after"] is True
    _assert_same_weights(ours, tm)
    _compare_layers(ours, tm, kind, dtype, batch_first, 2 if bidirectional else 1, num_layers)


@pytest.mark.parametrize("kind", KINDS)
def test_from_torch_lengths_match_packed(kind):
    tm = _torch_layer(kind, np.float64, num_layers=2, bidirectional=True, batch_first=True)
    ours = from_torch(tm)
    _compare_layers(ours, tm, kind, np.float64, True, 2, 2, lengths=np.array([2, T, 1]))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("kind", CELL_KINDS)
def test_from_torch_cell(kind, bias, dtype):
    tm = _torch_cell(kind, dtype, bias=bias)
    ours = from_torch(tm)
    expected_cls = {"lstm": fr.LSTMCell, "gru": fr.GRUCell}.get(kind, fr.RNNCell)
    assert type(ours) is expected_cls
    cfg = ours.get_config()
    assert (cfg["input_size"], cfg["hidden_size"], cfg["bias"]) == (I, H, bias)
    assert cfg["dtype"] == np.dtype(dtype).name
    if kind.startswith("rnn_"):
        assert cfg["nonlinearity"] == kind[4:]
    _assert_same_weights(ours, tm)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((B, I)).astype(dtype)
    h = rng.standard_normal((B, H)).astype(dtype)
    c = rng.standard_normal((B, H)).astype(dtype)
    with torch.no_grad():
        if kind == "lstm":
            ht, ct = tm(torch.from_numpy(x), (torch.from_numpy(h), torch.from_numpy(c)))
            h1, c1 = ours(x, (h, c))
            _close(h1, ht, dtype, "h")
            _close(c1, ct, dtype, "c")
        else:
            _close(ours(x, h), tm(torch.from_numpy(x), torch.from_numpy(h)), dtype, "h")


@pytest.mark.parametrize("tdtype", ["float16", "bfloat16"])
def test_from_torch_low_precision_becomes_float32(tdtype):
    tm = _torch_layer("lstm", np.float32).to(getattr(torch, tdtype))
    ours = from_torch(tm)
    assert ours.dtype == np.float32
    for k, v in tm.state_dict().items():  # exactly representable in float32
        np.testing.assert_array_equal(ours.state_dict()[k], v.float().numpy())


def test_from_torch_explicit_dtype():
    tm = _torch_layer("gru", np.float64)
    assert from_torch(tm).dtype == np.float64
    ours32 = from_torch(tm, dtype="float32")
    assert ours32.dtype == np.float32
    assert from_torch(tm, dtype=torch.float32).dtype == np.float32
    for k, v in tm.state_dict().items():
        np.testing.assert_array_equal(ours32.state_dict()[k], v.float().numpy())
    up = from_torch(_torch_layer("gru", np.float32), dtype="float64")
    assert up.dtype == np.float64 and all(v.dtype == np.float64 for v in up.state_dict().values())
    with pytest.raises(ValueError, match="dtype"):
        from_torch(tm, dtype="float16")


def test_from_torch_copies_weights():
    """The layer owns its weights: changing torch's afterwards changes nothing."""
    tm = _torch_layer("lstm", np.float64)
    ours = from_torch(tm)
    before = ours.state_dict()
    with torch.no_grad():
        tm.weight_hh_l0.add_(1.0)
    for k, v in ours.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_from_torch_seed_only_affects_dropout_stream():
    tm = _torch_layer("gru", np.float64, num_layers=2, dropout=0.5)
    a, b = from_torch(tm, seed=5), from_torch(tm, seed=5)
    x = np.random.default_rng(0).standard_normal((T, B, I))
    (out_a, _), _ = a.forward_train(x)
    (out_b, _), _ = b.forward_train(x)
    np.testing.assert_array_equal(out_a, out_b)
    _assert_same_weights(a, tm)


# ---------------------------------------------------------------- to_torch
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("config", [
    dict(),
    dict(num_layers=2, bidirectional=True, batch_first=True, dropout=0.1),
    dict(num_layers=2, bias=False),
    dict(bidirectional=True, bias=False, batch_first=True),
], ids=["basic", "2l_bidir_bf_dropout", "2l_nobias", "bidir_nobias_bf"])
@pytest.mark.parametrize("kind", KINDS)
def test_to_torch_layer_round_trip(kind, config, dtype):
    ours = _fr_layer(kind, dtype, **config)
    tm = to_torch(ours)
    expected_cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}.get(kind, torch.nn.RNN)
    assert type(tm) is expected_cls
    for key in ("num_layers", "bias", "batch_first", "dropout", "bidirectional"):
        assert getattr(tm, key) == getattr(ours, key), key
    if kind.startswith("rnn_"):
        assert tm.nonlinearity == kind[4:]
    assert all(p.dtype == _tdtype(dtype) for p in tm.parameters())
    _assert_same_weights(ours, tm)
    tm.eval()
    _compare_layers(ours, tm, kind, dtype, ours.batch_first, ours.num_directions, ours.num_layers)

    back = from_torch(tm)
    assert type(back) is type(ours)
    assert back.get_config() == ours.get_config()
    sd, sd_back = ours.state_dict(), back.state_dict()
    assert set(sd) == set(sd_back)
    for k in sd:
        assert sd_back[k].dtype == sd[k].dtype
        np.testing.assert_array_equal(sd_back[k], sd[k], err_msg=k)
    x = np.random.default_rng(9).standard_normal((T, B, I)).astype(dtype)
    out, st = ours(x)
    out_b, st_b = back(x)
    np.testing.assert_array_equal(out_b, out)
    for a, b in zip(st if kind == "lstm" else (st,), st_b if kind == "lstm" else (st_b,)):
        np.testing.assert_array_equal(b, a)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("kind", CELL_KINDS)
def test_to_torch_cell_round_trip(kind, bias, dtype):
    ours = _fr_cell(kind, dtype, bias=bias)
    tm = to_torch(ours)
    expected_cls = {"lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}.get(kind, torch.nn.RNNCell)
    assert type(tm) is expected_cls and tm.bias == bias
    if kind.startswith("rnn_"):
        assert tm.nonlinearity == kind[4:]
    _assert_same_weights(ours, tm)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((B, I)).astype(dtype)
    h = rng.standard_normal((B, H)).astype(dtype)
    with torch.no_grad():
        if kind == "lstm":
            c = rng.standard_normal((B, H)).astype(dtype)
            ht, ct = tm(torch.from_numpy(x), (torch.from_numpy(h), torch.from_numpy(c)))
            h1, c1 = ours(x, (h, c))
            _close(h1, ht, dtype, "h")
            _close(c1, ct, dtype, "c")
        else:
            _close(ours(x, h), tm(torch.from_numpy(x), torch.from_numpy(h)), dtype, "h")
    back = from_torch(tm)
    assert back.get_config() == ours.get_config()
    for k, v in ours.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[k], v, err_msg=k)


def test_to_torch_copies_weights():
    ours = _fr_layer("lstm")
    tm = to_torch(ours)
    ours.parameters()["weight_ih_l0"][...] += 1.0
    assert not np.array_equal(tm.weight_ih_l0.detach().numpy(), ours.state_dict()["weight_ih_l0"])


def test_to_torch_unidirectional_ignores_merge_mode():
    """merge_mode only matters for bidirectional layers."""
    tm = to_torch(_fr_layer("gru", merge_mode="sum"))
    assert isinstance(tm, torch.nn.GRU) and not tm.bidirectional


# ---------------------------------------------------------------- refusals
def test_from_torch_refuses_proj_size():
    with pytest.raises(ValueError, match="proj_size"):
        from_torch(torch.nn.LSTM(I, H, proj_size=2))


@pytest.mark.parametrize("mode", ["sum", "mean", "max", "mul"])
def test_to_torch_refuses_merge_mode(mode):
    with pytest.raises(ValueError, match="merge_mode"):
        to_torch(_fr_layer("lstm", bidirectional=True, merge_mode=mode))


@pytest.mark.parametrize("make", [lambda: _fr_layer("gru", reset_after=False),
                                  lambda: _fr_cell("gru", reset_after=False)],
                         ids=["GRU", "GRUCell"])
def test_to_torch_refuses_reset_before(make):
    with pytest.raises(ValueError, match="reset_after=False"):
        to_torch(make())


@pytest.mark.parametrize("obj", [lambda: torch.nn.Linear(3, 4), lambda: torch.nn.RNNBase("LSTM", 3, 4),
                                 lambda: object(), lambda: "lstm"],
                         ids=["Linear", "RNNBase", "object", "str"])
def test_from_torch_refuses_other_types(obj):
    value = obj()
    with pytest.raises(TypeError, match=type(value).__qualname__):
        from_torch(value)


def test_from_torch_refuses_fastrnn_layer_with_hint():
    with pytest.raises(TypeError, match="to_torch"):
        from_torch(_fr_layer("lstm"))


@pytest.mark.parametrize("obj", [lambda: torch.nn.LSTM(3, 4), lambda: object(),
                                 lambda: fr.Module()], ids=["torch", "object", "Module"])
def test_to_torch_refuses_other_types(obj):
    with pytest.raises(TypeError, match="to_torch expects"):
        to_torch(obj())


def test_to_torch_without_torch_raises_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    with pytest.raises(ImportError, match="pip install torch"):
        to_torch(_fr_layer("lstm"))


def test_import_fastrnn_does_not_import_torch(tmp_path):
    """Neither ``import fastrnn`` nor refusing a non-torch object imports torch."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(fr.__file__)))
    env = dict(os.environ, PYTHONPATH=root)
    code = ("import sys, fastrnn, fastrnn.interop\n"
            "assert fastrnn.__file__.startswith(sys.argv[1]), fastrnn.__file__\n"
            "try:\n"
            "    fastrnn.interop.from_torch(object())\n"
            "except TypeError:\n"
            "    pass\n"
            "else:\n"
            "    raise AssertionError('no TypeError')\n"
            "print('torch' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code, root], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"

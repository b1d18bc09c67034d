"""Contract tests of the recurrent layers and cells (their docstrings),
without torch: shapes, dtypes, state dicts, gradients (finite differences),
lengths, dropout, seeds, validation and the runtime knobs.
"""
import math

import numpy as np
import pytest

import fastrnn as fr
from helpers.gradcheck import numeric_entry, numeric_grad

MERGE_MODES = ["concat", "sum", "mean", "max", "mul"]
GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3, "gru_rb": 3}
ALL_KINDS = list(GATES)
LAYER_CLASSES = {"rnn": fr.RNN, "lstm": fr.LSTM, "gru": fr.GRU}


# ------------------------------------------------------------------ helpers
def _make(classes, kind, input_size, hidden_size, **kw):
    """kind: rnn_tanh, rnn_relu, lstm, gru, gru_rb (GRU reset_after=False);
    ``classes``: the (RNN, LSTM, GRU) classes to build from."""
    rnn, lstm, gru = classes
    if kind.startswith("rnn_"):
        return rnn(input_size, hidden_size, nonlinearity=kind[4:], **kw)
    if kind == "lstm":
        return lstm(input_size, hidden_size, **kw)
    return gru(input_size, hidden_size, reset_after=(kind == "gru"), **kw)


def make_layer(kind, input_size, hidden_size, **kw):
    return _make((fr.RNN, fr.LSTM, fr.GRU), kind, input_size, hidden_size, **kw)


def make_cell(kind, input_size, hidden_size, **kw):
    return _make((fr.RNNCell, fr.LSTMCell, fr.GRUCell), kind, input_size, hidden_size, **kw)


def is_lstm(layer):
    return isinstance(layer, (fr.LSTM, fr.LSTMCell))


def random_state(rng, layer, shape, dtype=np.float64):
    h = rng.standard_normal(shape).astype(dtype)
    if is_lstm(layer):
        return h, rng.standard_normal(shape).astype(dtype)
    return h


def state_list(state):
    return list(state) if isinstance(state, tuple) else [state]


def loss_and_seeds(rng, out, state):
    """Random cotangents for out and the final state (same structure)."""
    R = rng.standard_normal(out.shape)
    Rs = [rng.standard_normal(s.shape) for s in state_list(state)]
    return R, (tuple(Rs) if isinstance(state, tuple) else Rs[0])


def weighted_sum(out, state, R, Rs):
    total = float(np.sum(out * R))
    for s, r in zip(state_list(state), state_list(Rs)):
        total += float(np.sum(s * r))
    return total


def expected_keys(num_layers, bidirectional, bias):
    keys = set()
    for k in range(num_layers):
        for sfx in ([""] + (["_reverse"] if bidirectional else [])):
            names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if bias else [])
            keys |= {f"{n}_l{k}{sfx}" for n in names}
    return keys


# ----------------------------------------------------------------- shapes
DIR_CASES = ["uni"] + MERGE_MODES


@pytest.mark.parametrize("direction", DIR_CASES)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("layout", ["time_major", "batch_first", "unbatched"])
@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_output_and_state_shapes(kind, layout, num_layers, direction):
    T, B, I, H = 5, 3, 4, 6
    bidir = direction != "uni"
    kw = dict(num_layers=num_layers, batch_first=(layout == "batch_first"), bidirectional=bidir)
    if bidir:
        kw["merge_mode"] = direction
    layer = make_layer(kind, I, H, seed=0, **kw)
    D = 2 if bidir else 1
    W = 2 * H if direction == "concat" else H
    G = GATES[kind]

    # parameter shapes: layer 1 reads the merged width
    params = layer.parameters()
    assert set(params) == expected_keys(num_layers, bidir, True)
    for name, p in params.items():
        in_w = I if "_l0" in name else W
        if name.startswith("weight_ih"):
            assert p.shape == (G * H, in_w), name
        elif name.startswith("weight_hh"):
            assert p.shape == (G * H, H), name
        else:
            assert p.shape == (G * H,), name

    rng = np.random.default_rng(1)
    if layout == "unbatched":
        x = rng.standard_normal((T, I))
        out_shape, st_shape = (T, W), (num_layers * D, H)
    elif layout == "batch_first":
        x = rng.standard_normal((B, T, I))
        out_shape, st_shape = (B, T, W), (num_layers * D, B, H)
    else:
        x = rng.standard_normal((T, B, I))
        out_shape, st_shape = (T, B, W), (num_layers * D, B, H)

    out, state = layer(x)
    assert out.shape == out_shape
    assert isinstance(state, tuple) == (kind == "lstm")
    for s in state_list(state):
        assert s.shape == st_shape

    hx = random_state(rng, layer, st_shape)
    (out2, state2), backprop = layer.forward_train(x, hx)
    assert out2.shape == out_shape
    for s in state_list(state2):
        assert s.shape == st_shape
    R, Rs = loss_and_seeds(rng, out2, state2)
    dx, dhx = backprop(R, Rs)
    assert dx.shape == x.shape
    assert isinstance(dhx, tuple) == (kind == "lstm")
    for g in state_list(dhx):
        assert g.shape == st_shape


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
@pytest.mark.parametrize("mode", MERGE_MODES)
def test_merge_mode_values(kind, mode):
    """A one-layer bidirectional layer's merged output is the given
    combination of the two directions (= the halves of the concat output)."""
    T, B, I, H = 5, 3, 4, 6
    ref = make_layer(kind, I, H, bidirectional=True, dtype="float64", seed=3)
    layer = make_layer(kind, I, H, bidirectional=True, merge_mode=mode, dtype="float64", seed=4)
    layer.load_state_dict(ref.state_dict())
    x = np.random.default_rng(0).standard_normal((T, B, I))
    lengths = np.array([5, 2, 0])
    cat, st_ref = ref(x, lengths=lengths)
    out, st = layer(x, lengths=lengths)
    fwd, bwd = cat[..., :H], cat[..., H:]
    expected = {"concat": cat, "sum": fwd + bwd, "mean": (fwd + bwd) / 2,
                "max": np.maximum(fwd, bwd), "mul": fwd * bwd}[mode]
    np.testing.assert_allclose(out, expected, rtol=1e-14, atol=1e-15)
    for a, b in zip(state_list(st), state_list(st_ref)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_batch_first_and_unbatched_equal_time_major(kind):
    T, B, I, H = 5, 3, 4, 6
    rng = np.random.default_rng(2)
    tm = make_layer(kind, I, H, num_layers=2, bidirectional=True, dtype="float64", seed=1)
    bf = make_layer(kind, I, H, num_layers=2, bidirectional=True, batch_first=True,
                    dtype="float64", seed=1)
    x = rng.standard_normal((T, B, I))
    hx = random_state(rng, tm, (4, B, H))
    lengths = np.array([5, 1, 3])
    out, st = tm(x, hx, lengths=lengths)
    out_bf, st_bf = bf(np.ascontiguousarray(x.transpose(1, 0, 2)), hx, lengths=lengths)
    np.testing.assert_allclose(out_bf, out.transpose(1, 0, 2), rtol=1e-13, atol=1e-14)
    for a, b in zip(state_list(st_bf), state_list(st)):  # batch_first does not apply to states
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-14)

    # unbatched (T, I) == batch of one
    hx1 = tuple(s[:, 0] for s in state_list(hx)) if kind == "lstm" else hx[:, 0]
    out_u, st_u = tm(x[:, 0], hx1)
    out_1, st_1 = tm(x[:, :1], tuple(s[:, :1] for s in state_list(hx)) if kind == "lstm" else hx[:, :1])
    np.testing.assert_allclose(out_u, out_1[:, 0], rtol=1e-13, atol=1e-14)
    for a, b in zip(state_list(st_u), state_list(st_1)):
        assert a.shape == (4, H)
        np.testing.assert_allclose(a, b[:, 0], rtol=1e-13, atol=1e-14)


# ------------------------------------------------------------------ dtypes
@pytest.mark.parametrize("dtype", [None, "float32", "float64", np.float64])
@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_dtype_of_everything(kind, dtype):
    expected = np.dtype(np.float32 if dtype is None else dtype)
    kw = {} if dtype is None else {"dtype": dtype}
    layer = make_layer(kind, 3, 4, num_layers=2, bidirectional=True, seed=0, **kw)
    for d in (layer.parameters(), layer.grads, layer.state_dict()):
        assert all(v.dtype == expected for v in d.values())
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 2, 3))  # float64 input: cast to the layer's dtype
    out, st = layer(x)
    assert out.dtype == expected and all(s.dtype == expected for s in state_list(st))
    (out, st), bp = layer.forward_train(x)
    dx, dhx = bp(np.ones(out.shape), tuple(np.ones(s.shape) for s in state_list(st))
                 if kind == "lstm" else np.ones(st.shape))
    assert dx.dtype == expected and all(g.dtype == expected for g in state_list(dhx))

    cell = make_cell(kind, 3, 4, seed=0, **kw)
    assert all(v.dtype == expected for v in cell.parameters().values())
    new = cell(x[0])
    assert all(s.dtype == expected for s in state_list(new))


@pytest.mark.parametrize("src", ["float16", "float32", "float64", "int64", "int8", "bool"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["rnn_relu", "lstm", "gru"])
def test_other_input_dtypes_are_cast(kind, dtype, src):
    rng = np.random.default_rng(5)
    layer = make_layer(kind, 3, 4, seed=0, dtype=dtype)
    x = (rng.standard_normal((5, 2, 3)) * 3).astype(src)
    h0 = (rng.standard_normal((1, 2, 4)) * 2).astype(src)
    hx = (h0, h0) if kind == "lstm" else h0
    out, st = layer(x, hx)
    hx_cast = (h0.astype(dtype), h0.astype(dtype)) if kind == "lstm" else h0.astype(dtype)
    out_ref, st_ref = layer(x.astype(dtype), hx_cast)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, out_ref)
    for a, b in zip(state_list(st), state_list(st_ref)):
        np.testing.assert_array_equal(a, b)
    # cells cast too
    cell = make_cell(kind, 3, 4, seed=0, dtype=dtype)
    for a, b in zip(state_list(cell(x[0])), state_list(cell(x[0].astype(dtype)))):
        assert a.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_non_contiguous_inputs_accepted(kind, batch_first):
    rng = np.random.default_rng(6)
    layer = make_layer(kind, 3, 4, num_layers=2, bidirectional=True, batch_first=batch_first,
                       dtype="float64", seed=0)
    big = rng.standard_normal((2 * 5, 3 * 2, 3 * 3))
    x = big[::2, ::3, ::3]                       # strided view (T=5, B=2, 3)
    if batch_first:
        x = x.transpose(1, 0, 2)                 # (B=2, T=5, 3), still a view
    assert not x.flags.c_contiguous
    h_big = rng.standard_normal((4, 2 * 2, 4 * 2))
    h0 = h_big[:, ::2, ::2]                      # (4, 2, 4), strided
    hx = (h0, h0[::-1]) if kind == "lstm" else h0
    out, st = layer(x, hx, lengths=np.array([3, 5]))
    hx_c = tuple(np.ascontiguousarray(s) for s in state_list(hx))
    out_c, st_c = layer(np.ascontiguousarray(x), hx_c if kind == "lstm" else hx_c[0],
                        lengths=np.array([3, 5]))
    np.testing.assert_array_equal(out, out_c)
    for a, b in zip(state_list(st), state_list(st_c)):
        np.testing.assert_array_equal(a, b)
    # a transposed (Fortran-ordered) view and a non-contiguous gradient
    xt = np.asfortranarray(x)
    (out_t, st_t), bp = layer.forward_train(xt, hx)
    np.testing.assert_array_equal(out_t, layer(np.ascontiguousarray(x), hx)[0])
    R = rng.standard_normal(out_t.shape + (2,))[..., 0]
    assert not R.flags.c_contiguous
    (_, _), bp2 = layer.forward_train(np.ascontiguousarray(x), hx)
    dx1, _ = bp(R)
    dx2, _ = bp2(np.ascontiguousarray(R))
    np.testing.assert_array_equal(dx1, dx2)


@pytest.mark.parametrize("bad", [
    np.zeros((5, 2, 3), dtype=np.complex128),
    np.full((5, 2, 3), "a"),
    "abc",
    np.array([[[1.0, None, "x"]]], dtype=object),
    [[[1.0, 2.0, 3.0]], [[1.0, 2.0]]],   # ragged
], ids=["complex", "str_array", "str", "object", "ragged"])
@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_non_numeric_input_raises_type_error(kind, bad):
    layer = make_layer(kind, 3, 4, seed=0)
    with pytest.raises(TypeError, match=r"\bx\b"):
        layer(bad)
    with pytest.raises(TypeError, match=r"\bx\b"):
        layer.forward_train(bad)


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_complex_state_raises_type_error(kind):
    layer = make_layer(kind, 3, 4, seed=0)
    x = np.zeros((5, 2, 3))
    h0 = np.zeros((1, 2, 4), dtype=np.complex64)
    with pytest.raises(TypeError, match="h0"):
        layer(x, (h0, np.zeros((1, 2, 4))) if kind == "lstm" else h0)


# ------------------------------------------------- inference keeps nothing
@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_inference_returns_fresh_arrays_and_leaves_inputs_alone(kind):
    rng = np.random.default_rng(7)
    layer = make_layer(kind, 3, 4, num_layers=2, bidirectional=True, seed=0, dtype="float64")
    x = rng.standard_normal((5, 2, 3))
    hx = random_state(rng, layer, (4, 2, 4))
    x_copy = x.copy()
    hx_copy = [s.copy() for s in state_list(hx)]
    params_before = layer.state_dict()

    out1, st1 = layer(x, hx)
    out2, st2 = layer(x, hx)
    np.testing.assert_array_equal(out1, out2)
    assert not np.shares_memory(out1, out2)
    assert not np.shares_memory(out1, x)
    for a, b, h in zip(state_list(st1), state_list(st2), state_list(hx)):
        np.testing.assert_array_equal(a, b)
        assert not np.shares_memory(a, b) and not np.shares_memory(a, h)
    # scribbling on a result does not affect the next call
    out1[...] = np.nan
    for s in state_list(st1):
        s[...] = np.nan
    out3, st3 = layer(x, hx)
    np.testing.assert_array_equal(out3, out2)
    # inputs and parameters untouched, and no gradients produced by inference
    np.testing.assert_array_equal(x, x_copy)
    for a, b in zip(state_list(hx), hx_copy):
        np.testing.assert_array_equal(a, b)
    for k, v in layer.state_dict().items():
        np.testing.assert_array_equal(v, params_before[k])
    assert all(np.all(g == 0) for g in layer.grads.values())


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_training_forward_equals_inference(kind):
    rng = np.random.default_rng(8)
    layer = make_layer(kind, 3, 4, num_layers=2, bidirectional=True, seed=0, dtype="float64")
    x = rng.standard_normal((5, 3, 3))
    hx = random_state(rng, layer, (4, 3, 4))
    lengths = np.array([2, 5, 0])
    out, st = layer(x, hx, lengths=lengths)
    (out_t, st_t), _ = layer.forward_train(x, hx, lengths=lengths)
    np.testing.assert_array_equal(out, out_t)
    for a, b in zip(state_list(st), state_list(st_t)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_backprop_twice_raises_runtime_error(kind):
    layer = make_layer(kind, 3, 4, num_layers=2, seed=0)
    x = np.ones((4, 2, 3))
    (out, st), bp = layer.forward_train(x)
    bp(np.ones(out.shape))
    grads = {k: v.copy() for k, v in layer.grads.items()}
    with pytest.raises(RuntimeError):
        bp(np.ones(out.shape))
    # the refused call added nothing
    for k, v in layer.grads.items():
        np.testing.assert_array_equal(v, grads[k])

    cell = make_cell(kind, 3, 4, seed=0)
    new, cbp = cell.forward_train(x[0])
    dstate = tuple(np.ones(s.shape) for s in new) if kind == "lstm" else np.ones(new.shape)
    cbp(dstate)
    with pytest.raises(RuntimeError):
        cbp(dstate)


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_dstate_none_means_zeros(kind):
    rng = np.random.default_rng(9)
    layer = make_layer(kind, 3, 4, num_layers=2, bidirectional=True, seed=0, dtype="float64")
    x = rng.standard_normal((5, 2, 3))
    hx = random_state(rng, layer, (4, 2, 4))
    R = rng.standard_normal((5, 2, 8))
    (_, st), bp = layer.forward_train(x, hx)
    dx1, dh1 = bp(R)
    g1 = {k: v.copy() for k, v in layer.grads.items()}
    layer.zero_grad()
    (_, st), bp = layer.forward_train(x, hx)
    zeros = tuple(np.zeros_like(s) for s in state_list(st))
    dx2, dh2 = bp(R, zeros if kind == "lstm" else zeros[0])
    np.testing.assert_array_equal(dx1, dx2)
    for a, b in zip(state_list(dh1), state_list(dh2)):
        np.testing.assert_array_equal(a, b)
    for k, v in layer.grads.items():
        np.testing.assert_array_equal(v, g1[k])


def _check_grads_accumulate(module, one_pass):
    """Two passes give twice one pass's gradients; zero_grad clears them and
    a pass after it gives one pass's gradients again."""
    one_pass()
    g1 = {k: v.copy() for k, v in module.grads.items()}
    assert all(np.any(v != 0) for v in g1.values())
    one_pass()
    for k, v in module.grads.items():
        np.testing.assert_allclose(v, 2 * g1[k], rtol=1e-12, atol=1e-14, err_msg=k)
    module.zero_grad()
    assert all(np.all(v == 0) for v in module.grads.values())
    one_pass()
    for k, v in module.grads.items():
        np.testing.assert_allclose(v, g1[k], rtol=1e-12, atol=1e-14, err_msg=k)


# ----------------------------------------------------- grads / zero_grad
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_grads_accumulate_and_zero_grad_clears(kind):
    rng = np.random.default_rng(10)
    layer = make_layer(kind, 3, 4, num_layers=2, bidirectional=True, seed=0, dtype="float64")
    assert set(layer.grads) == set(layer.state_dict())
    for k, g in layer.grads.items():
        assert g.shape == layer.state_dict()[k].shape
        assert np.all(g == 0)
    x = rng.standard_normal((5, 2, 3))
    hx = random_state(rng, layer, (4, 2, 4))
    lengths = np.array([5, 3])

    def one_pass():
        (out, st), bp = layer.forward_train(x, hx, lengths=lengths)
        R, Rs = loss_and_seeds(np.random.default_rng(11), out, st)
        bp(R, Rs)

    _check_grads_accumulate(layer, one_pass)

    cell = make_cell(kind, 3, 4, seed=0, dtype="float64")
    assert set(cell.grads) == set(cell.state_dict())
    st0 = random_state(rng, cell, (2, 4))

    def cell_pass():
        new, bp = cell.forward_train(x[0], st0)
        bp(tuple(np.ones(s.shape) for s in new) if kind == "lstm" else np.ones(new.shape))

    _check_grads_accumulate(cell, cell_pass)


# -------------------------------------------------------------- state dicts
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_state_dict_names_are_pytorch_names(kind, num_layers, bidirectional, bias):
    layer = make_layer(kind, 3, 4, num_layers=num_layers, bidirectional=bidirectional,
                       bias=bias, seed=0)
    sd = layer.state_dict()
    assert set(sd) == expected_keys(num_layers, bidirectional, bias)
    assert set(layer.parameters()) == set(sd)
    assert set(layer.grads) == set(sd)

    cell = make_cell(kind, 3, 4, bias=bias, seed=0)
    names = {"weight_ih", "weight_hh"} | ({"bias_ih", "bias_hh"} if bias else set())
    assert set(cell.state_dict()) == names


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_state_dict_returns_copies_and_parameters_are_live(kind):
    rng = np.random.default_rng(12)
    layer = make_layer(kind, 3, 4, num_layers=2, seed=0, dtype="float64")
    x = rng.standard_normal((5, 2, 3))
    out0, _ = layer(x)
    sd = layer.state_dict()
    for v in sd.values():
        v[...] = 0.0
    np.testing.assert_array_equal(layer(x)[0], out0)
    assert all(np.any(v != 0) for v in layer.state_dict().values())
    for k, v in layer.state_dict().items():
        assert not np.shares_memory(v, layer.parameters()[k])
    # parameters() are live: writing them changes the layer
    layer.parameters()["weight_hh_l1"][...] = 0.0
    assert np.all(layer.state_dict()["weight_hh_l1"] == 0)
    assert not np.allclose(layer(x)[0], out0)


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_load_state_dict_round_trip(kind):
    rng = np.random.default_rng(13)
    a = make_layer(kind, 3, 4, num_layers=2, bidirectional=True, seed=1, dtype="float64")
    b = make_layer(kind, 3, 4, num_layers=2, bidirectional=True, seed=2, dtype="float64")
    x = rng.standard_normal((5, 2, 3))
    assert not np.allclose(a(x)[0], b(x)[0])
    src = a.state_dict()
    b.load_state_dict(src)
    np.testing.assert_array_equal(a(x)[0], b(x)[0])
    # copies in: changing the source afterwards does not reach b
    for v in src.values():
        v[...] = 7.0
    np.testing.assert_array_equal(a(x)[0], b(x)[0])
    # array-likes (nested lists) and other precisions are accepted and cast
    c = make_layer(kind, 3, 4, num_layers=2, bidirectional=True, seed=3, dtype="float32")
    c.load_state_dict({k: v.tolist() for k, v in a.state_dict().items()})
    for k, v in c.state_dict().items():
        assert v.dtype == np.float32
        np.testing.assert_array_equal(v, a.state_dict()[k].astype(np.float32))


def _bad_state_dicts(layer):
    good = layer.state_dict()
    cases = {}
    sd = dict(good)
    sd["weight_ih_l7"] = np.zeros((4, 3))
    cases["unknown"] = (sd, "weight_ih_l7")
    sd = dict(good)
    del sd["bias_hh_l1_reverse"]
    cases["missing"] = (sd, "bias_hh_l1_reverse")
    sd = dict(good)
    sd["weight_hh_l1_reverse"] = np.zeros(sd["weight_hh_l1_reverse"].shape[::-1][:1] + (99,))
    cases["misshaped"] = (sd, "weight_hh_l1_reverse")
    sd = dict(good)
    sd["weight_ih_l1"] = sd["weight_ih_l1"].ravel()
    cases["flattened"] = (sd, "weight_ih_l1")
    return cases


@pytest.mark.parametrize("case", ["unknown", "missing", "misshaped", "flattened"])
@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_load_state_dict_bad_keys_raise_and_change_nothing(kind, case):
    layer = make_layer(kind, 3, 4, num_layers=2, bidirectional=True, seed=1, dtype="float64")
    before = layer.state_dict()
    sd, key = _bad_state_dicts(layer)[case]
    # every other entry holds new values: a partial load would be visible
    sd = {k: (np.asarray(v) + 1.0 if k != key else v) for k, v in sd.items()}
    with pytest.raises(ValueError, match=key):
        layer.load_state_dict(sd)
    for k, v in layer.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_cell_load_state_dict_bad_keys(kind):
    cell = make_cell(kind, 3, 4, seed=1)
    before = cell.state_dict()
    sd = {k: v + 1 for k, v in before.items()}
    sd["weight_hh"] = np.zeros((1, 1))
    with pytest.raises(ValueError, match="weight_hh"):
        cell.load_state_dict(sd)
    sd = {k: v + 1 for k, v in before.items()}
    sd["weight_ih_l0"] = sd.pop("weight_ih")  # a layer's name is not a cell's
    with pytest.raises(ValueError, match="weight_ih"):
        cell.load_state_dict(sd)
    for k, v in cell.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


# ---------------------------------------------------------- seeds and init
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_seed_reproducibility(kind):
    kw = dict(num_layers=2, bidirectional=True)
    a = make_layer(kind, 5, 8, seed=42, **kw).state_dict()
    b = make_layer(kind, 5, 8, seed=42, **kw).state_dict()
    c = make_layer(kind, 5, 8, seed=43, **kw).state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
        assert not np.array_equal(a[k], c[k]), k
    # unseeded layers differ from each other
    d = make_layer(kind, 5, 8, **kw).state_dict()
    e = make_layer(kind, 5, 8, **kw).state_dict()
    assert any(not np.array_equal(d[k], e[k]) for k in d)
    # cells too
    ca = make_cell(kind, 5, 8, seed=42).state_dict()
    cb = make_cell(kind, 5, 8, seed=42).state_dict()
    cc = make_cell(kind, 5, 8, seed=43).state_dict()
    for k in ca:
        np.testing.assert_array_equal(ca[k], cb[k])
        assert not np.array_equal(ca[k], cc[k]), k


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("H", [1, 16, 50])
@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_init_is_uniform_within_one_over_sqrt_h(kind, H, dtype):
    bound = 1.0 / math.sqrt(H)
    for module in (make_layer(kind, 7, H, num_layers=2, bidirectional=True, seed=5, dtype=dtype),
                   make_cell(kind, 7, H, seed=5, dtype=dtype)):
        values = np.concatenate([v.ravel().astype(np.float64)
                                 for v in module.parameters().values()])
        assert np.all(np.abs(values) <= bound * (1 + 1e-7))
        # U(-k, k): mean 0, sd k/sqrt(3); checked at 6 sigma of the sample size
        n, sd = values.size, bound / math.sqrt(3)
        assert abs(values.mean()) < 6 * sd / math.sqrt(n)
        if n >= 200:
            assert values.max() > 0.95 * bound and values.min() < -0.95 * bound
            assert abs(values.std() - sd) < 6 * 0.9 * sd / math.sqrt(n)
        for name, v in module.parameters().items():
            assert np.all(np.isfinite(v)) and np.any(v != 0), name


# ---------------------------------------------------------------- lengths
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("config", ["uni", "bidir", "bidir_2l", "2l_sum"])
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_lengths_equal_running_each_truncated_sequence(kind, config, batch_first):
    T, I, H = 6, 3, 4
    lengths = np.array([4, 0, T, 1, 2])
    B = len(lengths)
    kw = {"uni": dict(), "bidir": dict(bidirectional=True),
          "bidir_2l": dict(bidirectional=True, num_layers=2),
          "2l_sum": dict(bidirectional=True, num_layers=2, merge_mode="sum")}[config]
    layer = make_layer(kind, I, H, dtype="float64", seed=0, batch_first=batch_first, **kw)
    LD = layer.num_layers * (2 if layer.bidirectional else 1)
    rng = np.random.default_rng(14)
    x_tm = rng.standard_normal((T, B, I))
    # garbage past each length must not matter
    for b, L in enumerate(lengths):
        x_tm[L:, b] = 1e3
    hx = random_state(rng, layer, (LD, B, H))

    def bf(a):
        return np.ascontiguousarray(a.transpose(1, 0, 2)) if batch_first else a

    out, st = layer(bf(x_tm), hx, lengths=lengths)
    out = bf(out)  # back to time-major
    for b, L in enumerate(lengths):
        assert np.all(out[L:, b] == 0), f"row {b}: non-zero output past its length"
        hx_b = tuple(s[:, b:b + 1] for s in state_list(hx))
        if L == 0:
            for s, h in zip(state_list(st), hx_b):
                np.testing.assert_array_equal(s[:, b], h[:, 0])
            continue
        out_b, st_b = layer(bf(x_tm[:L, b:b + 1]), hx_b if kind == "lstm" else hx_b[0])
        np.testing.assert_allclose(out[:L, b], bf(out_b)[:, 0], rtol=1e-12, atol=1e-13,
                                   err_msg=f"row {b}")
        for s, sb in zip(state_list(st), state_list(st_b)):
            np.testing.assert_allclose(s[:, b], sb[:, 0], rtol=1e-12, atol=1e-13,
                                       err_msg=f"row {b}")


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_all_lengths_zero_and_lengths_as_list(kind):
    layer = make_layer(kind, 3, 4, num_layers=2, bidirectional=True, dtype="float64", seed=0)
    rng = np.random.default_rng(15)
    x = rng.standard_normal((5, 3, 3))
    hx = random_state(rng, layer, (4, 3, 4))
    out, st = layer(x, hx, lengths=[0, 0, 0])
    assert np.all(out == 0)
    for s, h in zip(state_list(st), state_list(hx)):
        np.testing.assert_array_equal(s, h)
    full, st_full = layer(x, hx)
    out, st = layer(x, hx, lengths=[5, 5, 5])
    np.testing.assert_array_equal(out, full)
    # gradients of rows with length 0: dx zero, dh0 = dh_n
    (out, st), bp = layer.forward_train(x, hx, lengths=np.array([0, 5, 0]))
    R, Rs = loss_and_seeds(rng, out, st)
    dx, dhx = bp(R, Rs)
    assert np.all(dx[:, [0, 2]] == 0)
    for g, r in zip(state_list(dhx), state_list(Rs)):
        np.testing.assert_array_equal(g[:, [0, 2]], r[:, [0, 2]])


# ------------------------------------------------------------------ NaN
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_nan_input_gives_nan_in_affected_outputs(kind, dtype):
    T, B, I, H = 6, 3, 3, 4
    rng = np.random.default_rng(16)
    x = rng.standard_normal((T, B, I))
    x[2, 1, 0] = np.nan
    layer = make_layer(kind, I, H, seed=0, dtype=dtype)
    out, st = layer(x)
    assert np.all(np.isfinite(out[:, [0, 2]]))
    assert np.all(np.isfinite(out[:2, 1]))
    assert np.all(np.isnan(out[2:, 1]))
    for s in state_list(st):
        assert np.all(np.isnan(s[:, 1])) and np.all(np.isfinite(s[:, [0, 2]]))

    bi = make_layer(kind, I, H, seed=0, dtype=dtype, bidirectional=True)
    out, _ = bi(x)
    assert np.all(np.isnan(out[2:, 1, :H])) and np.all(np.isfinite(out[:2, 1, :H]))
    assert np.all(np.isnan(out[:3, 1, H:])) and np.all(np.isfinite(out[3:, 1, H:]))
    assert np.all(np.isfinite(out[:, [0, 2]]))


# ---------------------------------------------------------------- dropout
@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_dropout_does_not_affect_inference(kind):
    rng = np.random.default_rng(17)
    x = rng.standard_normal((5, 3, 4))
    ref = make_layer(kind, 4, 6, num_layers=3, seed=0, dtype="float64")
    out_ref, st_ref = ref(x)
    for p in (0.0, 0.3, 0.9):
        layer = make_layer(kind, 4, 6, num_layers=3, dropout=p, seed=1, dtype="float64")
        layer.load_state_dict(ref.state_dict())
        out, st = layer(x)
        np.testing.assert_array_equal(out, out_ref)
        for a, b in zip(state_list(st), state_list(st_ref)):
            np.testing.assert_array_equal(a, b)
        out2, _ = layer(x)  # and does not change from call to call
        np.testing.assert_array_equal(out2, out_ref)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_dropout_in_training(kind, bidirectional):
    rng = np.random.default_rng(18)
    x = rng.standard_normal((5, 3, 4))
    kw = dict(num_layers=2, bidirectional=bidirectional, dtype="float64")
    a = make_layer(kind, 4, 6, dropout=0.5, seed=11, **kw)
    b = make_layer(kind, 4, 6, dropout=0.5, seed=11, **kw)
    plain = make_layer(kind, 4, 6, dropout=0.0, seed=12, **kw)
    plain.load_state_dict(a.state_dict())
    b.load_state_dict(a.state_dict())

    (out_a, st_a), _ = a.forward_train(x)
    (out_b, st_b), _ = b.forward_train(x)
    np.testing.assert_array_equal(out_a, out_b)           # same seed -> same masks
    for s, t in zip(state_list(st_a), state_list(st_b)):
        np.testing.assert_array_equal(s, t)
    (out_p, st_p), _ = plain.forward_train(x)
    np.testing.assert_array_equal(out_p, plain(x)[0])      # no dropout: training == inference
    assert not np.allclose(out_a, out_p)                   # dropout changes layer 2's input
    # layer 0's final state is computed before any dropout
    D = 2 if bidirectional else 1
    for s, t in zip(state_list(st_a), state_list(st_p)):
        np.testing.assert_array_equal(s[:D], t[:D])
        assert not np.allclose(s[D:], t[D:])
    # fresh masks on every training call
    (out_a2, _), _ = a.forward_train(x)
    assert not np.allclose(out_a, out_a2)


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_dropout_single_layer_is_a_no_op(kind):
    """Dropout acts between layers only: a one-layer layer trains without it."""
    x = np.random.default_rng(19).standard_normal((5, 3, 4))
    layer = make_layer(kind, 4, 6, dropout=0.5, seed=0, dtype="float64")
    (out, st), _ = layer.forward_train(x)
    np.testing.assert_array_equal(out, layer(x)[0])


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_dropout_gradients_finite_differences(kind):
    """Backprop through the dropout mask: a freshly built layer with the same
    seed draws the same first mask, so the masked loss is a function we can
    difference."""
    rng = np.random.default_rng(20)
    T, B, I, H = 4, 3, 3, 3
    x = rng.standard_normal((T, B, I))
    kw = dict(num_layers=2, bidirectional=True, dropout=0.4, dtype="float64", seed=99)
    base = make_layer(kind, I, H, **kw).state_dict()

    def fresh(params=None):
        layer = make_layer(kind, I, H, **kw)
        if params is not None:
            layer.load_state_dict(params)
        return layer

    layer = fresh()
    (out, st), bp = layer.forward_train(x)
    R, Rs = loss_and_seeds(rng, out, st)
    dx, _ = bp(R, Rs)

    def loss(xv, params=None):
        (o, s), _ = fresh(params).forward_train(xv)
        return weighted_sum(o, s, R, Rs)

    eps = 1e-6
    num = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        num[idx] = (loss(xp) - loss(xm)) / (2 * eps)
    np.testing.assert_allclose(dx, num, rtol=1e-5, atol=1e-7)
    for name in ("weight_ih_l1", "weight_ih_l1_reverse", "weight_hh_l0"):
        for idx in [(0, 0), (1, 2), (2, 4 if name != "weight_hh_l0" else 1)]:
            pp = {k: v.copy() for k, v in base.items()}
            pm = {k: v.copy() for k, v in base.items()}
            pp[name][idx] += eps
            pm[name][idx] -= eps
            numeric = (loss(x, pp) - loss(x, pm)) / (2 * eps)
            np.testing.assert_allclose(layer.grads[name][idx], numeric, rtol=1e-5, atol=1e-7,
                                       err_msg=f"{name}{idx}")


# ------------------------------------------------- finite-difference grads
def _fd_check(layer, x, hx, lengths, rng, n_param_entries=3, eps=1e-6):
    (out, st), bp = layer.forward_train(x, hx, lengths=lengths)
    R, Rs = loss_and_seeds(rng, out, st)
    layer.zero_grad()
    dx, dhx = bp(R, Rs)

    def loss():
        o, s = layer(x, hx, lengths=lengths)
        return weighted_sum(o, s, R, Rs)

    np.testing.assert_allclose(dx, numeric_grad(loss, x, eps), rtol=1e-5, atol=1e-7,
                               err_msg="dx")
    for g, h in zip(state_list(dhx), state_list(hx)):
        np.testing.assert_allclose(g, numeric_grad(loss, h, eps), rtol=1e-5, atol=1e-7,
                                   err_msg="dh0/dc0")
    params = layer.parameters()
    grads = layer.grads
    for name in sorted(params):
        p = params[name]
        for flat in rng.choice(p.size, size=min(n_param_entries, p.size), replace=False):
            idx = np.unravel_index(flat, p.shape)
            np.testing.assert_allclose(grads[name][idx], numeric_entry(loss, p, idx, eps),
                                       rtol=1e-5, atol=1e-7, err_msg=f"{name}{idx}")


@pytest.mark.parametrize("merge_mode", MERGE_MODES)
@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru", "gru_rb"])
def test_gradients_finite_differences_bidirectional_2_layers(kind, merge_mode):
    T, B, I, H = 4, 3, 3, 3
    rng = np.random.default_rng(21)
    layer = make_layer(kind, I, H, num_layers=2, bidirectional=True, merge_mode=merge_mode,
                       dtype="float64", seed=5)
    x = rng.standard_normal((T, B, I))
    hx = random_state(rng, layer, (4, B, H))
    _fd_check(layer, x, hx, np.array([4, 2, 0]), rng)


@pytest.mark.parametrize("kind", ["rnn_relu", "lstm", "gru"])
def test_gradients_finite_differences_batch_first_unbatched(kind):
    rng = np.random.default_rng(22)
    layer = make_layer(kind, 3, 3, num_layers=2, batch_first=True, bias=False,
                       dtype="float64", seed=6)
    x = rng.standard_normal((2, 4, 3))
    hx = random_state(rng, layer, (2, 2, 3))
    _fd_check(layer, x, hx, np.array([1, 4]), rng)
    layer.zero_grad()
    x1 = rng.standard_normal((4, 3))
    hx1 = random_state(rng, layer, (2, 3))
    _fd_check(layer, x1, hx1, None, rng)


# -------------------------------------------------------------------- cells
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_cell_shapes_and_none_state(kind, batched):
    rng = np.random.default_rng(23)
    cell = make_cell(kind, 3, 5, seed=0, dtype="float64")
    shape = (4, 5) if batched else (5,)
    x = rng.standard_normal((4, 3) if batched else (3,))
    new = cell(x)
    assert isinstance(new, tuple) == (kind == "lstm")
    zeros = tuple(np.zeros(shape) for _ in state_list(new))
    same = cell(x, zeros if kind == "lstm" else zeros[0])
    for a, b in zip(state_list(new), state_list(same)):
        assert a.shape == shape
        np.testing.assert_array_equal(a, b)
    if kind == "lstm":  # a None entry inside the tuple means zeros too
        for a, b in zip(cell(x, (None, None)), new):
            np.testing.assert_array_equal(a, b)
    st = random_state(rng, cell, shape)
    new, bp = cell.forward_train(x, st)
    dx, dprev = bp(tuple(np.ones(shape) for _ in state_list(new)) if kind == "lstm"
                   else np.ones(shape))
    assert dx.shape == x.shape
    for g in state_list(dprev):
        assert g.shape == shape


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_cell_steps_equal_one_layer(kind):
    """Chained cell steps equal a one-layer layer with the same weights."""
    rng = np.random.default_rng(24)
    T, B, I, H = 5, 3, 4, 6
    cell = make_cell(kind, I, H, seed=1, dtype="float64")
    layer = make_layer(kind, I, H, seed=2, dtype="float64")
    layer.load_state_dict({k + "_l0": v for k, v in cell.state_dict().items()})
    x = rng.standard_normal((T, B, I))
    st0 = random_state(rng, cell, (B, H))
    out, st_n = layer(x, tuple(s[None] for s in st0) if kind == "lstm" else st0[None])
    st = st0
    for t in range(T):
        st = cell(x[t], st)
        np.testing.assert_allclose(state_list(st)[0], out[t], rtol=1e-13, atol=1e-14)
    for a, b in zip(state_list(st), state_list(st_n)):
        np.testing.assert_allclose(a, b[0], rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru", "gru_rb"])
def test_cell_gradients_finite_differences(kind):
    rng = np.random.default_rng(25)
    cell = make_cell(kind, 3, 4, seed=3, dtype="float64")
    x = rng.standard_normal((2, 3))
    st = random_state(rng, cell, (2, 4))
    new, bp = cell.forward_train(x, st)
    Rs = [rng.standard_normal(s.shape) for s in state_list(new)]
    dx, dprev = bp(tuple(Rs) if kind == "lstm" else Rs[0])

    def loss():
        return sum(float(np.sum(s * r)) for s, r in zip(state_list(cell(x, st)), Rs))

    for g, arr in [(dx, x)] + list(zip(state_list(dprev), state_list(st))) + \
            [(cell.grads[k], v) for k, v in cell.parameters().items()]:
        np.testing.assert_allclose(g, numeric_grad(loss, arr), rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------ bad arguments
@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(hidden_size=0), ValueError, "hidden_size"),
    (dict(hidden_size=-3), ValueError, "hidden_size"),
    (dict(hidden_size=2.5), TypeError, "hidden_size"),
    (dict(input_size=0), ValueError, "input_size"),
    (dict(input_size="3"), TypeError, "input_size"),
    (dict(num_layers=0), ValueError, "num_layers"),
    (dict(num_layers=1.0), TypeError, "num_layers"),
    (dict(merge_mode="avg"), ValueError, "merge_mode"),
    (dict(dropout=1.5), ValueError, "dropout"),
    (dict(dropout=1.0), ValueError, "dropout"),
    (dict(dropout=-0.1), ValueError, "dropout"),
    (dict(dropout="0.5"), TypeError, "dropout"),
    (dict(bias="yes"), TypeError, "bias"),
    (dict(batch_first=1), TypeError, "batch_first"),
    (dict(bidirectional="no"), TypeError, "bidirectional"),
    (dict(dtype="float16"), ValueError, "dtype"),
    (dict(dtype="int32"), ValueError, "dtype"),
    (dict(dtype="nonsense"), TypeError, "dtype"),
    (dict(seed="a"), TypeError, "seed"),
], ids=lambda v: str(v) if not isinstance(v, dict) else "-".join(f"{k}={v[k]!r}" for k in v))
@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_bad_constructor_arguments(kind, kwargs, exc, match):
    args = dict(input_size=3, hidden_size=4)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        make_layer(kind, **args)


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(hidden_size=0), ValueError, "hidden_size"),
    (dict(input_size=0), ValueError, "input_size"),
    (dict(bias="yes"), TypeError, "bias"),
    (dict(dtype="float16"), ValueError, "dtype"),
])
@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_bad_cell_constructor_arguments(kind, kwargs, exc, match):
    args = dict(input_size=3, hidden_size=4)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        make_cell(kind, **args)


def test_bad_nonlinearity_and_reset_after():
    with pytest.raises(ValueError, match="nonlinearity"):
        fr.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="nonlinearity"):
        fr.RNNCell(3, 4, nonlinearity="sigmoid")
    with pytest.raises(TypeError, match="reset_after"):
        fr.GRU(3, 4, reset_after="yes")
    with pytest.raises(TypeError, match="reset_after"):
        fr.GRUCell(3, 4, reset_after=None)


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_bad_call_arguments(kind):
    layer = make_layer(kind, 3, 4, num_layers=2, seed=0)
    x = np.zeros((5, 2, 3))
    good_h = np.zeros((2, 2, 4))

    def hx_of(h):
        return (h, good_h) if kind == "lstm" else h

    with pytest.raises(ValueError, match="input_size"):
        layer(np.zeros((5, 2, 4)))
    for bad_x in (np.zeros((5, 2, 3, 1)), np.zeros(3), np.zeros(())):
        with pytest.raises(ValueError, match=r"\bx\b"):
            layer(bad_x)
    with pytest.raises(ValueError, match=r"\bx\b"):
        layer(np.zeros((0, 2, 3)))
    for bad_h in (np.zeros((1, 2, 4)), np.zeros((2, 3, 4)), np.zeros((2, 2, 5)), np.zeros((2, 4))):
        with pytest.raises(ValueError, match="h0"):
            layer(x, hx_of(bad_h))
    if kind == "lstm":
        with pytest.raises(ValueError, match="c0"):
            layer(x, (good_h, np.zeros((2, 2, 3))))
        with pytest.raises(TypeError, match="hx"):
            layer(x, good_h)  # LSTM needs (h0, c0)
        with pytest.raises(TypeError, match="hx"):
            layer(x, (good_h, good_h, good_h))
    for bad_len in ([6, 1], [-1, 2], [5, 5, 5], [[5, 5]]):
        with pytest.raises(ValueError, match="lengths"):
            layer(x, lengths=bad_len)
    for bad_len in ([1.5, 2], ["a", "b"]):
        with pytest.raises(TypeError, match="lengths"):
            layer(x, lengths=bad_len)
    # backprop arguments
    (out, st), bp = layer.forward_train(x)
    with pytest.raises(ValueError, match="dout"):
        bp(np.zeros((5, 2, 5)))
    (out, st), bp = layer.forward_train(x)
    bad_ds = np.zeros((2, 2, 5))
    with pytest.raises(ValueError, match="dh_n"):
        bp(np.zeros(out.shape), (bad_ds, None) if kind == "lstm" else bad_ds)


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_bad_cell_call_arguments(kind):
    cell = make_cell(kind, 3, 4, seed=0)
    with pytest.raises(ValueError, match="input_size"):
        cell(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"\bx\b"):
        cell(np.zeros((1, 2, 3)))
    with pytest.raises(TypeError, match=r"\bx\b"):
        cell(np.zeros((2, 3), dtype=complex))
    bad = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"\bh\b"):
        cell(np.zeros((2, 3)), (bad, np.zeros((2, 4))) if kind == "lstm" else bad)
    if kind == "lstm":
        with pytest.raises(TypeError, match="state"):
            cell(np.zeros((2, 3)), np.zeros((2, 4)))
    new, bp = cell.forward_train(np.zeros((2, 3)))
    with pytest.raises((TypeError, ValueError), match="dstate|dh"):
        bp(None)


# ------------------------------------------------------------------ runtime
@pytest.fixture
def restore_threads():
    before = fr.get_num_threads()
    yield
    fr.set_num_threads(before)


def test_num_threads_round_trip(restore_threads):
    assert isinstance(fr.get_num_threads(), int) and fr.get_num_threads() >= 1
    for n in (1, 3, 2):
        fr.set_num_threads(n)
        assert fr.get_num_threads() == n
    fr.set_num_threads(np.int64(2))
    assert fr.get_num_threads() == 2 and type(fr.get_num_threads()) is int


@pytest.mark.parametrize("bad,exc", [(0, ValueError), (-1, ValueError), (1.5, TypeError),
                                     (True, TypeError), ("2", TypeError), (None, TypeError)])
def test_set_num_threads_rejects_invalid(restore_threads, bad, exc):
    fr.set_num_threads(2)
    with pytest.raises(exc):
        fr.set_num_threads(bad)
    assert fr.get_num_threads() == 2  # unchanged


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_thread_count_does_not_change_results(restore_threads, kind):
    rng = np.random.default_rng(26)
    layer = make_layer(kind, 5, 8, num_layers=2, bidirectional=True, dtype="float64", seed=0)
    x = rng.standard_normal((6, 9, 5))
    lengths = np.array([6, 1, 3, 0, 6, 2, 5, 4, 6])
    results = []
    for n in (1, 2, 4):
        fr.set_num_threads(n)
        layer.zero_grad()
        (out, st), bp = layer.forward_train(x, lengths=lengths)
        dx, _ = bp(np.ones(out.shape))
        results.append((out, dx, {k: v.copy() for k, v in layer.grads.items()}))
    for out, dx, g in results[1:]:
        np.testing.assert_allclose(out, results[0][0], rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(dx, results[0][1], rtol=1e-12, atol=1e-13)
        for k in g:
            np.testing.assert_allclose(g[k], results[0][2][k], rtol=1e-12, atol=1e-12)


def test_show_config_prints_openmp(capsys):
    fr.show_config()
    text = capsys.readouterr().out
    assert "OpenMP" in text
    assert "BLAS" in text and "SIMD" in text and "thread" in text.lower()


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_gradient_of_defaulted_state_is_zeros(kind):
    """dhx is zeros where hx was None (per entry for LSTM's tuple);
    cells likewise for a state passed as None."""
    rng = np.random.default_rng(27)
    layer = make_layer(kind, 3, 4, num_layers=2, bidirectional=True, dtype="float64", seed=0)
    x = rng.standard_normal((5, 2, 3))
    (out, st), bp = layer.forward_train(x)
    R, Rs = loss_and_seeds(rng, out, st)
    _, dhx = bp(R, Rs)
    for g in state_list(dhx):
        assert g.shape == (4, 2, 4) and np.all(g == 0)
    if kind == "lstm":
        h0 = rng.standard_normal((4, 2, 4))
        (out, st), bp = layer.forward_train(x, (h0, None))
        _, (dh0, dc0) = bp(R, Rs)
        assert np.all(dc0 == 0) and np.any(dh0 != 0)
        (out, st), bp = layer.forward_train(x, (None, h0))
        _, (dh0, dc0) = bp(R, Rs)
        assert np.all(dh0 == 0) and np.any(dc0 != 0)
    cell = make_cell(kind, 3, 4, dtype="float64", seed=0)
    new, cbp = cell.forward_train(x[0])
    _, dprev = cbp(tuple(np.ones(s.shape) for s in new) if kind == "lstm" else np.ones(new.shape))
    for g in state_list(dprev):
        assert g.shape == (2, 4) and np.all(g == 0)


def test_python_threads_run_layers_concurrently_with_the_same_results():
    # Kernels release the GIL; concurrent calls must not disturb each other
    # (their buffers are their own; BLAS thread limits are reference-counted).
    import threading

    rng = np.random.default_rng(3)
    layers = [fr.LSTM(6, 9, seed=1), fr.GRU(6, 9, seed=2), fr.RNN(6, 9, seed=3)]
    xs = [rng.standard_normal((12, 5, 6)).astype(np.float32) for _ in range(6)]
    lengths = np.array([12, 3, 7, 0, 9])
    expected = [[m(x, lengths=lengths)[0] for x in xs] for m in layers]
    results = [[None] * len(xs) for _ in layers]

    def work(i):
        for _ in range(3):
            for j, x in enumerate(xs):
                results[i][j] = layers[i](x, lengths=lengths)[0]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(layers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(len(layers)):
        for j in range(len(xs)):
            np.testing.assert_array_equal(results[i][j], expected[i][j])

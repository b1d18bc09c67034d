"""The recurrent layers' calls (their docstrings' contract, without torch):
output and state shapes, merge modes, layouts, dtypes, inputs left alone,
training forward equal to inference, lengths, NaN."""

import numpy as np
import pytest

from helpers.layers import (ALL_KINDS, GATES, MERGE_MODES, expected_keys, loss_and_seeds,
                            make_cell, make_layer, random_state, state_list)



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

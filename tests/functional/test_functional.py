"""Tests of fastrnn.functional.recurrent / recurrent_train (one layer, one
direction) against the readable numpy reference in tests/helpers/reference.py, plus
finite-difference gradient checks, threading, NaN propagation and validation.
"""
import numpy as np
import pytest

from fastrnn import _runtime
from fastrnn import functional as F

from helpers.running import torch_or_skip
from helpers.gradcheck import numeric_grad
from helpers.reference import CELLS, num_gates, random_params, random_problem, reference_forward

CELL_IDS = ["rnn_tanh", "rnn_relu", "lstm", "gru", "gru_reset_before"]
DTYPES = [np.float32, np.float64]


def _cells():
    return pytest.mark.parametrize("mode,reset_after", CELLS, ids=CELL_IDS)


def _ref(mode, kw, lengths=None, reverse=False, reset_after=True):
    return reference_forward(mode, kw["x"], kw["w_ih"], kw["w_hh"], kw["b_ih"], kw["b_hh"],
                             kw["hx"], kw["cx"], lengths, reverse, reset_after)


def _assert_close(actual, expected, dtype, what):
    if dtype == np.float64:
        np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12, err_msg=what)
    else:
        np.testing.assert_allclose(actual, expected, rtol=2e-5, atol=2e-6, err_msg=what)


@pytest.fixture
def threads():
    """Yields fastrnn._runtime.set_num_threads and restores the old count."""
    before = _runtime.get_num_threads()
    yield _runtime.set_num_threads
    _runtime.set_num_threads(before)


# ------------------------------------------------------------------- forward
@_cells()
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("reverse", [False, True], ids=["fwd", "rev"])
@pytest.mark.parametrize("ragged", [False, True], ids=["full", "ragged"])
@pytest.mark.parametrize("states", [False, True], ids=["h0none", "h0"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
def test_forward_matches_reference(rng, mode, reset_after, dtype, reverse, ragged, states, bias,
                                   plan):
    T, B, I, H = 6, 5, 4, 30  # H above one unit block: the unit split is real
    kw = random_problem(rng, mode, T, B, I, H, bias=bias, states=states, dtype=dtype)
    lengths = np.array([T, 0, 3, 1, T - 1]) if ragged else None
    out, h_n, c_n = F.recurrent(mode, lengths=lengths, reverse=reverse,
                                reset_after=reset_after, **kw)
    r_out, r_h, r_c = _ref(mode, kw, lengths, reverse, reset_after)

    assert out.shape == (T, B, H) and out.dtype == dtype
    assert h_n.shape == (B, H) and h_n.dtype == dtype
    _assert_close(out, r_out, dtype, "out")
    _assert_close(h_n, r_h, dtype, "h_n")
    if mode == "lstm":
        assert c_n.shape == (B, H) and c_n.dtype == dtype
        _assert_close(c_n, r_c, dtype, "c_n")
    else:
        assert c_n is None
    if ragged:
        # Exact semantics of the padding: zeros past each length, and a
        # length-0 row returns its initial state bit for bit.
        for b, L in enumerate(lengths):
            assert np.all(out[L:, b] == 0)
        h0 = np.zeros((B, H), dtype) if kw["hx"] is None else kw["hx"]
        np.testing.assert_array_equal(h_n[1], h0[1])
        if mode == "lstm":
            c0 = np.zeros((B, H), dtype) if kw["cx"] is None else kw["cx"]
            np.testing.assert_array_equal(c_n[1], c0[1])


@_cells()
def test_reverse_equals_forward_on_flipped_rows(rng, mode, reset_after):
    """Independent of the reference: reverse over a row's valid part is the
    forward pass over that part flipped in time."""
    T, B, I, H = 5, 4, 3, 4
    kw = random_problem(rng, mode, T, B, I, H)
    lengths = np.array([5, 2, 0, 4])
    out, h_n, c_n = F.recurrent(mode, lengths=lengths, reverse=True, reset_after=reset_after, **kw)
    for b, L in enumerate(lengths):
        one = dict(kw, x=kw["x"][:, b:b + 1].copy(), hx=kw["hx"][b:b + 1],
                   cx=None if kw["cx"] is None else kw["cx"][b:b + 1])
        if L == 0:
            np.testing.assert_array_equal(h_n[b], kw["hx"][b])
            assert np.all(out[:, b] == 0)
            continue
        one["x"] = one["x"][:L][::-1]
        o1, h1, c1 = F.recurrent(mode, reset_after=reset_after, **one)
        np.testing.assert_allclose(out[:L, b], o1[::-1, 0], rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(h_n[b], h1[0], rtol=1e-13, atol=1e-13)
        if mode == "lstm":
            np.testing.assert_allclose(c_n[b], c1[0], rtol=1e-13, atol=1e-13)


@_cells()
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_padding_values_are_ignored_forward(rng, mode, reset_after, dtype):
    """Whatever sits past a row's length (even inf / NaN) changes nothing."""
    T, B, I, H = 5, 3, 3, 4
    kw = random_problem(rng, mode, T, B, I, H, dtype=dtype)
    lengths = np.array([5, 2, 0])
    for reverse in (False, True):
        clean = F.recurrent(mode, lengths=lengths, reverse=reverse, reset_after=reset_after, **kw)
        dirty_x = kw["x"].copy()
        dirty_x[2:, 1] = np.nan
        dirty_x[:, 2] = np.inf
        dirty = F.recurrent(mode, **dict(kw, x=dirty_x), lengths=lengths, reverse=reverse,
                            reset_after=reset_after)
        for a, b in zip(clean, dirty):
            if a is not None:
                np.testing.assert_array_equal(a, b)


@_cells()
def test_padding_values_are_ignored_backward(rng, mode, reset_after):
    T, B, I, H = 5, 3, 3, 4
    kw = random_problem(rng, mode, T, B, I, H)
    lengths = np.array([5, 2, 0])
    grads = []
    for pad in (0.0, np.nan):
        x = kw["x"].copy()
        x[2:, 1] = pad
        x[:, 2] = pad
        (out, h_n, c_n), bp = F.recurrent_train(mode, **dict(kw, x=x), lengths=lengths,
                                                reset_after=reset_after)
        grads.append(bp(np.ones_like(out), np.ones_like(h_n)))
    for k in ("w_ih", "w_hh", "b_ih", "b_hh"):
        np.testing.assert_array_equal(grads[0][3][k], grads[1][3][k], err_msg=k)


@_cells()
def test_rows_are_independent(rng, mode, reset_after):
    """A batched call equals one call per row (with per-row lengths)."""
    T, B, I, H = 4, 3, 2, 3
    kw = random_problem(rng, mode, T, B, I, H)
    lengths = np.array([4, 1, 3])
    out, h_n, c_n = F.recurrent(mode, lengths=lengths, reset_after=reset_after, **kw)
    for b in range(B):
        one = dict(kw, x=kw["x"][:, b:b + 1], hx=kw["hx"][b:b + 1],
                   cx=None if kw["cx"] is None else kw["cx"][b:b + 1])
        o1, h1, c1 = F.recurrent(mode, lengths=lengths[b:b + 1], reset_after=reset_after, **one)
        np.testing.assert_allclose(out[:, b], o1[:, 0], rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(h_n[b], h1[0], rtol=1e-13, atol=1e-14)
        if mode == "lstm":
            np.testing.assert_allclose(c_n[b], c1[0], rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("mode", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_reference_matches_torch(rng, mode):
    """Sanity of the reference itself against PyTorch (packed sequences,
    both directions), for the four cells torch has."""
    torch = torch_or_skip()
    T, B, I, H = 5, 4, 3, 4
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}.get(mode)
    if cls is None:
        mod = torch.nn.RNN(I, H, nonlinearity=mode[4:], bidirectional=True).double()
    else:
        mod = cls(I, H, bidirectional=True).double()
    x = rng.standard_normal((T, B, I))
    h0 = rng.uniform(-0.5, 0.5, (2, B, H))
    c0 = rng.uniform(-0.5, 0.5, (2, B, H))
    lengths = np.array([5, 3, 1, 4])
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.from_numpy(x), torch.from_numpy(lengths),
                                                     enforce_sorted=False)
    hx = (torch.from_numpy(h0), torch.from_numpy(c0)) if mode == "lstm" else torch.from_numpy(h0)
    with torch.no_grad():
        t_out, t_state = mod(packed, hx)
    t_out, _ = torch.nn.utils.rnn.pad_packed_sequence(t_out, total_length=T)
    t_out = t_out.numpy()
    t_h = (t_state[0] if mode == "lstm" else t_state).numpy()
    sd = {k: v.detach().numpy() for k, v in mod.state_dict().items()}
    for d, suffix in enumerate(["", "_reverse"]):
        p = [sd[f"{n}_l0{suffix}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        o, h, c = reference_forward(mode, x, *p, h0[d], c0[d], lengths, reverse=bool(d))
        np.testing.assert_allclose(o, t_out[:, :, d * H:(d + 1) * H], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(h, t_h[d], rtol=1e-10, atol=1e-12)
        if mode == "lstm":
            np.testing.assert_allclose(c, t_state[1][d].numpy(), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------ gradients
GRAD_T, GRAD_B, GRAD_I, GRAD_H = 4, 3, 3, 13  # H = 13: two float64 unit blocks
GRAD_LENGTHS = np.array([4, 0, 2])


def _grad_problem(rng, mode, dtype=np.float64, lengths=GRAD_LENGTHS):
    T, B, I, H = GRAD_T, GRAD_B, GRAD_I, GRAD_H
    kw = random_problem(rng, mode, T, B, I, H, dtype=np.float64)
    # Loss weights: L = sum(out * R) + sum(h_n * Rh) + sum(c_n * Rc).
    R = rng.standard_normal((T, B, H))
    Rh = rng.standard_normal((B, H))
    Rc = rng.standard_normal((B, H)) if mode == "lstm" else None
    if dtype != np.float64:
        kw = {k: None if v is None else v.astype(dtype) for k, v in kw.items()}
    return kw, R, Rh, Rc, lengths


def _loss(mode, kw, R, Rh, Rc, lengths, reverse, reset_after):
    out, h_n, c_n = F.recurrent(mode, lengths=lengths, reverse=reverse,
                                reset_after=reset_after, **kw)
    loss = np.sum(out * R) + np.sum(h_n * Rh)
    if Rc is not None:
        loss += np.sum(c_n * Rc)
    return loss


def _analytic(mode, kw, R, Rh, Rc, lengths, reverse, reset_after):
    (out, h_n, c_n), bp = F.recurrent_train(mode, lengths=lengths, reverse=reverse,
                                            reset_after=reset_after, **kw)
    dt = kw["x"].dtype
    dx, dh0, dc0, grads = bp(R.astype(dt), Rh.astype(dt), None if Rc is None else Rc.astype(dt))
    res = dict(grads, x=dx, hx=dh0)
    if mode == "lstm":
        res["cx"] = dc0
    return res


def _numeric(mode, kw, R, Rh, Rc, lengths, reverse, reset_after, names, eps=1e-6):
    res = {}
    for name in names:
        res[name] = numeric_grad(
            lambda: _loss(mode, kw, R, Rh, Rc, lengths, reverse, reset_after), kw[name], eps)
    return res


@_cells()
@pytest.mark.parametrize("reverse", [False, True], ids=["fwd", "rev"])
def test_gradients_finite_differences(rng, mode, reset_after, reverse, plan):
    kw, R, Rh, Rc, lengths = _grad_problem(rng, mode)
    names = ["x", "hx", "w_ih", "w_hh", "b_ih", "b_hh"] + (["cx"] if mode == "lstm" else [])
    ana = _analytic(mode, kw, R, Rh, Rc, lengths, reverse, reset_after)
    num = _numeric(mode, kw, R, Rh, Rc, lengths, reverse, reset_after, names)
    assert set(ana) == set(names)
    for name in names:
        assert ana[name].shape == kw[name].shape and ana[name].dtype == np.float64, name
        np.testing.assert_allclose(ana[name], num[name], rtol=1e-6, atol=1e-8, err_msg=name)
    # Exact structure: nothing flows to x past a length, and the length-0 row's
    # initial state gets exactly the gradient given to its final state.
    for b, L in enumerate(lengths):
        assert np.all(ana["x"][L:, b] == 0)
    np.testing.assert_array_equal(ana["hx"][1], Rh[1])
    if mode == "lstm":
        np.testing.assert_array_equal(ana["cx"][1], Rc[1])


@_cells()
def test_gradients_without_bias_equal_zero_bias(rng, mode, reset_after):
    kw, R, Rh, Rc, lengths = _grad_problem(rng, mode)
    zero_bias = dict(kw, b_ih=np.zeros_like(kw["b_ih"]), b_hh=np.zeros_like(kw["b_hh"]))
    no_bias = dict(kw, b_ih=None, b_hh=None)
    a = _analytic(mode, zero_bias, R, Rh, Rc, lengths, False, reset_after)
    b = _analytic(mode, no_bias, R, Rh, Rc, lengths, False, reset_after)
    assert "b_ih" not in b and "b_hh" not in b
    for name in b:
        np.testing.assert_allclose(b[name], a[name], rtol=1e-14, atol=1e-15, err_msg=name)


@_cells()
@pytest.mark.parametrize("reverse", [False, True], ids=["fwd", "rev"])
def test_float32_gradients_close_to_float64(rng, mode, reset_after, reverse):
    kw64, R, Rh, Rc, lengths = _grad_problem(rng, mode)
    kw32 = {k: None if v is None else v.astype(np.float32) for k, v in kw64.items()}
    g64 = _analytic(mode, kw64, R, Rh, Rc, lengths, reverse, reset_after)
    g32 = _analytic(mode, kw32, R, Rh, Rc, lengths, reverse, reset_after)
    for name, ref in g64.items():
        assert g32[name].dtype == np.float32, name
        scale = max(1.0, np.abs(ref).max())
        np.testing.assert_allclose(g32[name], ref, rtol=1e-4, atol=1e-4 * scale, err_msg=name)


@_cells()
def test_grads_accumulate_into_passed_arrays(rng, mode, reset_after):
    kw, R, Rh, Rc, lengths = _grad_problem(rng, mode)
    fresh = _analytic(mode, kw, R, Rh, Rc, lengths, True, reset_after)
    start = {k: rng.standard_normal(kw[k].shape) for k in ("w_ih", "w_hh", "b_ih", "b_hh")}
    passed = {k: v.copy() for k, v in start.items()}
    (_, bp) = F.recurrent_train(mode, lengths=lengths, reverse=True, reset_after=reset_after, **kw)
    _, _, _, grads = bp(R, Rh, Rc, grads=passed)
    for k in start:
        assert grads[k] is passed[k], f"{k} was not accumulated in place"
        np.testing.assert_allclose(passed[k], start[k] + fresh[k], rtol=1e-14, atol=1e-14, err_msg=k)

    # A partial dict: missing entries are allocated, given ones accumulate.
    partial = {"w_hh": start["w_hh"].copy()}
    (_, bp) = F.recurrent_train(mode, lengths=lengths, reverse=True, reset_after=reset_after, **kw)
    _, _, _, grads = bp(R, Rh, Rc, grads=partial)
    assert grads["w_hh"] is partial["w_hh"]
    np.testing.assert_allclose(grads["w_hh"], start["w_hh"] + fresh["w_hh"], rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(grads["w_ih"], fresh["w_ih"], rtol=1e-14, atol=1e-15)


def test_grads_dict_with_wrong_array_raises(rng):
    kw, R, Rh, Rc, lengths = _grad_problem(rng, "gru")
    for bad in (np.zeros((3, 3)), np.zeros(kw["w_ih"].shape, np.float32),
                np.zeros(kw["w_ih"].shape[::-1]).T):
        (_, bp) = F.recurrent_train("gru", **kw)
        with pytest.raises(ValueError, match="w_ih"):
            bp(R, Rh, grads={"w_ih": bad})


@_cells()
def test_backprop_twice_raises(rng, mode, reset_after):
    kw, R, Rh, Rc, lengths = _grad_problem(rng, mode)
    (out, _, _), bp = F.recurrent_train(mode, reset_after=reset_after, **kw)
    bp(np.ones_like(out))
    with pytest.raises(RuntimeError, match="once"):
        bp(np.ones_like(out))


@_cells()
def test_none_upstream_gradients_mean_zeros(rng, mode, reset_after):
    kw, R, Rh, Rc, lengths = _grad_problem(rng, mode)
    zR, zRh = np.zeros_like(R), np.zeros_like(Rh)
    zRc = None if Rc is None else np.zeros_like(Rc)
    cases = [  # (args passed to backprop, equivalent explicit arguments)
        ((None, Rh, Rc), (zR, Rh, Rc)),
        ((R, None, None), (R, zRh, zRc)),
        ((None, None, None), (zR, zRh, zRc)),
    ]
    for given, explicit in cases:
        results = []
        for args in (given, explicit):
            (_, bp) = F.recurrent_train(mode, lengths=lengths, reset_after=reset_after, **kw)
            dx, dh0, dc0, grads = bp(*args)
            results.append(dict(grads, x=dx, hx=dh0, cx=dc0))
        for k, v in results[1].items():
            if v is None:
                assert results[0][k] is None
            else:
                np.testing.assert_array_equal(results[0][k], v, err_msg=k)
    # All-None upstream gives exactly zero gradients.
    assert all(np.all(v == 0) for v in results[0].values() if v is not None)


def test_dc0_none_unless_lstm(rng):
    kw, R, Rh, Rc, lengths = _grad_problem(rng, "gru")
    (_, bp) = F.recurrent_train("gru", **kw)
    dx, dh0, dc0, grads = bp(R, Rh)
    assert dc0 is None and set(grads) == {"w_ih", "w_hh", "b_ih", "b_hh"}
    kw, R, Rh, Rc, lengths = _grad_problem(rng, "lstm")
    kw["cx"] = None
    (_, bp) = F.recurrent_train("lstm", **kw)
    dx, dh0, dc0, grads = bp(R, Rh, Rc)
    assert dc0.shape == (GRAD_B, GRAD_H) and np.any(dc0 != 0)


@_cells()
def test_training_forward_equals_inference(rng, mode, reset_after):
    kw = random_problem(rng, mode, 5, 4, 3, 6, dtype=np.float32)
    lengths = np.array([5, 0, 2, 4])
    inf = F.recurrent(mode, lengths=lengths, reverse=True, reset_after=reset_after, **kw)
    (tr), _ = F.recurrent_train(mode, lengths=lengths, reverse=True, reset_after=reset_after, **kw)
    for a, b in zip(inf, tr):
        if a is None:
            assert b is None
        else:
            np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------- threads
@_cells()
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_one_and_two_threads_agree(rng, mode, reset_after, dtype, threads, plan):
    T, B, I, H = 6, 7, 5, 30
    kw = random_problem(rng, mode, T, B, I, H, dtype=dtype)
    lengths = np.array([6, 0, 3, 6, 1, 5, 2])
    R = rng.standard_normal((T, B, H)).astype(dtype)
    Rh = rng.standard_normal((B, H)).astype(dtype)
    Rc = rng.standard_normal((B, H)).astype(dtype) if mode == "lstm" else None
    results = []
    for n in (1, 2):
        threads(n)
        assert _runtime.get_num_threads() == n
        for reverse in (False, True):
            (out, h_n, c_n), bp = F.recurrent_train(mode, lengths=lengths, reverse=reverse,
                                                    reset_after=reset_after, **kw)
            dx, dh0, dc0, grads = bp(R, Rh, Rc)
            inf = F.recurrent(mode, lengths=lengths, reverse=reverse, reset_after=reset_after, **kw)
            results.append(dict(grads, out=out, h_n=h_n, c_n=c_n, dx=dx, dh0=dh0, dc0=dc0,
                                out_inf=inf[0], h_inf=inf[1]))
    # Each row's recurrence is the same arithmetic whatever the chunking; only
    # the after-loop weight-gradient GEMMs may sum in another order (threaded
    # BLAS), hence a tolerance relative to each array's scale.
    rel = 1e-13 if dtype == np.float64 else 1e-6
    for one, two in zip(results[:2], results[2:]):
        for k, v in one.items():
            if v is None:
                assert two[k] is None
            else:
                scale = max(1.0, float(np.abs(v).max()))
                np.testing.assert_allclose(two[k], v, rtol=10 * rel, atol=rel * scale, err_msg=k)


# ----------------------------------------------------------------------- NaN
@_cells()
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("reverse", [False, True], ids=["fwd", "rev"])
def test_nan_stays_in_its_row(rng, mode, reset_after, dtype, reverse):
    T, B, I, H = 5, 4, 3, 5
    kw = random_problem(rng, mode, T, B, I, H, dtype=dtype)
    clean = F.recurrent(mode, reverse=reverse, reset_after=reset_after, **kw)
    x = kw["x"].copy()
    t0, bad = 2, 1
    x[t0, bad, 0] = np.nan
    out, h_n, c_n = F.recurrent(mode, **dict(kw, x=x), reverse=reverse, reset_after=reset_after)
    # The NaN reaches every output of its row from t0 on (in processing order)
    # and the final state: fast activations must not clamp it away.
    hit = slice(0, t0 + 1) if reverse else slice(t0, T)
    assert np.all(np.isnan(out[hit, bad]))
    assert np.all(np.isnan(h_n[bad]))
    if mode == "lstm":
        assert np.all(np.isnan(c_n[bad]))
    # Outputs before it are untouched, and every other row is bit-identical.
    before = slice(t0 + 1, T) if reverse else slice(0, t0)
    np.testing.assert_array_equal(out[before, bad], clean[0][before, bad])
    others = [b for b in range(B) if b != bad]
    np.testing.assert_array_equal(out[:, others], clean[0][:, others])
    np.testing.assert_array_equal(h_n[others], clean[1][others])
    if mode == "lstm":
        np.testing.assert_array_equal(c_n[others], clean[2][others])


# ---------------------------------------------------------------- validation
def _valid(rng, mode="lstm", T=3, B=2, I=4, H=5):
    return random_problem(rng, mode, T, B, I, H)


@pytest.mark.parametrize("change,exc,match", [
    (dict(x=np.zeros((3, 4))), ValueError, "x must be 3-D"),
    (dict(x=np.zeros((3, 2, 4, 1))), ValueError, "x must be 3-D"),
    (dict(x=np.zeros((0, 2, 4))), ValueError, "x must have at least"),
    (dict(x=np.zeros((3, 2, 5))), ValueError, "w_ih"),  # input width mismatch
    (dict(x=np.zeros((3, 2, 4), dtype=complex)), TypeError, "x"),
    (dict(x=np.array([["a"]])), TypeError, "x"),
    (dict(x=[[[1.0, 2.0]], [[1.0]]]), TypeError, "x"),  # ragged nested list
    (dict(w_ih=np.zeros((20, 3))), ValueError, "w_ih"),
    (dict(w_ih=np.zeros((19, 4))), ValueError, "w_ih"),  # not 4*H rows
    (dict(w_ih=np.zeros(20)), ValueError, "w_ih"),
    (dict(w_ih=np.zeros((20, 4), dtype=np.int64)), TypeError, "w_ih"),
    (dict(w_ih=np.zeros((20, 4), dtype=complex)), TypeError, "w_ih"),
    (dict(w_hh=np.zeros((20, 4))), ValueError, "w_hh"),
    (dict(w_hh=np.zeros((16, 5))), ValueError, "w_hh"),
    (dict(w_hh=np.zeros((20, 5), dtype=complex)), TypeError, "w_hh"),
    (dict(b_ih=np.zeros(19)), ValueError, "b_ih"),
    (dict(b_hh=np.zeros((20, 1))), ValueError, "b_hh"),
    (dict(b_hh=None), ValueError, "b_ih and b_hh"),
    (dict(b_ih=None), ValueError, "b_ih and b_hh"),
    (dict(b_ih=np.zeros(20, dtype=complex)), TypeError, "b_ih"),
    (dict(hx=np.zeros((2, 4))), ValueError, "hx"),
    (dict(hx=np.zeros((1, 2, 5))), ValueError, "hx"),
    (dict(hx=np.zeros((2, 5), dtype=complex)), TypeError, "hx"),
    (dict(cx=np.zeros((3, 5))), ValueError, "cx"),
    (dict(cx="abc"), TypeError, "cx"),
    (dict(lengths=[3, 4]), ValueError, "lengths"),
    (dict(lengths=[-1, 2]), ValueError, "lengths"),
    (dict(lengths=[3]), ValueError, "lengths"),
    (dict(lengths=[[3, 3]]), ValueError, "lengths"),
    (dict(lengths=[1.5, 2]), TypeError, "lengths"),
    (dict(lengths=[np.nan, 2.0]), TypeError, "lengths"),
    (dict(lengths=["3", "2"]), TypeError, "lengths"),
    (dict(lengths=[True, False]), TypeError, "lengths"),
    (dict(lengths=[1 + 0j, 2]), TypeError, "lengths"),
    (dict(mode="transformer"), ValueError, "mode"),
])
def test_validation_errors(rng, change, exc, match):
    kw = _valid(rng)
    change = dict(change)
    mode = change.pop("mode", "lstm")
    kw.update(change)
    with pytest.raises(exc, match=match):
        F.recurrent(mode, **kw)
    with pytest.raises(exc, match=match):
        F.recurrent_train(mode, **kw)


def test_cx_refused_for_non_lstm(rng):
    kw = _valid(rng, mode="gru")
    with pytest.raises(ValueError, match="cx"):
        F.recurrent("gru", **dict(kw, cx=np.zeros((2, 5))))


@pytest.mark.parametrize("arg,value,exc", [
    ("dout", np.zeros((3, 2, 4)), ValueError),
    ("dout", np.zeros((3, 2, 5), dtype=complex), TypeError),
    ("dh_n", np.zeros((2, 4)), ValueError),
    ("dc_n", np.zeros((5, 2)), ValueError),
])
def test_backprop_validation(rng, arg, value, exc):
    kw = _valid(rng)
    (_, bp) = F.recurrent_train("lstm", **kw)
    with pytest.raises(exc, match=arg):
        bp(**{arg: value})


def test_integral_float_lengths_accepted(rng):
    kw = _valid(rng)
    a = F.recurrent("lstm", lengths=np.array([3, 1]), **kw)
    b = F.recurrent("lstm", lengths=np.array([3.0, 1.0]), **kw)
    c = F.recurrent("lstm", lengths=[3, 1], **kw)
    for u, v, w in zip(a, b, c):
        np.testing.assert_array_equal(u, v)
        np.testing.assert_array_equal(u, w)


# ---------------------------------------------------------------- edge cases
@_cells()
@pytest.mark.parametrize("T,B", [(1, 1), (1, 3), (4, 1)])
@pytest.mark.parametrize("reverse", [False, True], ids=["fwd", "rev"])
def test_small_time_and_batch(rng, mode, reset_after, T, B, reverse):
    kw = random_problem(rng, mode, T, B, 3, 4)
    out, h_n, c_n = F.recurrent(mode, reverse=reverse, reset_after=reset_after, **kw)
    r = _ref(mode, kw, None, reverse, reset_after)
    for a, b in zip((out, h_n, c_n), r):
        if a is not None:
            _assert_close(a, b, np.float64, "")
    # With one step the only output is the final state.
    if T == 1:
        np.testing.assert_array_equal(out[0], h_n)
    # Gradients exist with the right shapes for the degenerate sizes too.
    (_, bp) = F.recurrent_train(mode, reverse=reverse, reset_after=reset_after, **kw)
    dx, dh0, dc0, grads = bp(np.ones_like(out), np.ones_like(h_n))
    assert dx.shape == kw["x"].shape and dh0.shape == h_n.shape
    assert np.all(np.isfinite(dx)) and np.any(dx != 0)


@_cells()
def test_all_lengths_zero(rng, mode, reset_after):
    kw = random_problem(rng, mode, 3, 2, 3, 4)
    (out, h_n, c_n), bp = F.recurrent_train(mode, lengths=[0, 0], reset_after=reset_after, **kw)
    assert np.all(out == 0)
    np.testing.assert_array_equal(h_n, kw["hx"])
    if mode == "lstm":
        np.testing.assert_array_equal(c_n, kw["cx"])
    Rh = rng.standard_normal(h_n.shape)
    dx, dh0, dc0, grads = bp(rng.standard_normal(out.shape), Rh)
    assert np.all(dx == 0)
    np.testing.assert_array_equal(dh0, Rh)
    assert all(np.all(g == 0) for g in grads.values())


@_cells()
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_non_contiguous_and_cast_inputs(rng, mode, reset_after, dtype):
    T, B, I, H = 5, 3, 4, 4
    kw = random_problem(rng, mode, T, B, I, H, dtype=dtype)
    lengths = np.array([5, 2, 4])
    expect = F.recurrent(mode, lengths=lengths, reset_after=reset_after, **kw)
    # x as a transposed view of a batch-first array; weights in Fortran order;
    # states strided; lengths as a strided int32 view.
    x_bt = np.ascontiguousarray(kw["x"].transpose(1, 0, 2))
    odd = dict(kw, x=x_bt.transpose(1, 0, 2), w_ih=np.asfortranarray(kw["w_ih"]),
               w_hh=np.asfortranarray(kw["w_hh"]),
               hx=np.repeat(kw["hx"], 2, axis=1)[:, ::2])
    assert not odd["x"].flags.c_contiguous and not odd["hx"].flags.c_contiguous
    lens = np.array([5, 0, 2, 0, 4, 0], dtype=np.int32)[::2]
    got = F.recurrent(mode, lengths=lens, reset_after=reset_after, **odd)
    for a, b in zip(got, expect):
        if a is not None:
            np.testing.assert_array_equal(a, b)
    # Lists and other precisions / integer dtypes are cast to the weights' dtype.
    other = np.float64 if dtype == np.float32 else np.float32
    cast = dict(kw, x=kw["x"].astype(other).tolist(), hx=kw["hx"].astype(other))
    got = F.recurrent(mode, lengths=lengths, reset_after=reset_after, **cast)
    assert got[0].dtype == dtype
    ref = _ref(mode, dict(kw, x=kw["x"].astype(other).astype(dtype),
                          hx=kw["hx"].astype(other).astype(dtype)), lengths, False, reset_after)
    _assert_close(got[0], ref[0], dtype, "out")
    (_, bp) = F.recurrent_train(mode, lengths=lengths, reset_after=reset_after, **odd)
    (_, bp2) = F.recurrent_train(mode, lengths=lengths, reset_after=reset_after, **kw)
    g1, g2 = bp(np.ones((T, B, H), dtype)), bp2(np.ones((T, B, H), dtype))
    np.testing.assert_array_equal(g1[0], g2[0])
    for k in g2[3]:
        np.testing.assert_array_equal(g1[3][k], g2[3][k])


def test_inputs_are_not_modified(rng):
    kw = random_problem(rng, "lstm", 4, 3, 3, 4)
    saved = {k: v.copy() for k, v in kw.items()}
    (out, h_n, c_n), bp = F.recurrent_train("lstm", lengths=[4, 1, 0], **kw)
    R, Rh, Rc = np.ones_like(out), np.ones_like(h_n), np.ones_like(c_n)
    bp(R, Rh, Rc)
    for k, v in saved.items():
        np.testing.assert_array_equal(kw[k], v, err_msg=k)
    # The states returned are new arrays, not the caller's h0 / c0.
    assert not np.shares_memory(h_n, kw["hx"]) and not np.shares_memory(c_n, kw["cx"])
    assert np.all(R == 1) and np.all(Rh == 1) and np.all(Rc == 1)


def test_num_gates_matches_weights():
    for mode in F.MODES:
        assert F.num_gates(mode) == num_gates(mode)
    w = random_params(np.random.default_rng(0), "gru", 3, 5)
    assert w[0].shape == (15, 3) and w[1].shape == (15, 5) and w[2].shape == (15,)
    assert np.all(np.abs(np.concatenate([a.ravel() for a in w])) <= 1 / np.sqrt(5))


def test_a_kernel_job_missing_an_array_is_refused_before_any_work(rng):
    """The kernels read each job's arrays by name (typed structs filled from
    the job dict field by field), never by position: a job without one of
    them is a KeyError naming it, before the kernel runs."""
    from fastrnn import _kernels

    w = [rng.standard_normal(s) for s in ((16, 3), (16, 4), (16,), (16,))]
    p = F._DirectionCall.checked("lstm", rng.standard_normal((5, 2, 3)), *w, None, None, None,
                           False, True)
    job = p.forward_job(1, training=False)
    out = job["out"].copy()
    del job["order"]
    with pytest.raises(KeyError, match="order"):
        _kernels.recurrent.forward([job], 1)
    np.testing.assert_array_equal(job["out"], out)   # nothing ran

"""PyTorch parity of the layers (fr.RNN / LSTM / GRU) and cells
(fr.RNNCell / LSTMCell / GRUCell).

Every case loads a torch module's ``state_dict`` into the fastrnn layer and
compares outputs, final states and *every* gradient (dx, dh0 / dc0 and each
parameter) for the loss ``sum(out*R) + sum(h_n*Rh) (+ sum(c_n*Rc))``.

Tolerances: float64 max abs error <= 1e-10; float32 relative error
``max|a-b| / max|b|`` <= 1e-5.

Set ``FASTRNN_PARITY_REPORT=1`` (and run pytest with ``-s``) to print the
largest error seen per layer type, dtype and quantity at the end.

GRU with ``reset_after=False`` has no torch counterpart (covered against the
numpy reference in test_functional.py).
"""
import os
from collections import defaultdict

import numpy as np
import pytest

if os.environ.get("FASTRNN_REQUIRE_TORCH", "") == "1":
    import torch  # noqa: E402  (a missing torch must fail the run)
else:
    torch = pytest.importorskip("torch")

from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

import fastrnn as fr  # noqa: E402

T, B, I, H = 6, 4, 5, 7
KINDS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]
DTYPES = [np.float64, np.float32]
DTYPE_IDS = ["f64", "f32"]
F64_ABS_TOL = 1e-10
F32_REL_TOL = 1e-5

# largest error seen, by (kind, dtype, quantity): for the optional report
_MAX_ERR = defaultdict(float)


@pytest.fixture(scope="module", autouse=True)
def _parity_report():
    yield
    if os.environ.get("FASTRNN_PARITY_REPORT") == "1" and _MAX_ERR:
        print("\nmax parity error (f64: abs, f32: relative)")
        for key in sorted(_MAX_ERR):
            print(f"  {key[0]:<14} {key[1]:<8} {key[2]:<8} {_MAX_ERR[key]:.3e}")


# ------------------------------------------------------------------ helpers
def _torch_dtype(dtype):
    return torch.float64 if dtype == np.float64 else torch.float32


def _assert_parity(ours, ref, dtype, what, kind):
    """Compare a fastrnn array with a torch tensor (or array) at the dtype's tolerance."""
    if isinstance(ref, torch.Tensor):
        ref = ref.detach().numpy()
    ours = np.asarray(ours)
    assert ours.shape == ref.shape, f"{what}: shape {ours.shape} != torch {ref.shape}"
    assert ours.dtype == dtype, f"{what}: dtype {ours.dtype} != {np.dtype(dtype)}"
    assert np.all(np.isfinite(ours)), f"{what}: non-finite values"
    err = float(np.max(np.abs(ours.astype(np.float64) - ref.astype(np.float64)))) if ref.size else 0.0
    group = what.split("[")[0] if what.startswith(("out", "h_n", "c_n")) else "grads"
    if dtype == np.float64:
        _MAX_ERR[(kind, "float64", group)] = max(_MAX_ERR[(kind, "float64", group)], err)
        assert err <= F64_ABS_TOL, f"{what}: max abs error {err:.3e} > {F64_ABS_TOL}"
    else:
        scale = float(np.max(np.abs(ref))) if ref.size else 0.0
        rel = err / scale if scale > 0 else err
        _MAX_ERR[(kind, "float32", group)] = max(_MAX_ERR[(kind, "float32", group)], rel)
        assert rel <= F32_REL_TOL, f"{what}: relative error {rel:.3e} > {F32_REL_TOL}"


def _make_layer_pair(kind, dtype, seed=0, **kw):
    """torch.nn.{RNN,LSTM,GRU} and the fastrnn layer with torch's weights."""
    torch.manual_seed(seed)
    if kind.startswith("rnn_"):
        nl = kind[4:]
        tm = torch.nn.RNN(I, H, nonlinearity=nl, **kw)
        ours = fr.RNN(I, H, nonlinearity=nl, dtype=np.dtype(dtype).name, seed=seed, **kw)
    elif kind == "lstm":
        tm = torch.nn.LSTM(I, H, **kw)
        ours = fr.LSTM(I, H, dtype=np.dtype(dtype).name, seed=seed, **kw)
    else:
        tm = torch.nn.GRU(I, H, **kw)
        ours = fr.GRU(I, H, dtype=np.dtype(dtype).name, seed=seed, **kw)
    tm = tm.to(_torch_dtype(dtype))
    ours.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    # the loaded values are torch's, bit for bit
    for k, v in tm.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[k], v.detach().numpy())
    return tm, ours


def _make_cell_pair(kind, dtype, seed=0, bias=True):
    torch.manual_seed(seed)
    name = np.dtype(dtype).name
    if kind.startswith("rnn_"):
        nl = kind[4:]
        tm = torch.nn.RNNCell(I, H, bias=bias, nonlinearity=nl)
        ours = fr.RNNCell(I, H, bias=bias, nonlinearity=nl, dtype=name, seed=seed)
    elif kind == "lstm":
        tm = torch.nn.LSTMCell(I, H, bias=bias)
        ours = fr.LSTMCell(I, H, bias=bias, dtype=name, seed=seed)
    else:
        tm = torch.nn.GRUCell(I, H, bias=bias)
        ours = fr.GRUCell(I, H, bias=bias, dtype=name, seed=seed)
    tm = tm.to(_torch_dtype(dtype))
    ours.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    return tm, ours


def _check_param_grads(tm, ours, dtype, kind):
    names = {n for n, _ in tm.named_parameters()}
    assert set(ours.grads) == names, f"grad keys {sorted(ours.grads)} != torch {sorted(names)}"
    for n, p in tm.named_parameters():
        assert p.grad is not None, n
        _assert_parity(ours.grads[n], p.grad, dtype, f"grad {n}", kind)


def _run_layer_case(kind, dtype, *, batch_first=False, unbatched=False, with_h0=True,
                    bias=True, lengths=None, num_layers=1, bidirectional=False, seed=0,
                    x_scale=1.0):
    rng = np.random.default_rng(1000 + seed)
    D = 2 if bidirectional else 1
    LD = num_layers * D
    is_lstm = kind == "lstm"
    tm, ours = _make_layer_pair(kind, dtype, seed=seed, num_layers=num_layers, bias=bias,
                                batch_first=batch_first, bidirectional=bidirectional)
    tdt = _torch_dtype(dtype)

    if unbatched:
        x_np = (x_scale * rng.standard_normal((T, I))).astype(dtype)
        state_shape = (LD, H)
        out_shape = (T, D * H)
    else:
        x_np = (x_scale * rng.standard_normal((B, T, I) if batch_first else (T, B, I))).astype(dtype)
        state_shape = (LD, B, H)
        out_shape = (B, T, D * H) if batch_first else (T, B, D * H)
    h0_np = rng.standard_normal(state_shape).astype(dtype) if with_h0 else None
    c0_np = rng.standard_normal(state_shape).astype(dtype) if (with_h0 and is_lstm) else None
    R = rng.standard_normal(out_shape).astype(dtype)
    Rh = rng.standard_normal(state_shape).astype(dtype)
    Rc = rng.standard_normal(state_shape).astype(dtype) if is_lstm else None

    # ---- torch
    x_t = torch.tensor(x_np, dtype=tdt, requires_grad=True)
    h0_t = torch.tensor(h0_np, dtype=tdt, requires_grad=True) if with_h0 else None
    c0_t = torch.tensor(c0_np, dtype=tdt, requires_grad=True) if (with_h0 and is_lstm) else None
    hx_t = ((h0_t, c0_t) if is_lstm else h0_t) if with_h0 else None
    if lengths is not None:
        packed = pack_padded_sequence(x_t, torch.as_tensor(lengths, dtype=torch.int64),
                                      batch_first=batch_first, enforce_sorted=False)
        out_p, st_t = tm(packed, hx_t)
        out_t, _ = pad_packed_sequence(out_p, batch_first=batch_first, total_length=T)
    else:
        out_t, st_t = tm(x_t, hx_t)
    if is_lstm:
        hn_t, cn_t = st_t
        loss = (out_t * torch.tensor(R)).sum() + (hn_t * torch.tensor(Rh)).sum() \
            + (cn_t * torch.tensor(Rc)).sum()
    else:
        hn_t = st_t
        loss = (out_t * torch.tensor(R)).sum() + (hn_t * torch.tensor(Rh)).sum()
    loss.backward()

    # ---- fastrnn
    hx = ((h0_np, c0_np) if is_lstm else h0_np) if with_h0 else None
    (out, state), backprop = ours.forward_train(x_np, hx, lengths=lengths)
    # inference gives the same forward results
    out_inf, state_inf = ours(x_np, hx, lengths=lengths)
    dx, dhx = backprop(R, (Rh, Rc) if is_lstm else Rh)

    _assert_parity(out, out_t, dtype, "out", kind)
    if is_lstm:
        h_n, c_n = state
        _assert_parity(h_n, hn_t, dtype, "h_n", kind)
        _assert_parity(c_n, cn_t, dtype, "c_n", kind)
        np.testing.assert_array_equal(state_inf[0], h_n)
        np.testing.assert_array_equal(state_inf[1], c_n)
    else:
        _assert_parity(state, hn_t, dtype, "h_n", kind)
        np.testing.assert_array_equal(state_inf, state)
    np.testing.assert_array_equal(out_inf, out)

    if lengths is not None:
        # padding gives exact zeros, as pad_packed_sequence does
        for b, L in enumerate(lengths):
            pad = out[b, L:] if batch_first else out[L:, b]
            assert np.all(pad == 0)

    _assert_parity(dx, x_t.grad, dtype, "dx", kind)
    dh0, dc0 = dhx if is_lstm else (dhx, None)
    if with_h0:
        _assert_parity(dh0, h0_t.grad, dtype, "dh0", kind)
        if is_lstm:
            _assert_parity(dc0, c0_t.grad, dtype, "dc0", kind)
    else:
        # hx None: its gradient is zeros of the state's shape (forward_train's docstring)
        assert dh0.shape == state_shape and dh0.dtype == dtype and np.all(dh0 == 0)
        if is_lstm:
            assert dc0.shape == state_shape and dc0.dtype == dtype and np.all(dc0 == 0)
    _check_param_grads(tm, ours, dtype, kind)


# ------------------------------------------------------------------ layers
LAYER_CASES = {
    "basic": dict(),
    "batch_first": dict(batch_first=True),
    "unbatched": dict(unbatched=True),
    "h0_none": dict(with_h0=False),
    "no_bias": dict(bias=False),
    "no_bias_h0_none_bf": dict(bias=False, with_h0=False, batch_first=True),
    # unsorted, containing T and the minimum 1
    "packed": dict(lengths=np.array([3, T, 1, 5])),
    "packed_bf": dict(lengths=np.array([1, 4, T, 2]), batch_first=True),
    "packed_h0_none": dict(lengths=np.array([5, 1, T, 2]), with_h0=False),
    "packed_all_full": dict(lengths=np.array([T, T, T, T])),
    "two_layers": dict(num_layers=2),
    "two_layers_packed": dict(num_layers=2, lengths=np.array([2, T, 1, 4])),
    "bidir": dict(bidirectional=True),
    "bidir_h0_none": dict(bidirectional=True, with_h0=False),
    "bidir_packed": dict(bidirectional=True, lengths=np.array([4, 1, T, 3])),
    "bidir_unbatched": dict(bidirectional=True, unbatched=True),
    "bidir_2l_packed": dict(bidirectional=True, num_layers=2, lengths=np.array([T, 2, 1, 5])),
    "bidir_2l_packed_bf": dict(bidirectional=True, num_layers=2, batch_first=True,
                               lengths=np.array([3, 1, 5, T])),
    "bidir_2l_no_bias": dict(bidirectional=True, num_layers=2, bias=False),
}


@pytest.mark.parametrize("case", list(LAYER_CASES))
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("kind", KINDS)
def test_layer_matches_torch(kind, dtype, case):
    _run_layer_case(kind, dtype, **LAYER_CASES[case])


@pytest.mark.parametrize("kind", KINDS)
def test_dhx_is_zeros_when_hx_is_none(kind):
    """dhx is zeros when hx was None (forward_train's docstring; found as a
    bug; regression test)."""
    _, ours = _make_layer_pair(kind, np.float64, num_layers=2, bidirectional=True)
    x = np.random.default_rng(0).standard_normal((T, B, I))
    (out, state), backprop = ours.forward_train(x)
    dstate = tuple(np.ones_like(s) for s in state) if kind == "lstm" else np.ones_like(state)
    _, dhx = backprop(np.ones_like(out), dstate)
    for g in (dhx if kind == "lstm" else (dhx,)):
        assert g.shape == (4, B, H)
        assert np.all(g == 0)


def test_lstm_partial_hx_none_entry_has_zero_gradient():
    """hx=(h0, None): dc0 is zeros, dh0 is torch's gradient for c0 = 0."""
    tm, ours = _make_layer_pair("lstm", np.float64, num_layers=2)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((T, B, I))
    h0 = rng.standard_normal((2, B, H))
    R = rng.standard_normal((T, B, H))
    x_t = torch.tensor(x, requires_grad=True)
    h0_t = torch.tensor(h0, requires_grad=True)
    out_t, _ = tm(x_t, (h0_t, torch.zeros(2, B, H, dtype=torch.float64)))
    (out_t * torch.tensor(R)).sum().backward()
    (out, _), backprop = ours.forward_train(x, (h0, None))
    dx, (dh0, dc0) = backprop(R)
    _assert_parity(out, out_t, np.float64, "out", "lstm")
    _assert_parity(dx, x_t.grad, np.float64, "dx", "lstm")
    _assert_parity(dh0, h0_t.grad, np.float64, "dh0", "lstm")
    assert dc0.shape == (2, B, H) and np.all(dc0 == 0)


@pytest.mark.parametrize("kind", KINDS)
def test_layer_matches_torch_other_seed_and_large_inputs(kind):
    """A second set of weights, with inputs large enough to saturate gates."""
    for dtype in DTYPES:
        _run_layer_case(kind, dtype, seed=7, bidirectional=True, num_layers=2,
                        lengths=np.array([T, 3, 1, 6]), x_scale=8.0)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("kind", KINDS)
def test_fastrnn_init_runs_in_torch(kind, dtype):
    """The reverse direction of interop: fastrnn's own (seeded) weights loaded
    into torch give torch the same outputs."""
    rng = np.random.default_rng(3)
    tm, ours = _make_layer_pair(kind, dtype, num_layers=2, bidirectional=True)
    fresh = type(ours)(I, H, num_layers=2, bidirectional=True, dtype=np.dtype(dtype).name,
                       seed=123, **({"nonlinearity": kind[4:]} if kind.startswith("rnn_") else {}))
    tm.load_state_dict({k: torch.from_numpy(v) for k, v in fresh.state_dict().items()})
    x = rng.standard_normal((T, B, I)).astype(dtype)
    out, state = fresh(x)
    out_t, st_t = tm(torch.from_numpy(x))
    _assert_parity(out, out_t, dtype, "out", kind)
    if kind == "lstm":
        _assert_parity(state[0], st_t[0], dtype, "h_n", kind)
        _assert_parity(state[1], st_t[1], dtype, "c_n", kind)
    else:
        _assert_parity(state, st_t, dtype, "h_n", kind)


# ------------------------------------------------------------------- cells
def _cell_state_np(rng, kind, shape, dtype):
    h = rng.standard_normal(shape).astype(dtype)
    if kind == "lstm":
        return h, rng.standard_normal(shape).astype(dtype)
    return h


@pytest.mark.parametrize("steps", [1, 4], ids=["one_step", "chained"])
@pytest.mark.parametrize("state", ["given", "none"])
@pytest.mark.parametrize("layout", ["batched", "unbatched"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("kind", KINDS)
def test_cell_matches_torch(kind, dtype, bias, layout, state, steps):
    rng = np.random.default_rng(77)
    is_lstm = kind == "lstm"
    tm, ours = _make_cell_pair(kind, dtype, bias=bias)
    tdt = _torch_dtype(dtype)
    bshape = (B,) if layout == "batched" else ()
    sshape = bshape + (H,)

    xs = rng.standard_normal((steps,) + bshape + (I,)).astype(dtype)
    s0 = _cell_state_np(rng, kind, sshape, dtype) if state == "given" else None
    Rs = rng.standard_normal((steps,) + sshape).astype(dtype)
    Rcs = rng.standard_normal((steps,) + sshape).astype(dtype) if is_lstm else None

    # ---- torch: loss = sum_t sum(h_t * R_t) (+ sum(c_t * Rc_t))
    x_t = torch.tensor(xs, dtype=tdt, requires_grad=True)
    if s0 is None:
        st_t, leaves = None, []
    elif is_lstm:
        leaves = [torch.tensor(s0[0], requires_grad=True), torch.tensor(s0[1], requires_grad=True)]
        st_t = tuple(leaves)
    else:
        leaves = [torch.tensor(s0, requires_grad=True)]
        st_t = leaves[0]
    hs_t, cs_t = [], []
    loss = 0
    for t in range(steps):
        st_t = tm(x_t[t], st_t)
        if is_lstm:
            hs_t.append(st_t[0])
            cs_t.append(st_t[1])
            loss = loss + (st_t[0] * torch.tensor(Rs[t])).sum() + (st_t[1] * torch.tensor(Rcs[t])).sum()
        else:
            hs_t.append(st_t)
            loss = loss + (st_t * torch.tensor(Rs[t])).sum()
    loss.backward()

    # ---- fastrnn: forward_train per step, backprop in reverse
    st = s0
    backprops = []
    for t in range(steps):
        new, bp = ours.forward_train(xs[t], st)
        # inference step gives the same state
        inf = ours(xs[t], st)
        if is_lstm:
            np.testing.assert_array_equal(inf[0], new[0])
            np.testing.assert_array_equal(inf[1], new[1])
            _assert_parity(new[0], hs_t[t], dtype, f"h_n[{t}]", kind + "_cell")
            _assert_parity(new[1], cs_t[t], dtype, f"c_n[{t}]", kind + "_cell")
        else:
            np.testing.assert_array_equal(inf, new)
            _assert_parity(new, hs_t[t], dtype, f"h_n[{t}]", kind + "_cell")
        backprops.append(bp)
        st = new

    dxs = [None] * steps
    dh_carry = np.zeros(sshape, dtype)
    dc_carry = np.zeros(sshape, dtype)
    for t in reversed(range(steps)):
        if is_lstm:
            dx, (dh_carry, dc_carry) = backprops[t]((Rs[t] + dh_carry, Rcs[t] + dc_carry))
        else:
            dx, dh_carry = backprops[t](Rs[t] + dh_carry)
        assert dh_carry.shape == sshape
        dxs[t] = dx
    _assert_parity(np.stack(dxs), x_t.grad, dtype, "dx", kind + "_cell")
    if s0 is not None:
        _assert_parity(dh_carry, leaves[0].grad, dtype, "dh0", kind + "_cell")
        if is_lstm:
            _assert_parity(dc_carry, leaves[1].grad, dtype, "dc0", kind + "_cell")
    else:
        # a state passed as None was zeros, not an input: its gradient is zeros
        assert dh_carry.shape == sshape and np.all(dh_carry == 0)
        if is_lstm:
            assert dc_carry.shape == sshape and np.all(dc_carry == 0)
    _check_param_grads(tm, ours, dtype, kind + "_cell")


@pytest.mark.parametrize("kind", KINDS)
def test_cell_state_dict_names_match_torch(kind):
    tm, ours = _make_cell_pair(kind, np.float32)
    assert set(ours.state_dict()) == set(tm.state_dict())
    for k, v in tm.state_dict().items():
        assert ours.state_dict()[k].shape == tuple(v.shape)

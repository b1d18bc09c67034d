"""Attention blocks: fr.DotAttention, fr.GeneralAttention, fr.AdditiveAttention,
fr.SelfAttention -- finite-difference gradient checks (float64), the
decoding hooks against forward_train, masking and softmax edge cases,
validation, PyTorch parity, save / load."""
import numpy as np
import pytest

import fastrnn as fr

from helpers.running import torch_or_skip
from helpers.gradcheck import numeric_grad

B, TQ, TK, HQ, HK, HV = 2, 3, 4, 3, 3, 2  # HQ == HK: dot attention needs it
LENGTHS = np.array([TK, 2])  # ragged key lengths

BLOCKS = {
    "dot": lambda dtype="float64": fr.DotAttention(dtype=dtype),
    "scaled": lambda dtype="float64": fr.DotAttention(scaled=True, dtype=dtype),
    "general": lambda dtype="float64": fr.GeneralAttention(HQ, HK, dtype=dtype, seed=0),
    "additive": lambda dtype="float64": fr.AdditiveAttention(HQ, HK, 5, dtype=dtype, seed=0),
}


def _ragged_mask():
    return np.arange(TK)[None, :] < LENGTHS[:, None]  # (B, TK)


def _per_query_mask(rng):
    m = rng.random((B, TQ, TK)) < 0.6
    m[..., 0] = True  # every query keeps at least one key
    return m


def _inputs(rng, query_ndim):
    q = rng.standard_normal((B, HQ) if query_ndim == 2 else (B, TQ, HQ))
    return q, rng.standard_normal((B, TK, HK)), rng.standard_normal((B, TK, HV))


# ------------------------------------------------------------ gradients
@pytest.mark.parametrize("kind", list(BLOCKS))
@pytest.mark.parametrize("query_ndim,mask_kind", [(2, None), (2, "ragged"), (3, None),
                                                  (3, "ragged"), (3, "per_query")])
@pytest.mark.parametrize("with_values,with_dweights", [(False, False), (True, True),
                                                       (False, True)])
def test_attention_gradients(rng, kind, query_ndim, mask_kind, with_values, with_dweights):
    attn = BLOCKS[kind]()
    q, k, v = _inputs(rng, query_ndim)
    v = v if with_values else None
    mask = {None: None, "ragged": _ragged_mask(), "per_query": _per_query_mask(rng)}[mask_kind]
    (ctx, w), bp = attn.forward_train(q, k, v, mask)
    Rc = rng.standard_normal(ctx.shape)
    Rw = rng.standard_normal(w.shape) if with_dweights else None

    def loss():
        c, ww = attn(q, k, v, mask)
        return float(np.sum(c * Rc) + (np.sum(ww * Rw) if with_dweights else 0.0))

    attn.zero_grad()
    dq, dk, dv = bp(Rc, Rw)
    assert (dv is None) == (v is None)
    checks = [("query", dq, q), ("keys", dk, k)] + ([("values", dv, v)] if with_values else [])
    checks += [(name, attn.grads[name], p) for name, p in attn.parameters().items()]
    for name, ana, arr in checks:
        assert ana.shape == arr.shape, name
        np.testing.assert_allclose(ana, numeric_grad(loss, arr), rtol=1e-6, atol=1e-9,
                                   err_msg=name)


@pytest.mark.parametrize("heads", [1, 2])
@pytest.mark.parametrize("mask_kind,causal", [(None, False), ("padding", False), (None, True),
                                              ("padding", True), ("full", False)])
def test_self_attention_gradients(rng, heads, mask_kind, causal):
    sa = fr.SelfAttention(4, heads, dtype="float64", seed=1)
    # non-zero biases, so that their gradients are exercised
    for p in sa.parameters().values():
        p[...] = rng.uniform(-0.5, 0.5, p.shape)
    x = rng.standard_normal((2, 4, 4))
    mask = {None: None, "padding": np.array([[1, 1, 1, 1], [1, 1, 0, 0]], bool),
            "full": (rng.random((2, 4, 4)) < 0.5) | np.eye(4, dtype=bool)}[mask_kind]
    R = rng.standard_normal((2, 4, 4))
    out, bp = sa.forward_train(x, mask, causal)
    np.testing.assert_array_equal(out, sa(x, mask, causal))
    sa.zero_grad()
    dx = bp(R)

    def loss():
        return float(np.sum(sa(x, mask, causal) * R))

    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-6, atol=1e-9, err_msg="x")
    for name, p in sa.parameters().items():
        np.testing.assert_allclose(sa.grads[name], numeric_grad(loss, p), rtol=1e-6,
                                   atol=1e-9, err_msg=name)


# -------------------------------------------------------- decoding hooks
@pytest.mark.parametrize("kind", list(BLOCKS))
@pytest.mark.parametrize("with_values", [False, True])
def test_stepping_attend_train_equals_forward_train(rng, kind, with_values):
    q, k, v = _inputs(rng, 3)
    mask = _ragged_mask()
    dctx = rng.standard_normal((B, TQ, HK if not with_values else HV))
    dw = rng.standard_normal((B, TQ, TK))

    whole = BLOCKS[kind]()
    (ctx, w), bp = whole.forward_train(q, k, v if with_values else None, mask)
    dq, dk, dv = bp(dctx, dw)

    step = BLOCKS[kind]()
    proj, proj_bp = step.project_keys_train(k)
    np.testing.assert_array_equal(proj, step.project_keys(k))
    values = v if with_values else k
    dproj = np.zeros_like(proj)
    dvalues = np.zeros_like(values)
    for t in range(TQ):
        (c_t, w_t), bp_t = step.attend_train(q[:, t], proj, values, mask)
        np.testing.assert_allclose(c_t, ctx[:, t], rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(w_t, w[:, t], rtol=1e-13, atol=1e-14)
        np.testing.assert_array_equal(step.attend(q[:, t], proj, values, mask)[0], c_t)
        dq_t, dproj_t, dv_t = bp_t(dctx[:, t], dw[:, t])
        np.testing.assert_allclose(dq_t, dq[:, t], rtol=1e-12, atol=1e-13)
        dproj += dproj_t
        dvalues += dv_t
    dkeys = proj_bp(dproj)
    if with_values:
        np.testing.assert_allclose(dvalues, dv, rtol=1e-12, atol=1e-13)
    else:
        assert dv is None
        dkeys += dvalues
    np.testing.assert_allclose(dkeys, dk, rtol=1e-12, atol=1e-13)
    for name, g in whole.grads.items():
        np.testing.assert_allclose(step.grads[name], g, rtol=1e-12, atol=1e-13, err_msg=name)


# ------------------------------------------- the fused time-major kernel
def _time_major(a):
    return np.ascontiguousarray(np.swapaxes(a, 0, 1))


@pytest.mark.parametrize("kind", ["dot", "scaled", "general"])
@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 2e-5)])
@pytest.mark.parametrize("with_values", [False, True])
def test_time_major_kernel_equals_forward_train(rng, kind, dtype, rtol, with_values):
    """attend_time_major_train (one fused kernel, time-major, written into a
    column slice of a wider buffer) gives forward_train's context, weights
    and every gradient, on ragged keys, with 1 and 2 threads alike."""
    q, k, v = (a.astype(dtype) for a in _inputs(rng, 3))
    v = v if with_values else None
    dctx = rng.standard_normal((B, TQ, HV if with_values else HK)).astype(dtype)
    whole = BLOCKS[kind](dtype)
    (ctx, w), bp = whole.forward_train(q, k, v, _ragged_mask())
    dq, dk, dv = bp(dctx)
    results = []
    for threads in (1, 2):
        fr.set_num_threads(threads)
        try:
            fused = BLOCKS[kind](dtype)
            proj, proj_bp = fused.project_keys_train(_time_major(k))
            values = proj if v is None and kind != "general" else _time_major(k if v is None else v)
            wide = np.full((TQ, B, ctx.shape[2] + 3), 7, dtype)
            (c, ww), fbp = fused.attend_time_major_train(_time_major(q), proj, values, LENGTHS,
                                                         out=wide[..., 1:1 + ctx.shape[2]])
            assert c.base is wide and (wide[..., 0] == 7).all() and (wide[..., -2:] == 7).all()
            dwide = np.zeros((TQ, B, 2 * ctx.shape[2]), dtype)
            dwide[..., ctx.shape[2]:] = _time_major(dctx)
            gq, gp, gv = fbp(dwide[..., ctx.shape[2]:])
        finally:
            fr.set_num_threads(2)
        np.testing.assert_allclose(c, _time_major(ctx), rtol=rtol, atol=rtol)
        np.testing.assert_allclose(ww, w, rtol=rtol, atol=rtol)
        np.testing.assert_allclose(gq, _time_major(dq), rtol=rtol, atol=rtol)
        if values is proj:   # dot attention over the keys: one gradient array
            assert gv is gp
            gk = gp
        else:
            gk = proj_bp(gp)
            if v is None:
                gk += gv
            else:
                np.testing.assert_allclose(gv, _time_major(dv), rtol=rtol, atol=rtol)
        np.testing.assert_allclose(gk, _time_major(dk), rtol=rtol, atol=rtol)
        for name, g in whole.grads.items():
            np.testing.assert_allclose(fused.grads[name], g, rtol=rtol, atol=rtol, err_msg=name)
        results.append((c.copy(), gq, gk))
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


def test_time_major_kernel_gradients(rng):
    """Finite differences of the fused kernel (float64, ragged, scaled, keys
    and values apart); the gradients add into arrays passed in."""
    attn = fr.DotAttention(scaled=True, dtype="float64")
    q, k, v = (_time_major(a) for a in _inputs(rng, 3))
    v = rng.standard_normal((TK, B, HV))
    R = rng.standard_normal((TQ, B, HV))
    _, bp = attn.attend_time_major_train(q, k, v, LENGTHS)
    start = [rng.standard_normal(a.shape) for a in (q, k, v)]
    got = bp(R, *[a.copy() for a in start])

    def loss():
        (c, _), _ = attn.attend_time_major_train(q, k, v, LENGTHS)
        return float(np.sum(c * R))

    for arr, g, s in zip((q, k, v), got, start):
        np.testing.assert_allclose(g - s, numeric_grad(loss, arr), rtol=1e-6, atol=1e-8)


def test_time_major_kernel_refuses_what_it_cannot_do(rng):
    q = rng.standard_normal((TQ, B, HQ))
    k = rng.standard_normal((TK, B, HK))
    with pytest.raises(TypeError, match="no fused time-major kernel"):
        fr.AdditiveAttention(HQ, HK, 5, dtype="float64").attend_time_major_train(q, k, k, LENGTHS)
    dot = fr.DotAttention(dtype="float64")
    with pytest.raises(ValueError, match="lengths must be >= 1"):
        dot.attend_time_major_train(q, k, k, [TK, 0])
    with pytest.raises(ValueError, match=r"proj must have shape \(\?, 2, 3\)"):
        dot.attend_time_major_train(q, k[:, :1], k, LENGTHS)
    with pytest.raises(ValueError, match="out must be"):
        dot.attend_time_major_train(q, k, k, LENGTHS, out=np.zeros((TQ, B, HK), "float32"))
    _, bp = dot.attend_time_major_train(q, k, k, LENGTHS)
    with pytest.raises(ValueError, match="dquery must be a writeable C-contiguous float64"):
        bp(np.zeros((TQ, B, HK)), np.zeros((TQ, B, HK + 1)))


def test_dot_project_keys_is_the_keys_and_its_backprop_a_new_array(rng):
    attn = fr.DotAttention(dtype="float64")
    k = rng.standard_normal((B, TK, HK))
    proj, bp = attn.project_keys_train(k)
    np.testing.assert_array_equal(proj, k)
    d = rng.standard_normal(k.shape)
    dk = bp(d)
    np.testing.assert_array_equal(dk, d)
    assert dk is not d


def test_hooks_validate_their_arguments(rng):
    attn = fr.AdditiveAttention(HQ, HK, 5, seed=0)
    k = rng.standard_normal((B, TK, HK))
    proj, bp = attn.project_keys_train(k)
    assert proj.shape == (B, TK, 5)
    with pytest.raises(ValueError, match=r"proj must have shape \(B, Tk, 5\).*got \(2, 4, 3\)"):
        attn.attend(np.zeros((B, HQ)), k, k)
    with pytest.raises(TypeError, match="values is required"):
        attn.attend(np.zeros((B, HQ)), proj, None)
    with pytest.raises(ValueError, match=r"dproj must have shape \(2, 4, 5\), got \(2, 4\)"):
        bp(np.zeros((B, TK)))
    with pytest.raises(ValueError, match=r"keys must have shape \(B, Tk, 3\), got \(2, 4, 5\)"):
        attn.project_keys(proj)


# ------------------------------------------------- softmax and masking
@pytest.mark.parametrize("kind", list(BLOCKS))
def test_weights_rows_sum_to_one_and_masked_weights_are_exactly_zero(rng, kind):
    attn = BLOCKS[kind]("float32")
    q, k, v = _inputs(rng, 3)
    for mask in (_ragged_mask(), _per_query_mask(rng)):
        ctx, w = attn(q, k, v, mask)
        assert w.dtype == ctx.dtype == np.float32
        full = np.broadcast_to(mask[:, None] if mask.ndim == 2 else mask, w.shape)
        assert np.all(w[~full] == 0.0)
        np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-6)
    # the masked steps (past each row's length) do not matter at all
    mask = _ragged_mask()
    ctx, w = attn(q, k, v, mask)
    k2, v2 = k.copy(), v.copy()
    k2[~mask], v2[~mask] = 1e3, -7.0
    np.testing.assert_array_equal(attn(q, k2, v2, mask)[0], ctx)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_huge_scores_stay_finite(rng, dtype):
    attn = fr.DotAttention(dtype=dtype)
    q = rng.standard_normal((B, TQ, HQ)) * 100.0  # scores ~ 1e4
    k = rng.standard_normal((B, TK, HK)) * 100.0
    (ctx, w), bp = attn.forward_train(q, k, mask=_ragged_mask())
    assert np.abs(np.einsum("bqh,bkh->bqk", q, k)).max() > 5e3
    assert np.all(np.isfinite(w)) and np.all(np.isfinite(ctx))
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-6)
    assert all(np.all(np.isfinite(g)) for g in bp(np.ones_like(ctx))[:2])
    sa = fr.SelfAttention(4, 2, dtype=dtype, seed=0)
    assert np.all(np.isfinite(sa(rng.standard_normal((2, 3, 4)) * 1e4)))


def test_fully_masked_row_raises(rng):
    q, k, _ = _inputs(rng, 3)
    ragged = np.ones((B, TK), bool)
    ragged[1] = False
    with pytest.raises(ValueError, match="mask leaves batch row 1 with no position"):
        fr.DotAttention()(q, k, mask=ragged)
    per_query = np.ones((B, TQ, TK), bool)
    per_query[0, 2] = False
    with pytest.raises(ValueError, match="mask leaves batch row 0, query 2"):
        fr.GeneralAttention(HQ, HK).forward_train(q, k, mask=per_query)
    sa = fr.SelfAttention(4)
    with pytest.raises(ValueError, match="mask leaves batch row 1"):
        sa(np.zeros((2, 3, 4)), mask=np.array([[1, 1, 0], [0, 0, 0]], bool))
    # left padding under a causal mask leaves the first query nothing
    with pytest.raises(ValueError, match="mask leaves batch row 0, query 0"):
        sa(np.zeros((2, 3, 4)), mask=np.array([[0, 1, 1], [1, 1, 1]], bool), causal=True)


def test_self_attention_causal_and_padding_ignore_the_masked_positions(rng):
    sa = fr.SelfAttention(4, 2, dtype="float64", seed=0)
    x = rng.standard_normal((2, 5, 4))
    out = sa(x, causal=True)
    x2 = x.copy()
    x2[:, 3:] = 100.0  # the future changes: earlier outputs do not
    np.testing.assert_allclose(sa(x2, causal=True)[:, :3], out[:, :3], rtol=1e-13)
    pad = np.array([[1] * 5, [1, 1, 1, 0, 0]], bool)
    out = sa(x, mask=pad)
    x2 = x.copy()
    x2[1, 3:] = -50.0  # padding changes: the real positions' outputs do not
    np.testing.assert_allclose(sa(x2, mask=pad)[1, :3], out[1, :3], rtol=1e-13)


# ------------------------------------------------------------ validation
@pytest.mark.parametrize("args,exc,match", [
    ((np.zeros(3), np.zeros((2, 4, 3))), ValueError,
     r"query must have shape \(B, Hq\) or \(B, Tq, Hq\), got \(3,\)"),
    ((np.zeros((2, 5)), np.zeros((2, 4, 3))), ValueError,
     r"query must have query_size 3 in its last axis, got shape \(2, 5\)"),
    ((np.zeros((2, 3)), np.zeros((2, 4))), ValueError,
     r"keys must have shape \(B, Tk, 3\), got \(2, 4\)"),
    ((np.zeros((2, 3)), np.zeros((2, 4, 2))), ValueError,
     r"keys must have shape \(B, Tk, 3\), got \(2, 4, 2\)"),
    ((np.zeros((2, 3)), np.zeros((3, 4, 3))), ValueError,
     r"keys must have the query's batch size 2 in its first axis, got shape \(3, 4, 3\)"),
    ((np.zeros((2, 3)), np.zeros((2, 0, 3))), ValueError, r"keys must have at least one step"),
    ((np.zeros((2, 3)), np.zeros((2, 4, 3)), np.zeros((2, 3, 2))), ValueError,
     r"values must have shape \(2, 4, Hv\) \(the keys' batch and steps\), got \(2, 3, 2\)"),
    ((np.zeros((2, 3)), np.zeros((2, 4, 3)), None, np.ones((2, 3, 4), bool)), ValueError,
     r"mask must have shape \(2, 4\), got \(2, 3, 4\)"),
    ((np.zeros((2, 5, 3)), np.zeros((2, 4, 3)), None, np.ones((2, 4, 4), bool)), ValueError,
     r"mask must have shape \(2, 4\) or \(2, 5, 4\), got \(2, 4, 4\)"),
    ((np.zeros((2, 3)), np.zeros((2, 4, 3)), None, np.ones((2, 4))), TypeError,
     r"mask must be a bool array .* got dtype float64"),
    ((np.zeros((2, 3)), np.zeros((2, 4, 3)), None, np.full((2, 4), 2)), ValueError,
     r"mask must be bool \(or integers 0 / 1\)"),
    ((np.full((2, 3), "a"), np.zeros((2, 4, 3))), TypeError, r"query must be a real numeric"),
    ((np.zeros((2, 3)), [[["x"]]]), TypeError, r"keys must be a real numeric"),
    ((np.zeros((2, 3)), np.zeros((2, 4, 3)), np.zeros((2, 4, 3), complex)), TypeError,
     r"values must be a real numeric"),
])
def test_attention_rejects_bad_inputs(args, exc, match):
    with pytest.raises(exc, match=match):
        fr.GeneralAttention(3, 3)(*args)


def test_dot_attention_needs_equal_sizes_and_gradients_the_right_shape(rng):
    with pytest.raises(ValueError, match=r"keys must have shape \(B, Tk, 3\) \(dot attention "
                                         r"needs the query's size\), got \(2, 4, 2\)"):
        fr.DotAttention()(np.zeros((2, 3)), np.zeros((2, 4, 2)))

    def backprop():
        return fr.DotAttention().forward_train(np.zeros((2, 3)), np.zeros((2, 4, 3)))[1]

    with pytest.raises(ValueError, match=r"dcontext must have shape \(2, 3\), got \(2, 1, 3\)"):
        backprop()(np.zeros((2, 1, 3)))
    with pytest.raises(ValueError, match=r"dweights must have shape \(2, 4\), got \(4,\)"):
        backprop()(np.zeros((2, 3)), np.zeros(4))
    bp = backprop()
    dq, dk, dv = bp(None, np.ones((2, 4)))  # dcontext None: zeros
    assert dq.shape == (2, 3) and dk.shape == (2, 4, 3) and dv is None
    with pytest.raises(RuntimeError, match="already called"):
        bp(np.zeros((2, 3)))


def test_constructor_and_self_attention_validation():
    with pytest.raises(TypeError, match="scaled must be a bool"):
        fr.DotAttention(scaled=1)
    with pytest.raises(TypeError, match="query_size must be an int"):
        fr.GeneralAttention(2.0, 3)
    with pytest.raises(ValueError, match="attn_size must be >= 1"):
        fr.AdditiveAttention(2, 3, 0)
    with pytest.raises(ValueError, match="num_heads must divide embed_size 6, got 4"):
        fr.SelfAttention(6, 4)
    with pytest.raises(ValueError, match="dtype"):
        fr.DotAttention(dtype="float16")
    sa = fr.SelfAttention(4, 2)
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, 4\) \(batch first\), "
                                         r"got \(3, 4\)"):
        sa(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"mask must have shape \(2, 3\) or \(2, 3, 3\), "
                                         r"got \(3, 2\)"):
        sa(np.zeros((2, 3, 4)), mask=np.ones((3, 2), bool))
    with pytest.raises(TypeError, match="causal must be a bool"):
        sa(np.zeros((2, 3, 4)), causal="yes")
    with pytest.raises(ValueError, match=r"dout must have shape \(2, 3, 4\), got \(2, 3\)"):
        sa.forward_train(np.zeros((2, 3, 4)))[1](np.zeros((2, 3)))


def test_dtype_casting_and_parameter_layout(rng):
    attn = fr.AdditiveAttention(3, 2, 4, seed=0)
    shapes = {k: v.shape for k, v in attn.parameters().items()}
    assert shapes == {"query_weight": (4, 3), "key_weight": (4, 2), "bias": (4,), "v": (4,)}
    assert fr.GeneralAttention(3, 2).parameters()["weight"].shape == (3, 2)
    assert fr.DotAttention().parameters() == {}
    ctx, w = attn(rng.standard_normal((2, 3)), rng.standard_normal((2, 5, 2)).tolist())
    assert ctx.dtype == w.dtype == np.float32 and ctx.shape == (2, 2) and w.shape == (2, 5)
    # the same seed gives the same parameters
    again = fr.AdditiveAttention(3, 2, 4, seed=0)
    for k, v in attn.parameters().items():
        np.testing.assert_array_equal(again.parameters()[k], v)


def test_self_attention_init_is_pytorch_like():
    sa = fr.SelfAttention(16, 4, seed=0)
    p = sa.parameters()
    assert sorted(p) == ["in_proj_bias", "in_proj_weight", "out_proj.bias", "out_proj.weight"]
    assert not p["in_proj_bias"].any() and not p["out_proj.bias"].any()
    assert np.abs(p["in_proj_weight"]).max() <= np.sqrt(6.0 / 64)  # Xavier over (48, 16)
    assert np.abs(p["out_proj.weight"]).max() <= 0.25
    assert p["in_proj_weight"].std() > 0.1


# -------------------------------------------------------- PyTorch parity
@pytest.mark.parametrize("dtype,tol", [("float32", 1e-5), ("float64", 1e-10)])
def test_scaled_dot_matches_torch(rng, dtype, tol):
    torch = torch_or_skip()
    q = rng.standard_normal((B, TQ, HQ)).astype(dtype)
    k = rng.standard_normal((B, TK, HK)).astype(dtype)
    v = rng.standard_normal((B, TK, HV)).astype(dtype)
    mask = _per_query_mask(rng)
    dctx = rng.standard_normal((B, TQ, HV)).astype(dtype)
    (ctx, _), bp = fr.DotAttention(scaled=True, dtype=dtype).forward_train(q, k, v, mask)
    dq, dk, dv = bp(dctx)
    qt, kt, vt = (torch.from_numpy(a).requires_grad_() for a in (q, k, v))
    # torch's boolean attn_mask: True = takes part in attention, as ours
    out = torch.nn.functional.scaled_dot_product_attention(qt, kt, vt,
                                                           attn_mask=torch.from_numpy(mask))
    out.backward(torch.from_numpy(dctx))
    for ours, theirs in ((ctx, out), (dq, qt.grad), (dk, kt.grad), (dv, vt.grad)):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype,tol", [("float32", 1e-5), ("float64", 1e-10)])
@pytest.mark.parametrize("heads,causal", [(1, False), (2, True)])
def test_self_attention_matches_torch_multihead_attention(rng, dtype, tol, heads, causal):
    torch = torch_or_skip()
    E, T = 8, 5
    torch.manual_seed(0)
    mha = torch.nn.MultiheadAttention(E, heads, batch_first=True).to(getattr(torch, dtype))
    with torch.no_grad():  # non-zero biases, so that their gradients are compared
        mha.in_proj_bias.uniform_(-0.3, 0.3)
        mha.out_proj.bias.uniform_(-0.3, 0.3)
    sa = fr.SelfAttention(E, heads, dtype=dtype)
    sa.load_state_dict({k: v.detach().numpy() for k, v in mha.state_dict().items()})
    x = rng.standard_normal((3, T, E)).astype(dtype)
    pad = np.arange(T)[None, :] < np.array([T, 3, 1])[:, None]  # True = real token
    dout = rng.standard_normal((3, T, E)).astype(dtype)

    out, bp = sa.forward_train(x, mask=pad, causal=causal)
    dx = bp(dout)
    xt = torch.from_numpy(x).requires_grad_()
    attn_mask = torch.from_numpy(~np.tri(T, dtype=bool)) if causal else None  # True = ignore
    ref, _ = mha(xt, xt, xt, key_padding_mask=torch.from_numpy(~pad), attn_mask=attn_mask,
                 need_weights=False)
    ref.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(sa(x, pad, causal), out, rtol=tol, atol=tol)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=tol, atol=tol)
    for name, p in mha.named_parameters():
        np.testing.assert_allclose(sa.grads[name], p.grad.numpy(), rtol=tol, atol=tol,
                                   err_msg=name)


# ------------------------------------------------------------ save / load
@pytest.mark.parametrize("make", [
    lambda: fr.DotAttention(scaled=True, dtype="float64"),
    lambda: fr.GeneralAttention(3, 5, seed=1),
    lambda: fr.AdditiveAttention(3, 5, 7, dtype="float64", seed=2),
    lambda: fr.SelfAttention(6, 3, seed=3),
])
def test_attention_save_and_load(tmp_path, rng, make):
    module = make()
    path = tmp_path / "attn.frnn"
    fr.save(module, path)
    back = fr.load(path)
    assert type(back) is type(module) and back.get_config() == module.get_config()
    assert sorted(back.parameters()) == sorted(module.parameters())
    for k, v in module.parameters().items():
        np.testing.assert_array_equal(back.parameters()[k], v)
    if isinstance(module, fr.SelfAttention):
        x = rng.standard_normal((2, 4, 6))
        np.testing.assert_array_equal(back(x, causal=True), module(x, causal=True))
    else:
        q, k = rng.standard_normal((2, 3)), rng.standard_normal((2, 4, 3 if
                                                                 module.key_size is None else 5))
        np.testing.assert_array_equal(back(q, k)[0], module(q, k)[0])


def test_load_refuses_a_forged_attention_config(tmp_path):
    import json
    import zipfile

    path = tmp_path / "a.frnn"
    fr.save(fr.GeneralAttention(3, 5), path)
    with zipfile.ZipFile(path) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    header = json.loads(entries["header.json"])
    header["config"]["query_size"] = 10**6  # must be refused before allocating
    entries["header.json"] = json.dumps(header).encode()
    forged = tmp_path / "forged.frnn"
    with zipfile.ZipFile(forged, "w") as zf:
        for n, data in entries.items():
            zf.writestr(n, data)
    with pytest.raises(fr.FormatError, match="weight"):
        fr.load(forged)


def test_time_major_kernel_with_one_row_and_zero_strides(rng):
    """A batch of one given as views whose length-1 axis has stride 0."""
    q2, k2 = rng.standard_normal((TQ, HQ)), rng.standard_normal((TK, HK))
    q, k = q2[:, None, :], k2[:, None, :]
    assert q.strides[1] == 0
    attn = fr.DotAttention(dtype="float64")
    (c, w), bp = attn.attend_time_major_train(q, k, k, [TK])
    (c_ref, w_ref), bp_ref = attn.forward_train(q2[None], k2[None])
    np.testing.assert_allclose(c[:, 0], c_ref[0], rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(w, w_ref, rtol=1e-13, atol=1e-14)
    R = rng.standard_normal((TQ, HK))
    dq, dk, _ = bp(R[:, None, :])
    dq_ref, dk_ref, _ = bp_ref(R[None])
    np.testing.assert_allclose(dq[:, 0], dq_ref[0], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(dk[:, 0], dk_ref[0], rtol=1e-12, atol=1e-13)

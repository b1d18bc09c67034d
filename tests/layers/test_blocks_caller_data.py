"""The attention blocks, Linear and Dropout against what a caller does with
its own data around a training call:

* overwriting its inputs, or the module's weights (an optimizer step,
  ``load_state_dict``), between ``forward_train`` and ``backprop`` leaves
  the gradients bit-identical to an untouched run's;
* a backprop refused for a bad gradient is not used up (the corrected
  retry runs and gives a first good call's result; a second good call
  raises);
* ``out=`` / gradient arrays that overlap what the kernel reads;
* a batch of 0 rows: empty outputs and gradients of the right shapes, the
  parameter gradients unchanged.
"""
import numpy as np
import pytest

import fastrnn as fr

B, TQ, TK, H, HV = 3, 4, 5, 6, 2
LENGTHS = np.array([TK, 2, 3])

ATTENTION = {
    "dot": lambda dtype: fr.DotAttention(dtype=dtype),
    "scaled": lambda dtype: fr.DotAttention(scaled=True, dtype=dtype),
    "general": lambda dtype: fr.GeneralAttention(H, H, dtype=dtype, seed=0),
    "additive": lambda dtype: fr.AdditiveAttention(H, H, 7, dtype=dtype, seed=0),
}


def _scribble(rng, *arrays):
    """Overwrite each array in place with other values."""
    for a in arrays:
        a[...] = rng.standard_normal(a.shape) * 3


def _scribble_params(rng, module):
    """An optimizer step and a load_state_dict: the live weights change."""
    for p in module.parameters().values():
        p -= 0.5
    module.load_state_dict({k: rng.standard_normal(v.shape) for k, v in
                            module.parameters().items()})


def _assert_same(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        if w is None:
            assert g is None
        else:
            np.testing.assert_array_equal(g, w)


def _assert_same_grads(a, b):
    ga, gb = a.grads, b.grads
    assert ga.keys() == gb.keys()
    for name in ga:
        np.testing.assert_array_equal(ga[name], gb[name], err_msg=name)


def _mask():
    return np.arange(TK)[None, :] < LENGTHS[:, None]


# ------------------------------------------ A: caller data changed in between
@pytest.mark.parametrize("kind", list(ATTENTION))
@pytest.mark.parametrize("dtype, input_dtype", [("float64", "float64"), ("float32", "float32"),
                                                ("float32", "float64")])
@pytest.mark.parametrize("values_kind", ["none", "apart", "keys"])
@pytest.mark.parametrize("query_ndim", [2, 3])
def test_forward_train_gradients_ignore_later_changes(rng, kind, dtype, input_dtype, values_kind,
                                                    query_ndim):
    """float32 inputs to a float32 block are the caller's own (copied);
    float64 ones are cast (the cast is private, kept as is); either way
    overwriting the inputs, the mask and the weights changes nothing."""
    def inputs():
        r = np.random.default_rng(7)
        q = r.standard_normal((B, H) if query_ndim == 2 else (B, TQ, H)).astype(input_dtype)
        k = r.standard_normal((B, TK, H)).astype(input_dtype)
        v = {"none": None, "apart": r.standard_normal((B, TK, HV)).astype(input_dtype),
             "keys": k}[values_kind]
        return q, k, v, _mask()

    def grads_out(ctx, w):
        r = np.random.default_rng(8)
        return r.standard_normal(ctx.shape), r.standard_normal(w.shape)

    ref = ATTENTION[kind](dtype)
    (ctx, w), bp = ref.forward_train(*inputs())
    want = bp(*grads_out(ctx, w))

    attn = ATTENTION[kind](dtype)
    q, k, v, mask = inputs()
    (ctx2, w2), bp2 = attn.forward_train(q, k, v, mask)
    np.testing.assert_array_equal(ctx2, ctx)
    _scribble(rng, *[a for a in (q, k, v) if a is not None])
    mask[...] = True
    _scribble_params(rng, attn)
    _assert_same(bp2(*grads_out(ctx2, w2)), want)
    _assert_same_grads(attn, ref)


@pytest.mark.parametrize("kind", list(ATTENTION))
def test_decoding_hooks_gradients_ignore_later_changes(rng, kind):
    """project_keys_train and a few attend_train steps, with the keys,
    queries, values and weights overwritten before the backprops run."""
    r = np.random.default_rng(3)
    keys0, query0 = r.standard_normal((B, TK, H)), r.standard_normal((TQ, B, H))
    dctx = r.standard_normal((TQ, B, H))

    def run(scribble):
        attn = ATTENTION[kind]("float64")
        keys, query = keys0.copy(), query0.copy()
        proj, proj_bp = attn.project_keys_train(keys)
        steps = []
        for t in range(TQ):
            q_t = query[t].copy()
            (c, _), bp = attn.attend_train(q_t, proj, keys, _mask())
            steps.append((q_t, bp))
        if scribble:
            _scribble(rng, keys, query, *[q_t for q_t, _ in steps])
            if proj is keys0 or proj.flags.writeable:   # dot attention: proj is the keys
                _scribble(rng, proj)
            _scribble_params(rng, attn)
        dproj, dkeys, dqs = np.zeros(proj.shape), np.zeros(keys.shape), []
        for t, (_, bp) in enumerate(steps):
            dq, dp, dv = bp(dctx[t])
            dproj += dp
            dkeys += dv
            dqs.append(dq)
        dkeys += proj_bp(dproj)
        return attn, [dkeys] + dqs

    ref, want = run(False)
    attn, got = run(True)
    _assert_same(got, want)
    _assert_same_grads(attn, ref)


def test_projected_keys_are_read_only_and_attention_weights_too(rng):
    attn = fr.GeneralAttention(H, H, dtype="float64", seed=0)
    proj, _ = attn.project_keys_train(rng.standard_normal((B, TK, H)))
    with pytest.raises(ValueError, match="read-only"):
        proj[0] = 1.0
    (_, w), _ = attn.attend_train(rng.standard_normal((B, H)), proj,
                                  rng.standard_normal((B, TK, H)))
    with pytest.raises(ValueError, match="read-only"):
        w[0] = 1.0
    (_, w), _ = attn.forward_train(rng.standard_normal((B, TQ, H)),
                                   rng.standard_normal((B, TK, H)))
    with pytest.raises(ValueError, match="read-only"):
        w[...] = 0.0
    # Inference hands out ordinary arrays.
    assert attn(rng.standard_normal((B, H)), rng.standard_normal((B, TK, H)))[1].flags.writeable
    assert attn.project_keys(rng.standard_normal((B, TK, H))).flags.writeable


@pytest.mark.parametrize("kind", ["dot", "general"])
@pytest.mark.parametrize("shared", [False, True])
def test_time_major_gradients_ignore_later_changes(rng, kind, shared):
    r = np.random.default_rng(5)
    q0, k0 = r.standard_normal((TQ, B, H)), r.standard_normal((TK, B, H))
    v0 = r.standard_normal((TK, B, HV))
    dctx = r.standard_normal((TQ, B, H if shared else HV))

    def run(scribble):
        attn = ATTENTION[kind]("float64")
        q, k, v, lens = q0.copy(), k0.copy(), v0.copy(), LENGTHS.copy()
        proj, proj_bp = attn.project_keys_train(k)
        values = k if shared else v
        (c, w), bp = attn.attend_time_major_train(q, proj, values, lens)
        c = c.copy()
        if scribble:
            _scribble(rng, q, k, v)
            if proj.flags.writeable:
                _scribble(rng, proj)
            lens[...] = 1
            _scribble_params(rng, attn)
        dq, dp, dv = bp(dctx)
        dk = (dp if dp is dv else proj_bp(dp)) if kind == "dot" else proj_bp(dp)
        if shared and kind != "dot":
            dk = dk + dv
        return attn, [c, w, dq, dk, None if shared else dv]

    ref, want = run(False)
    attn, got = run(True)
    _assert_same(got, want)
    _assert_same_grads(attn, ref)


@pytest.mark.parametrize("cast", [False, True])
def test_self_attention_gradients_ignore_later_changes(rng, cast):
    r = np.random.default_rng(9)
    x0 = r.standard_normal((B, TQ, 4))
    dout = r.standard_normal((B, TQ, 4))
    mask0 = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], bool)

    def run(scribble):
        sa = fr.SelfAttention(4, 2, dtype="float32" if cast else "float64", seed=1)
        x, mask = x0.copy(), mask0.copy()
        out, bp = sa.forward_train(x, mask, causal=True)
        if scribble:
            _scribble(rng, x)
            mask[...] = True
            _scribble_params(rng, sa)
        return sa, [out, bp(dout)]

    ref, want = run(False)
    sa, got = run(True)
    _assert_same(got, want)
    _assert_same_grads(sa, ref)


@pytest.mark.parametrize("dtype, input_dtype", [("float64", "float64"), ("float32", "float64"),
                                                ("float32", "float32")])
@pytest.mark.parametrize("shape", [(7, 5), (2, 3, 5)])
def test_linear_gradients_ignore_later_changes(rng, dtype, input_dtype, shape):
    r = np.random.default_rng(4)
    x0, dy = r.standard_normal(shape).astype(input_dtype), r.standard_normal(shape[:-1] + (3,))

    def run(scribble):
        lin = fr.Linear(5, 3, dtype=dtype, seed=2)
        x = x0.copy()
        y, bp = lin.forward_train(x)
        if scribble:
            _scribble(rng, x)
            _scribble_params(rng, lin)
        return lin, [y, bp(dy)]

    ref, want = run(False)
    lin, got = run(True)
    _assert_same(got, want)
    _assert_same_grads(lin, ref)


def test_dropout_gradient_ignores_a_reused_input(rng):
    x = rng.standard_normal((4, 6))
    y, bp = fr.Dropout(0.5, dtype="float64", seed=3).forward_train(x)
    y_ref, bp_ref = fr.Dropout(0.5, dtype="float64", seed=3).forward_train(x.copy())
    x[...] = 0
    dy = rng.standard_normal(x.shape)
    np.testing.assert_array_equal(bp(dy), bp_ref(dy))


def test_kept_copies_given_back_to_the_pool_are_no_longer_read(rng):
    """The copies sit on pooled buffers given back when a backprop is done:
    with two training calls outstanding, the first one's backprop and a
    third call (which takes its buffers and fills them with other data)
    leave the second one's gradients right.  Arrays large enough for the pool."""
    r = np.random.default_rng(11)
    q, k = r.standard_normal((8, 40, 64)), r.standard_normal((8, 60, 64))
    dctx = r.standard_normal((8, 40, 64))
    x, dy = r.standard_normal((700, 64)), r.standard_normal((700, 32))
    qt, kt = np.ascontiguousarray(q.swapaxes(0, 1)), np.ascontiguousarray(k.swapaxes(0, 1))
    lens = np.full(8, 60)

    def calls(attn, lin):
        """Training calls; ``c`` scales the inputs (other data, same sizes)."""
        return [lambda c=1: attn.forward_train(c * q, c * k)[1],
                lambda c=1: lin.forward_train(c * x)[1],
                lambda c=1: attn.attend_time_major_train(c * qt, c * kt, c * kt, lens)[1]]

    def grads_in(i):
        return [(dctx,), (dy,), (np.ascontiguousarray(dctx.swapaxes(0, 1)),)][i]

    for i in range(3):
        ref_attn = fr.GeneralAttention(64, 64, dtype="float64", seed=0)
        ref_lin = fr.Linear(64, 32, dtype="float64", seed=0)
        attn = fr.GeneralAttention(64, 64, dtype="float64", seed=0)
        lin = fr.Linear(64, 32, dtype="float64", seed=0)
        want = calls(ref_attn, ref_lin)[i]()(*grads_in(i))
        call = calls(attn, lin)[i]
        first, second = call(), call()
        first(*grads_in(i))
        call(-2)   # takes the buffers the first backprop gave back, fills them
        attn.zero_grad()
        lin.zero_grad()
        got = second(*grads_in(i))
        _assert_same(got if isinstance(got, tuple) else (got,),
                     want if isinstance(want, tuple) else (want,))
        _assert_same_grads(attn, ref_attn)
        _assert_same_grads(lin, ref_lin)


# ------------------------------------- B: a refused backprop is not used up
def _refusals(rng):
    """(name, make) -> (backprop, bad calls, good args); ``make`` builds a
    fresh module and training call each time."""
    q, k, v = rng.standard_normal((B, TQ, H)), rng.standard_normal((B, TK, H)), \
        rng.standard_normal((B, TK, HV))
    dctx, dw = rng.standard_normal((B, TQ, HV)), rng.standard_normal((B, TQ, TK))
    qt, kt = np.ascontiguousarray(q.swapaxes(0, 1)), np.ascontiguousarray(k.swapaxes(0, 1))
    dct, dproj = rng.standard_normal((TQ, B, H)), rng.standard_normal((B, TK, H))
    x, dx = rng.standard_normal((B, TQ, 4)), rng.standard_normal((B, TQ, 4))

    def attention(kind):
        def make():
            attn = ATTENTION[kind]("float64")
            (_, _), bp = attn.forward_train(q, k, v, _mask())
            bad = [((np.zeros((B, HV)),), ValueError, r"dcontext must have shape \(3, 4, 2\)"),
                   ((dctx, np.zeros((B, TK))), ValueError, r"dweights must have shape"),
                   ((np.full(dctx.shape, "a"),), TypeError, "dcontext must be a real numeric")]
            return attn, bp, bad, (dctx, dw)
        return make

    def attend_step():
        attn = ATTENTION["additive"]("float64")
        proj = attn.project_keys(k)
        (_, _), bp = attn.attend_train(q[:, 0], proj, v)
        return attn, bp, [((np.zeros((B, TQ, HV)),), ValueError, "dcontext must have shape")], \
            (dctx[:, 0], dw[:, 0])

    def project():
        attn = ATTENTION["general"]("float64")
        _, bp = attn.project_keys_train(k)
        return attn, bp, [((np.zeros((B, TK)),), ValueError, "dproj must have shape")], (dproj,)

    def time_major():
        attn = ATTENTION["dot"]("float64")
        (_, _), bp = attn.attend_time_major_train(qt, kt, kt, LENGTHS)
        bad = [((np.zeros((TQ, B, H + 1)),), ValueError, "dcontext must have shape"),
               ((dct, np.zeros((TQ, B, H), "float32")), ValueError, "dquery must be a writeable"),
               ((dct, None, np.zeros((TK, B, H))[::-1]), ValueError, "dproj must be a writeable")]
        return attn, bp, bad, (dct,)

    def self_attention():
        sa = fr.SelfAttention(4, 2, dtype="float64", seed=0)
        _, bp = sa.forward_train(x)
        return sa, bp, [((np.zeros((B, TQ, 5)),), ValueError, r"dout must have shape")], (dx,)

    def linear():
        lin = fr.Linear(4, 3, dtype="float64", seed=0)
        y, bp = lin.forward_train(x)
        return lin, bp, [((np.zeros((B, TQ, 4)),), ValueError, r"dy must have shape \(3, 4, 3\)"),
                         ((None,), TypeError, "dy must be a real numeric")], \
            (np.ones(y.shape),)

    def dropout():
        d = fr.Dropout(0.5, dtype="float64", seed=0)
        _, bp = d.forward_train(x)
        return d, bp, [((np.zeros(3),), ValueError, r"dy must have shape")], (dx,)

    cases = {f"forward_train-{kind}": attention(kind) for kind in ATTENTION}
    cases.update({"attend_train": attend_step, "project_keys_train": project,
                  "attend_time_major_train": time_major, "SelfAttention": self_attention,
                  "Linear": linear, "Dropout": dropout})
    return cases


@pytest.mark.parametrize("case", ["forward_train-dot", "forward_train-scaled",
                                  "forward_train-general", "forward_train-additive",
                                  "attend_train", "project_keys_train",
                                  "attend_time_major_train", "SelfAttention", "Linear",
                                  "Dropout"])
def test_a_refused_backprop_is_not_used_up(rng, case):
    make = _refusals(rng)[case]
    ref, ref_bp, _, good = make()
    want = ref_bp(*good)
    module, bp, bad, good = make()
    for args, exc, match in bad:
        with pytest.raises(exc, match=match):
            bp(*args)
    got = bp(*good)
    _assert_same(got if isinstance(got, tuple) else (got,),
                 want if isinstance(want, tuple) else (want,))
    _assert_same_grads(module, ref)
    with pytest.raises(RuntimeError, match="already called"):
        bp(*good)


# ------------------------------------------------ C: overlapping out / grads
@pytest.mark.parametrize("which", ["query", "proj", "values"])
def test_time_major_out_may_overlap_the_inputs(rng, which):
    """The kernel writes ``out`` while it reads the inputs: an ``out`` that
    is one of them (or a view into one) gives the result of a separate one."""
    attn = fr.DotAttention(dtype="float64")
    q, k, v = (rng.standard_normal((TQ, B, H)), rng.standard_normal((TK, B, H)),
               rng.standard_normal((TK, B, H)))
    (c_ref, w_ref), bp_ref = attn.attend_time_major_train(q, k, v, LENGTHS)
    c_ref = c_ref.copy()
    want = bp_ref(np.ones((TQ, B, H)))
    arrays = {"query": q.copy(), "proj": k.copy(), "values": v.copy()}
    if which == "query":
        out = arrays["query"]
    else:   # the first TQ steps of the keys / values (TQ < TK)
        out = arrays[which][:TQ]
    (c, w), bp = attn.attend_time_major_train(arrays["query"], arrays["proj"], arrays["values"],
                                              LENGTHS, out=out)
    assert c is out
    np.testing.assert_array_equal(c, c_ref)
    np.testing.assert_array_equal(w, w_ref)
    _assert_same(bp(np.ones((TQ, B, H))), want)


def test_time_major_dcontext_may_overlap_the_gradient_arrays(rng):
    """The kernel reads dcontext after it has added into dquery: a dcontext
    that is dquery itself is read from a copy."""
    attn = fr.DotAttention(dtype="float64")
    q, k = rng.standard_normal((TQ, B, H)), rng.standard_normal((TK, B, H))
    dc = rng.standard_normal((TQ, B, H))
    _, bp_ref = attn.attend_time_major_train(q, k, k, LENGTHS)
    start = dc.copy()
    dq_ref, dp_ref, _ = bp_ref(dc, start.copy())
    _, bp = attn.attend_time_major_train(q, k, k, LENGTHS)
    shared = dc.copy()
    dq, dp, dv = bp(shared, shared)
    assert dq is shared
    np.testing.assert_array_equal(dq, dq_ref)
    np.testing.assert_array_equal(dp, dp_ref)


def test_time_major_gradient_arrays_must_not_partly_overlap(rng):
    attn = fr.DotAttention(dtype="float64")
    q, k = rng.standard_normal((TK, B, H)), rng.standard_normal((TK, B, H))
    v = rng.standard_normal((TK, B, H))
    _, bp = attn.attend_time_major_train(q, k, v, LENGTHS)
    buf = np.zeros((TK + 1, B, H))
    with pytest.raises(ValueError, match="dquery and dproj must be one array or not overlap"):
        bp(np.ones((TK, B, H)), buf[1:], buf[:-1])
    # One array for two of them adds both (and the refusal above used nothing up).
    one = np.zeros((TK, B, H))
    dq, dp, dv = bp(np.ones((TK, B, H)), None, one, one)
    assert dp is dv is one


def test_time_major_out_must_be_writeable(rng):
    attn = fr.DotAttention(dtype="float64")
    q, k = rng.standard_normal((TQ, B, H)), rng.standard_normal((TK, B, H))
    out = np.zeros((TQ, B, H))
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out must be a writeable"):
        attn.attend_time_major_train(q, k, k, LENGTHS, out=out)


def test_linear_dy_that_is_the_weight_gradient_is_read_before_it_changes(rng):
    """Linear adds into its weight gradient while reading dy: a dy that is
    that very array (square layer, as many rows as outputs) is copied first."""
    lin = fr.Linear(4, 4, dtype="float64", seed=0)
    ref = fr.Linear(4, 4, dtype="float64", seed=0)
    x = rng.standard_normal((4, 4))
    g = rng.standard_normal((4, 4))
    lin.grads["weight"][...] = g
    ref.grads["weight"][...] = g
    _, bp = lin.forward_train(x)
    _, bp_ref = ref.forward_train(x)
    dx_ref = bp_ref(g.copy())
    dx = bp(lin.grads["weight"])
    np.testing.assert_array_equal(dx, dx_ref)
    _assert_same_grads(lin, ref)


# ---------------------------------------------------------- D: batch of 0
@pytest.mark.parametrize("kind", list(ATTENTION))
@pytest.mark.parametrize("query_ndim, mask_kind", [(2, None), (2, "keys"), (3, None),
                                                   (3, "keys"), (3, "per_query")])
@pytest.mark.parametrize("with_values", [False, True])
def test_attention_batch_of_zero_rows(kind, query_ndim, mask_kind, with_values):
    attn = ATTENTION[kind]("float64")
    for g in attn.grads.values():
        g[...] = 1.5   # accumulated before: must stay
    q = np.zeros((0, H) if query_ndim == 2 else (0, TQ, H))
    k, v = np.zeros((0, TK, H)), (np.zeros((0, TK, HV)) if with_values else None)
    mask = {None: None, "keys": np.ones((0, TK), bool),
            "per_query": np.zeros((0, TQ, TK), bool)}[mask_kind]
    Hc = HV if with_values else H
    ctx_shape = (0, Hc) if query_ndim == 2 else (0, TQ, Hc)
    w_shape = (0, TK) if query_ndim == 2 else (0, TQ, TK)
    ctx, w = attn(q, k, v, mask)
    assert ctx.shape == ctx_shape and w.shape == w_shape
    (ctx, w), bp = attn.forward_train(q, k, v, mask)
    assert ctx.shape == ctx_shape and w.shape == w_shape
    dq, dk, dv = bp(np.zeros(ctx_shape), np.zeros(w_shape))
    assert dq.shape == q.shape and dk.shape == k.shape
    assert (dv is None) if v is None else dv.shape == v.shape
    # The decoding hooks too.
    proj, proj_bp = attn.project_keys_train(k)
    (c1, w1), bp1 = attn.attend_train(q, proj, k if v is None else v, mask)
    assert c1.shape == ctx_shape and w1.shape == w_shape
    dq1, dp1, dv1 = bp1(np.zeros(ctx_shape))
    assert dq1.shape == q.shape and dp1.shape == proj.shape
    assert proj_bp(dp1).shape == k.shape
    for name, g in attn.grads.items():
        assert (g == 1.5).all(), name


@pytest.mark.parametrize("kind", ["dot", "scaled", "general"])
def test_time_major_batch_of_zero_rows(kind):
    attn = ATTENTION[kind]("float64")
    q, k, v = np.zeros((TQ, 0, H)), np.zeros((TK, 0, H)), np.zeros((TK, 0, HV))
    proj, _ = attn.project_keys_train(k)
    (c, w), bp = attn.attend_time_major_train(q, proj, v, np.zeros(0, int))
    assert c.shape == (TQ, 0, HV) and w.shape == (0, TQ, TK)
    dq, dp, dv = bp(np.zeros((TQ, 0, HV)))
    assert dq.shape == q.shape and dp.shape == proj.shape and dv.shape == v.shape
    out = np.zeros((TQ, 0, HV))
    assert attn.attend_time_major_train(q, proj, v, [], out=out)[0][0] is out
    # Zero steps or zero columns stay refused.
    with pytest.raises(ValueError, match="query must have at least one step"):
        attn.attend_time_major_train(np.zeros((0, 2, H)), np.zeros((TK, 2, H)),
                                     np.zeros((TK, 2, H)), [1, 1])


@pytest.mark.parametrize("mask_kind, causal", [(None, False), ("padding", True), ("full", False)])
def test_self_attention_batch_of_zero_rows(mask_kind, causal):
    sa = fr.SelfAttention(4, 2, dtype="float64", seed=0)
    x = np.zeros((0, TQ, 4))
    mask = {None: None, "padding": np.zeros((0, TQ), bool),
            "full": np.zeros((0, TQ, TQ), bool)}[mask_kind]
    assert sa(x, mask, causal).shape == (0, TQ, 4)
    out, bp = sa.forward_train(x, mask, causal)
    assert out.shape == (0, TQ, 4)
    assert bp(np.zeros((0, TQ, 4))).shape == (0, TQ, 4)
    for name, g in sa.grads.items():
        assert not g.any(), name


@pytest.mark.parametrize("shape", [(0, 5), (2, 0, 5), (0, 3, 5)])
def test_linear_and_dropout_with_zero_rows(shape):
    lin = fr.Linear(5, 3, dtype="float64", seed=0)
    x = np.zeros(shape)
    out_shape = shape[:-1] + (3,)
    assert lin(x).shape == out_shape
    y, bp = lin.forward_train(x)
    assert y.shape == out_shape and y.dtype == np.float64
    assert bp(np.zeros(out_shape)).shape == shape
    assert not any(g.any() for g in lin.grads.values())
    y, bp = fr.Dropout(0.5, seed=0).forward_train(x)
    assert y.shape == shape and bp(np.zeros(shape)).shape == shape

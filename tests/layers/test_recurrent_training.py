"""The recurrent layers in training: gradients against finite differences
(bidirectional, stacked, batch-first, unbatched), their accumulation and
zero_grad, and dropout between layers."""

import numpy as np
import pytest

from helpers.gradcheck import numeric_entry, numeric_grad
from helpers.layers import (ALL_KINDS, MERGE_MODES, loss_and_seeds, make_cell, make_layer,
                            random_state, state_list, weighted_sum)


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

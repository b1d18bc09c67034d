"""The one-step cells (RNNCell, LSTMCell, GRUCell): shapes, a None state,
steps equal to a one-layer layer, gradients against finite differences."""

import numpy as np
import pytest

from helpers.gradcheck import numeric_grad
from helpers.layers import ALL_KINDS, make_cell, make_layer, random_state, state_list


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

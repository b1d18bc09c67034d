"""``functional.bidirectional``: both directions in one launch equal two
single-direction runs, with 1 and 2 threads, in every path the launcher
takes (side by side for small batches, one after the other otherwise)."""
import numpy as np
import pytest

from fastrnn import _runtime
from fastrnn import functional as F

from reference import random_params


@pytest.fixture
def threads():
    before = _runtime.get_num_threads()
    yield _runtime.set_num_threads
    _runtime.set_num_threads(before)


@pytest.mark.parametrize("mode, reset_after", [("lstm", True), ("gru", True), ("gru", False),
                                               ("rnn_tanh", True), ("rnn_relu", True)])
@pytest.mark.parametrize("B", [1, 5])
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_bidirectional_equals_two_single_directions(threads, mode, reset_after, B, n_threads,
                                                    dtype):
    threads(n_threads)
    rng = np.random.default_rng(B * 10 + n_threads)
    T, I, H = 6, 3, 5
    x = rng.standard_normal((T, B, I)).astype(dtype)
    lengths = np.array([6, 0, 4, 1, 5][:B]) if B > 1 else np.array([4])
    params = [tuple(random_params(rng, mode, I, H, dtype=dtype)) for _ in range(2)]
    hx = [rng.standard_normal((B, H)).astype(dtype) for _ in range(2)]
    cx = [rng.standard_normal((B, H)).astype(dtype) for _ in range(2)] if mode == "lstm" else None
    results, backprop = F.bidirectional_train(mode, x, params, hx, cx, lengths, reset_after)
    inference = F.bidirectional(mode, x, params, hx, cx, lengths, reset_after)
    douts = [rng.standard_normal((T, B, H)).astype(dtype) for _ in range(2)]
    dhs = [rng.standard_normal((B, H)).astype(dtype) for _ in range(2)]
    grads = backprop(douts, dhs)
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    for d in range(2):
        (out, h, c), bp = F.recurrent_train(mode, x, *params[d], hx[d],
                                            None if cx is None else cx[d], lengths,
                                            reverse=d == 1, reset_after=reset_after)
        dx, dh0, dc0, g = bp(douts[d], dhs[d])
        for ours, single in zip(results[d] + inference[d], (out, h, c) * 2):
            if single is None:
                assert ours is None
            else:
                np.testing.assert_allclose(ours, single, **tol)
        np.testing.assert_allclose(grads[d][0], dx, **tol)
        np.testing.assert_allclose(grads[d][1], dh0, **tol)
        for key in g:
            np.testing.assert_allclose(grads[d][3][key], g[key], **tol, err_msg=key)


def test_bidirectional_refuses_more_than_two_directions():
    rng = np.random.default_rng(0)
    p = tuple(random_params(rng, "gru", 3, 4))
    with pytest.raises(ValueError, match="params"):
        F.bidirectional("gru", np.zeros((2, 1, 3)), [p, p, p])


def test_bidirectional_backprop_once():
    rng = np.random.default_rng(0)
    p = tuple(random_params(rng, "rnn_tanh", 3, 4))
    _, backprop = F.bidirectional_train("rnn_tanh", np.ones((2, 2, 3)), [p, p])
    backprop()
    with pytest.raises(RuntimeError, match="once"):
        backprop()

"""``functional.bidirectional``: both directions in one launch equal two
single-direction runs, with 1 and 2 threads, in every path the launcher
takes (side by side for small batches, one after the other otherwise)."""
import numpy as np
import pytest

from fastrnn import _runtime
from fastrnn import functional as F

from helpers.reference import random_params


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


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh"])
@pytest.mark.parametrize("B", [1, 5])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_concatenated_output_in_place_and_strided_gradients(threads, plan, mode, B, n_threads):
    """``out=`` takes both directions' outputs side by side (no concatenation
    afterwards) and column views of a concatenated gradient are read in
    place: the same numbers, bit for bit, as separate arrays; a length-1
    batch axis whose stride numpy set to 0 included."""
    threads(n_threads)
    rng = np.random.default_rng(B)
    T, I, H = 6, 3, 5
    x = rng.standard_normal((T, B, I))
    lengths = np.array([6, 2, 4, 1, 5][:B])
    params = [tuple(random_params(rng, mode, I, H)) for _ in range(2)]
    dcat = rng.standard_normal((T, B, 2 * H))
    ref, ref_bp = F.bidirectional_train(mode, x, params, lengths=lengths)
    ref_grads = ref_bp([np.ascontiguousarray(dcat[..., :H]), np.ascontiguousarray(dcat[..., H:])])
    out = np.full((T, B, 2 * H), np.nan)
    got, got_bp = F.bidirectional_train(mode, x, params, lengths=lengths, out=out)
    assert all(o.base is out for o, _, _ in got)
    np.testing.assert_array_equal(out, np.concatenate([ref[0][0], ref[1][0]], axis=-1))
    if B == 1:   # the view numpy gives a stride of 0 on its length-1 axis
        dcat = dcat[:, 0][:, None, :]
        assert dcat.strides[1] == 0
    got_grads = got_bp([dcat[..., :H], dcat[..., H:]])
    for (gdx, gdh, _, gw), (rdx, rdh, _, rw) in zip(got_grads, ref_grads):
        np.testing.assert_array_equal(gdx, rdx)
        np.testing.assert_array_equal(gdh, rdh)
        for k in rw:
            np.testing.assert_array_equal(gw[k], rw[k])
    with pytest.raises(ValueError, match=r"out must be a writeable C-contiguous float64 array "
                                         r"of shape \(6, %d, 10\)" % B):
        F.bidirectional(mode, x, params, lengths=lengths, out=np.zeros((T, B, 2 * H), "float32"))

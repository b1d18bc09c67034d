"""fastrnn._matmul: the OpenMP-split BLAS products behind Linear and the
other dense blocks -- right for every transpose, stride and dtype, and the
same bits whatever the thread count."""
import numpy as np
import pytest

import fastrnn as fr
from fastrnn import _matmul
from fastrnn._matmul import matmul


@pytest.fixture
def split_everything(monkeypatch):
    """Split even tiny products, so the parallel path runs in these tests."""
    monkeypatch.setattr(_matmul, "MIN_MACS_PER_THREAD", 1)
    monkeypatch.setattr(_matmul, "MIN_ROWS_PER_THREAD", 1)


def _operands(rng, m, n, k, trans_a, trans_b, dtype):
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    return a, b


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("m, n, k", [(1, 1, 1), (7, 5, 3), (64, 33, 17), (5, 64, 200)])
def test_products_match_numpy(split_everything, m, n, k, trans_a, trans_b, dtype):
    rng = np.random.default_rng(m * 100 + n)
    a, b = _operands(rng, m, n, k, trans_a, trans_b, dtype)
    want = (a.T if trans_a else a).astype(np.float64) @ (b.T if trans_b else b).astype(np.float64)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    got = matmul(a, b, trans_a, trans_b)
    assert got.dtype == dtype and got.shape == (m, n)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * k)
    # accumulate adds into out; without it out is overwritten (even if it held NaN)
    out = np.ones((m, n), dtype)
    matmul(a, b, trans_a, trans_b, out=out, accumulate=True)
    np.testing.assert_allclose(out, want + 1, rtol=tol, atol=tol * k)
    out[...] = np.nan
    matmul(a, b, trans_a, trans_b, out=out)
    np.testing.assert_allclose(out, want, rtol=tol, atol=tol * k)


def test_thread_count_changes_no_bit(split_everything):
    rng = np.random.default_rng(0)
    a, b = _operands(rng, 97, 41, 300, True, False, np.float32)
    before = fr.get_num_threads()
    try:
        results = []
        for n in (1, 2, 3):
            fr.set_num_threads(n)
            results.append(matmul(a, b, trans_a=True))
    finally:
        fr.set_num_threads(before)
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


def test_views_and_empty_shapes(split_everything):
    rng = np.random.default_rng(1)
    big = rng.standard_normal((20, 30)).astype(np.float32)
    a = big[::2, 3:13]         # row stride 60, last-axis stride 1
    b = big[::-1, :7][:10]     # negative row stride: copied first
    np.testing.assert_allclose(matmul(a, b), a @ b, rtol=1e-5, atol=1e-5)
    c = big[:, ::2][:10, :6]   # last-axis stride 2
    np.testing.assert_allclose(matmul(c, c, trans_b=True), c @ c.T, rtol=1e-5, atol=1e-5)
    assert matmul(np.zeros((0, 3), np.float32), np.zeros((3, 4), np.float32)).shape == (0, 4)
    out = np.full((2, 4), 5.0, np.float32)
    matmul(np.zeros((2, 0), np.float32), np.zeros((0, 4), np.float32), out=out, accumulate=True)
    np.testing.assert_array_equal(out, 5.0)
    matmul(np.zeros((2, 0), np.float32), np.zeros((0, 4), np.float32), out=out)
    np.testing.assert_array_equal(out, 0.0)


@pytest.mark.parametrize("call, match", [
    (lambda: matmul(np.zeros((2, 3), np.float32), np.zeros((4, 5), np.float32)), "do not multiply"),
    (lambda: matmul(np.zeros((2, 3), np.float32), np.zeros((3, 5))), "do not multiply"),
    (lambda: matmul(np.zeros((2, 3), np.int64), np.zeros((3, 5), np.int64)), "do not multiply"),
    (lambda: matmul(np.zeros((2, 3)), np.zeros((3, 5)), out=np.zeros((5, 2))), "out must be"),
])
def test_mismatches_are_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_linear_uses_it_and_keeps_its_gradients(split_everything):
    rng = np.random.default_rng(2)
    layer = fr.Linear(6, 5, seed=0, dtype="float64")
    x = rng.standard_normal((4, 3, 6))
    y, backprop = layer.forward_train(x)
    W, bias = layer.parameters()["weight"], layer.parameters()["bias"]
    np.testing.assert_allclose(y, x @ W.T + bias, rtol=1e-12)
    dy = rng.standard_normal(y.shape)
    dx = backprop(dy)
    np.testing.assert_allclose(dx, dy @ W, rtol=1e-12)
    np.testing.assert_allclose(layer.grads["weight"], dy.reshape(-1, 5).T @ x.reshape(-1, 6),
                               rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 2])
def test_a_pair_of_products_is_each_product_bit_for_bit(split_everything, dtype, threads):
    """matmul_pair (a backward's dW and dx, one thread each) gives exactly
    what one-thread matmul gives for each, accumulating where asked."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((97, 40)).astype(dtype)
    dy = rng.standard_normal((97, 13)).astype(dtype)
    w = rng.standard_normal((13, 40)).astype(dtype)
    dw = rng.standard_normal((13, 40)).astype(dtype)
    before = fr.get_num_threads()
    try:
        fr.set_num_threads(1)
        want_dw = matmul(dy, x, True, False, out=dw.copy(), accumulate=True)
        want_dx = matmul(dy, w)
        fr.set_num_threads(threads)
        got_dw, got_dx = _matmul.matmul_pair((dy, x, True, False, dw, True),
                                             (dy, w, False, False, None, False))
    finally:
        fr.set_num_threads(before)
    assert got_dw is dw
    np.testing.assert_array_equal(got_dw, want_dw)
    np.testing.assert_array_equal(got_dx, want_dx)
    with pytest.raises(ValueError, match="do not multiply"):
        _matmul.matmul_pair((dy, x, True, False, None, False), (dy, x, False, False, None, False))

"""fastrnn.losses: values, gradients (finite differences and PyTorch) and
input validation."""
import numpy as np
import pytest

from helpers.running import torch_or_skip

import fastrnn as fr
from fastrnn.losses import cross_entropy, mse


def numeric_grad(f, x, eps=1e-6):
    """Central-difference gradient of the scalar function ``f`` at ``x`` (float64)."""
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        keep = flat[i]
        flat[i] = keep + eps
        up = f(x)
        flat[i] = keep - eps
        down = f(x)
        flat[i] = keep
        gflat[i] = (up - down) / (2 * eps)
    return grad


# ------------------------------------------------------------ cross_entropy
def test_cross_entropy_matches_definition(rng):
    logits = rng.standard_normal((5, 4))
    targets = rng.integers(0, 4, size=5)
    loss, _ = cross_entropy(logits, targets)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert isinstance(loss, float)
    assert loss == pytest.approx(-logp[np.arange(5), targets].mean(), rel=1e-14)


@pytest.mark.parametrize("ignore_index", [None, -1, 2])
def test_cross_entropy_finite_differences_rank3(rng, ignore_index):
    logits = rng.standard_normal((3, 4, 5))
    targets = rng.integers(0, 5, size=(3, 4))
    if ignore_index is not None:
        targets[0, :2] = ignore_index
        targets[2, 3] = ignore_index
    loss, grad = cross_entropy(logits, targets, ignore_index=ignore_index)
    expected = numeric_grad(lambda x: cross_entropy(x, targets, ignore_index)[0], logits.copy())
    assert grad.shape == logits.shape and grad.dtype == np.float64
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-9)
    if ignore_index is not None:
        assert np.all(grad[targets == ignore_index] == 0)


def test_cross_entropy_ignored_rows_do_not_count(rng):
    logits = rng.standard_normal((4, 3))
    targets = np.array([0, -100, 2, -100])
    loss, grad = cross_entropy(logits, targets, ignore_index=-100)
    sub_loss, sub_grad = cross_entropy(logits[[0, 2]], targets[[0, 2]])
    assert loss == pytest.approx(sub_loss, rel=1e-14)
    np.testing.assert_allclose(grad[[0, 2]], sub_grad, rtol=1e-14)
    assert np.all(grad[[1, 3]] == 0)


@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-5), (np.float64, 1e-12)])
def test_cross_entropy_matches_torch(rng, dtype, tol):
    torch = torch_or_skip()
    logits = (3 * rng.standard_normal((6, 7, 5))).astype(dtype)
    targets = rng.integers(0, 5, size=(6, 7))
    targets[rng.random((6, 7)) < 0.3] = -1
    loss, grad = cross_entropy(logits, targets, ignore_index=-1)

    t_logits = torch.tensor(logits, requires_grad=True)
    # torch wants the class axis second: (N, C, d1) from (T, B, C).
    t_loss = torch.nn.functional.cross_entropy(t_logits.permute(0, 2, 1), torch.tensor(targets),
                                               ignore_index=-1, reduction="mean")
    t_loss.backward()
    assert grad.dtype == dtype
    assert loss == pytest.approx(t_loss.item(), rel=tol)
    np.testing.assert_allclose(grad, t_logits.grad.numpy(), rtol=tol, atol=tol * 1e-2)


def test_cross_entropy_stable_for_huge_logits():
    logits = np.array([[1e4, -1e4, 0.0], [1e4, 1e4, -1e4]], dtype=np.float32)
    loss, grad = cross_entropy(logits, np.array([1, 0]))
    # Row 0: target logit 2e4 below the max -> 2e4; row 1: log 2.
    assert np.isfinite(loss)
    assert loss == pytest.approx((2e4 + np.log(2)) / 2, rel=1e-6)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, [[0.5, -0.5, 0], [-0.25, 0.25, 0]], atol=1e-7)


def test_cross_entropy_all_ignored_gives_zero():
    logits = np.ones((2, 3, 4), dtype=np.float32)
    loss, grad = cross_entropy(logits, np.full((2, 3), 7), ignore_index=7)
    assert loss == 0.0
    assert grad.dtype == np.float32 and grad.shape == logits.shape
    assert not grad.any()


def test_cross_entropy_single_position_1d_logits():
    logits = np.array([1.0, 2.0, 3.0])
    loss, grad = cross_entropy(logits, np.array(2))
    p = np.exp(logits) / np.exp(logits).sum()
    assert loss == pytest.approx(-np.log(p[2]), rel=1e-14)
    np.testing.assert_allclose(grad, p - [0, 0, 1], rtol=1e-14)


@pytest.mark.parametrize("logits, targets, kwargs, exc, match", [
    (np.zeros((2, 3), np.int64), np.zeros(2, np.int64), {}, TypeError, r"logits must be a float32"),
    (np.zeros((2, 3), np.float16), np.zeros(2, np.int64), {}, TypeError, r"logits .* got dtype float16"),
    (np.zeros((2, 3)), np.zeros(2), {}, TypeError, r"targets must be an integer array, got dtype float64"),
    (np.zeros((2, 3)), np.zeros(2, bool), {}, TypeError, r"targets must be an integer array"),
    (np.zeros((2, 3)), np.zeros(2, np.int64), {"ignore_index": 1.0}, TypeError, r"ignore_index must be"),
    (np.zeros((2, 3)), np.zeros(2, np.int64), {"ignore_index": True}, TypeError, r"ignore_index must be"),
    (np.float64(1.0), np.int64(0), {}, ValueError, r"logits must have at least 1 dimension"),
    (np.zeros((2, 0)), np.zeros(2, np.int64), {}, ValueError, r"logits must have at least one class"),
    (np.zeros((4, 3, 5)), np.zeros(4, np.int64), {}, ValueError,
     r"targets must have shape \(4, 3\) \(logits' shape without its last axis\), got \(4,\)"),
    (np.zeros((2, 3)), np.array([0, 3]), {}, ValueError, r"targets must be class indices in \[0, 3\), got 3"),
    (np.zeros((2, 3)), np.array([-1, 0]), {}, ValueError, r"targets must be .* got -1 at index \(0,\)"),
    (np.zeros((2, 3)), np.array([-1, -2]), {"ignore_index": -1}, ValueError,
     r"targets must be class indices in \[0, 3\) or ignore_index=-1, got -2"),
])
def test_cross_entropy_validation(logits, targets, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        cross_entropy(logits, targets, **kwargs)


# ---------------------------------------------------------------------- mse
def test_mse_value_and_finite_differences(rng):
    pred = rng.standard_normal((3, 2, 4))
    target = rng.standard_normal((3, 2, 4))
    loss, grad = mse(pred, target)
    assert isinstance(loss, float)
    assert loss == pytest.approx(np.mean((pred - target) ** 2), rel=1e-14)
    expected = numeric_grad(lambda x: mse(x, target)[0], pred.copy())
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-6), (np.float64, 1e-13)])
def test_mse_matches_torch(rng, dtype, tol):
    torch = torch_or_skip()
    pred = rng.standard_normal((5, 3)).astype(dtype)
    target = rng.standard_normal((5, 3)).astype(dtype)
    loss, grad = mse(pred, target)
    t_pred = torch.tensor(pred, requires_grad=True)
    t_loss = torch.nn.functional.mse_loss(t_pred, torch.tensor(target), reduction="mean")
    t_loss.backward()
    assert grad.dtype == dtype
    assert loss == pytest.approx(t_loss.item(), rel=tol)
    np.testing.assert_allclose(grad, t_pred.grad.numpy(), rtol=tol, atol=tol * 1e-2)


def test_mse_accepts_integer_target():
    loss, grad = mse(np.array([1.0, 3.0], np.float32), np.array([1, 1]))
    assert loss == 2.0
    assert grad.dtype == np.float32
    np.testing.assert_array_equal(grad, [0.0, 2.0])


@pytest.mark.parametrize("pred, target, exc, match", [
    (np.zeros(3, np.int32), np.zeros(3), TypeError,
     r"pred must be a float32 or float64 array, got dtype int32"),
    (np.zeros(3), np.array(["a", "b", "c"]), TypeError, r"target must be a real numeric"),
    (np.zeros(3), np.zeros(3, complex), TypeError, r"target must be a real numeric"),
    (np.zeros((2, 3)), np.zeros(3), ValueError,
     r"target must have shape \(2, 3\) \(pred's shape\), got \(3,\)"),
    (np.zeros((0, 3)), np.zeros((0, 3)), ValueError, r"pred must have at least one element"),
])
def test_mse_validation(pred, target, exc, match):
    with pytest.raises(exc, match=match):
        mse(pred, target)


def test_cross_entropy_ignore_index_beyond_any_target_ignores_nothing(rng):
    logits = rng.standard_normal((3, 4))
    targets = np.array([0, 1, 2])
    loss, grad = cross_entropy(logits, targets, ignore_index=2**70)
    want, want_grad = cross_entropy(logits, targets)
    assert loss == want
    np.testing.assert_array_equal(grad, want_grad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_has_the_same_bits_on_any_thread_count(dtype):
    """Large enough to split its rows over the threads: loss and gradient
    bit-identical with 1 and 2 threads, ignored rows included."""
    rng = np.random.default_rng(3)
    logits = (rng.standard_normal((700, 14)) * 3).astype(dtype)
    targets = rng.integers(0, 14, size=700)
    targets[::7] = -100
    results = []
    before = fr.get_num_threads()
    try:
        for n in (1, 2):
            fr.set_num_threads(n)
            results.append(cross_entropy(logits, targets, ignore_index=-100))
    finally:
        fr.set_num_threads(before)
    (l1, g1), (l2, g2) = results
    assert l1 == l2
    np.testing.assert_array_equal(g1, g2)
    assert not g1[::7].any()

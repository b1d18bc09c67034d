"""Accuracy and edge cases of the kernels' own activations.

``fastrnn._kernels.recurrent_baseline.activation(name, x)`` applies exactly the sigmoid / tanh
the fused cells use: fast branch-free approximations in float32 (see
csrc/activations.h) and libm in float64.  Truth is computed in float64.

Measured on the dense grid (2e6 points over [-20, 20]) when these bounds were
set: tanh max relative error 3.5e-7 (5.9 ulp, near |x| = 6); sigmoid max
relative error 1.5e-7 (2.5 ulp); float64 paths exact to numpy.
"""
import numpy as np
import pytest

from fastrnn._kernels.recurrent_baseline import activation

F32 = np.float32

# Values around every branch / clamp of the float32 code, and beyond.
SPECIAL = F32([0.0, 1e-45, 1e-40, 1e-38, 1e-30, 1e-10, 1e-5, 3.9999e-4, 4e-4, 4.0001e-4,
               1e-3, 0.5, 1.0, 2.0, 7.9, 7.90531, 7.905311, 7.91, 8.5, 8.99, 9.0, 9.01, 10.0,
               16.6, 20.0, 26.7, 50.0, 86.9, 87.0, 87.3, 88.0, 88.3, 88.8, 100.0, 1e10,
               1e30, 3.4e38])
SPECIAL = np.concatenate([SPECIAL, -SPECIAL])


def _grid():
    x = np.linspace(-20.0, 20.0, 2_000_001).astype(F32)
    return np.unique(np.concatenate([x, SPECIAL]))


GRID = _grid()


def _true(name, x):
    x = x.astype(np.float64)
    if name == "tanh":
        return np.tanh(x)
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _ulp_error(y, truth):
    """|y - truth| in units of the float32 spacing at the (rounded) truth."""
    spacing = np.spacing(np.abs(truth.astype(F32))).astype(np.float64)
    return np.abs(y.astype(np.float64) - truth) / spacing


@pytest.mark.parametrize("name,rel_bound,ulp_bound", [
    ("tanh", 5e-7, 8.0),      # measured 3.54e-7 / 5.94 ulp
    ("sigmoid", 2.5e-7, 4.0),  # measured 1.47e-7 / 2.47 ulp
])
def test_float32_accuracy_on_grid(name, rel_bound, ulp_bound):
    y = activation(name, GRID)
    assert y.dtype == F32 and y.shape == GRID.shape
    truth = _true(name, GRID)
    err = np.abs(y.astype(np.float64) - truth)
    big = np.abs(truth) > 1e-3
    rel = err[big] / np.abs(truth[big])
    assert rel.max() <= rel_bound, (rel.max(), GRID[big][np.argmax(rel)])
    assert err[~big].max() <= 1e-7, err[~big].max()
    # ulp errors over [-20, 20] (past it sigmoid flushes values ~1e-38 to 0).
    dense = np.abs(GRID) <= 20
    ulp = _ulp_error(y[dense], truth[dense])
    assert ulp.max() <= ulp_bound, (ulp.max(), GRID[dense][np.argmax(ulp)])
    # The bounds are not vacuous: the approximation is not the float64 result
    # rounded (that would be <= 0.5 ulp everywhere).
    assert ulp.max() > 0.5


def test_float32_tanh_relative_accuracy_for_small_inputs():
    """Near 0 tanh keeps full relative precision (tanh(x) == x below 4e-4)."""
    x = np.unique(np.concatenate([np.geomspace(1e-38, 1e-3, 20001),
                                  np.linspace(1e-3, 0.1, 20001)]).astype(F32))
    x = np.concatenate([x, -x])
    y = activation("tanh", x)
    rel = np.abs(y.astype(np.float64) - np.tanh(x.astype(np.float64))) / np.abs(np.tanh(x.astype(np.float64)))
    assert rel.max() <= 5e-7, (rel.max(), x[np.argmax(rel)])
    tiny = np.abs(x) < 4e-4
    np.testing.assert_array_equal(y[tiny], x[tiny])


def test_float32_sigmoid_relative_accuracy_far_left():
    """Relative accuracy holds down to where sigmoid leaves the normal range."""
    x = np.unique(np.linspace(-86.9, -20.0, 500001).astype(F32))
    y = activation("sigmoid", x)
    truth = _true("sigmoid", x)
    rel = np.abs(y.astype(np.float64) - truth) / truth
    assert rel.max() <= 2.5e-7, (rel.max(), x[np.argmax(rel)])  # measured 1.21e-7
    assert np.all(y > 0)


@pytest.mark.parametrize("x,expected", [
    (np.inf, 1.0), (-np.inf, -1.0), (10.0, 1.0), (-10.0, -1.0), (9.5, 1.0), (-9.5, -1.0),
    (1e30, 1.0), (-1e30, -1.0), (3.4e38, 1.0), (-3.4e38, -1.0), (0.0, 0.0),
])
def test_float32_tanh_exact_values(x, expected):
    y = activation("tanh", F32([x]))[0]
    assert y == F32(expected)
    assert np.abs(y) <= 1.0


@pytest.mark.parametrize("x,expected", [
    (np.inf, 1.0), (-np.inf, 0.0), (1e30, 1.0), (-1e30, 0.0), (100.0, 1.0), (-100.0, 0.0),
    (88.8, 1.0), (-88.0, 0.0), (0.0, 0.5), (-0.0, 0.5),
])
def test_float32_sigmoid_exact_values(x, expected):
    assert activation("sigmoid", F32([x]))[0] == F32(expected)


@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_propagates(name, dtype):
    x = np.array([np.nan, -np.nan, 1.0, np.nan], dtype=dtype)
    y = activation(name, x)
    np.testing.assert_array_equal(np.isnan(y), [True, True, False, True])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tanh_signed_zero_and_denormals(dtype):
    y = activation("tanh", np.array([-0.0, 0.0], dtype=dtype))
    assert y[0] == 0 and np.signbit(y[0])
    assert y[1] == 0 and not np.signbit(y[1])
    tiny = np.array([1e-40, -1e-40, 1e-45], dtype=F32)
    np.testing.assert_array_equal(activation("tanh", tiny), tiny)


def test_float32_tanh_is_exactly_odd():
    x = GRID[GRID > 0]
    np.testing.assert_array_equal(activation("tanh", -x), -activation("tanh", x))
    np.testing.assert_array_equal(activation("tanh", -SPECIAL), -activation("tanh", SPECIAL))


def test_float32_sigmoid_symmetry():
    x = GRID[GRID > 0]
    s_pos = activation("sigmoid", x).astype(np.float64)
    s_neg = activation("sigmoid", -x).astype(np.float64)
    assert np.max(np.abs(s_pos + s_neg - 1.0)) <= 1.2e-7


def test_float32_sigmoid_monotonic_and_bounded():
    y = activation("sigmoid", GRID)
    assert np.all(np.diff(y) >= 0)
    assert np.all((y >= 0) & (y <= 1))
    ys = activation("sigmoid", np.sort(SPECIAL))
    assert np.all(np.diff(ys) >= 0)


def test_float32_tanh_monotonic():
    y = activation("tanh", GRID)
    assert np.all((y >= -1) & (y <= 1))
    # Strictly non-decreasing on [-1, 1], where neighbours differ by far more
    # than the rounding noise of the rational approximation.
    inner = np.abs(GRID) <= 1
    assert np.all(np.diff(y[inner]) >= 0)
    # Towards saturation the grid spacing changes tanh by less than its few-ulp
    # noise, and neighbours can step back by a few ulp (measured at most
    # 5.4e-7, 9 ulp of 1.0, for 1 < |x| < 7.9); never by more than that.
    drop = np.maximum.accumulate(y) - y
    assert drop.max() <= 7e-7, (drop.max(), GRID[np.argmax(drop)])
    # Saturated exactly from the clamp on.
    sat = np.abs(GRID) >= 7.905311
    np.testing.assert_array_equal(y[sat], np.sign(GRID[sat]))


@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
def test_float64_is_libm(name):
    x = np.concatenate([np.linspace(-40.0, 40.0, 400001),
                        [0.0, -0.0, 1e-300, -1e-300, 5e-324, 700.0, -700.0, 745.0, -745.0,
                         710.0, -710.0, 1e300, -1e300, np.inf, -np.inf]])
    y = activation(name, x)
    assert y.dtype == np.float64
    truth = _true(name, x)
    np.testing.assert_allclose(y, truth, rtol=1e-15, atol=0)
    if name == "tanh":
        np.testing.assert_array_equal(activation("tanh", x[x > 0]), -activation("tanh", -x[x > 0]))


@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
def test_shapes_preserved(name):
    x = np.linspace(-3, 3, 24, dtype=F32).reshape(2, 3, 4)
    y = activation(name, x)
    assert y.shape == x.shape and y.dtype == x.dtype
    np.testing.assert_allclose(y, _true(name, x), rtol=5e-7, atol=1e-7)
    assert activation(name, np.zeros(0, F32)).shape == (0,)


def test_activation_helper_checks_its_input():
    from fastrnn._kernels.recurrent_baseline import activation as act

    x = np.arange(8, dtype=np.float32)[::2]  # non-contiguous view
    np.testing.assert_allclose(act("tanh", x), np.tanh(x.astype(np.float64)), rtol=1e-6)
    with pytest.raises(ValueError, match="name"):
        act("relu", x)
    with pytest.raises(TypeError, match="float32 or float64"):
        act("tanh", np.arange(4))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_tanh_train_is_the_kernels_tanh_in_place_with_its_gradient(dtype):
    """functional.tanh_train (the heads' activation): exactly the kernels'
    tanh as the baseline build computes it (fastrnn._kernels.tanh is built
    once, for the baseline), in place, and dy * (1 - y^2)."""
    from fastrnn import functional as F

    rng = np.random.default_rng(0)
    x = (rng.standard_normal((7, 5, 3)) * 4).astype(dtype)
    keep = x.copy()
    y, bp = F.tanh_train(x)
    assert y is x
    np.testing.assert_array_equal(y, activation("tanh", keep))
    np.testing.assert_allclose(y, np.tanh(keep.astype(np.float64)), rtol=5e-7, atol=1e-7)
    dy = rng.standard_normal(y.shape).astype(dtype)
    # Against the exact value.  1 - y * y cancels near |y| = 1: rounding y * y
    # costs up to eps * |dy| there (numpy's float32 is 1e-4 off in relative
    # terms); a build with fused multiply-adds rounds only once.
    expected = dy.astype(np.float64) * (1 - y.astype(np.float64) ** 2)
    rtol = 1e-6 if dtype == "float32" else 1e-10
    bound = rtol * np.abs(expected) + np.finfo(dtype).eps * np.abs(dy) + 1e-14
    got = bp(dy)       # (dy, scaled in place)
    assert got is dy
    assert (np.abs(got - expected) <= bound).all()
    with pytest.raises(ValueError, match=r"dy must have shape \(7, 5, 3\), got \(7, 5\)"):
        F.tanh_train(keep.copy())[1](dy[..., 0])
    with pytest.raises(TypeError, match="x must be a float32 or float64 array, got dtype int64"):
        F.tanh_train(np.arange(3))

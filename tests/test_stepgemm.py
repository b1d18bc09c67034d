"""The time loops' own step product (csrc/stepgemm.h) and the attention kernel's
small products (csrc/smallgemm.h) against numpy."""
import numpy as np
import pytest

from fastrnn import _kernels, _recurrent
from fastrnn._attention import small_product



# Every build this CPU runs, and the AVX-512 tiles compiled for AVX2 where
# the CPU has AVX2: the wide geometry's tiles and tails checked everywhere.
KERNELS = _kernels.installed() + (["avx512-on-avx2"] if "avx2" in _kernels.installed() else [])


@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-5), (np.float64, 1e-13)])
@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 16, 17, 23])
@pytest.mark.parametrize("n", [1, 7, 8, 15, 16, 17, 24, 33, 40, 48, 49, 64, 65, 97])
@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_step_product_matches_numpy(kernels, dtype, tol, m, n, beta):
    rng = np.random.default_rng(m * 100 + n)
    k = 13
    A = rng.standard_normal((m, k)).astype(dtype)
    B = rng.standard_normal((k, n)).astype(dtype)
    C = rng.standard_normal((m, n)).astype(dtype)
    expected = beta * C.astype(np.float64) + A.astype(np.float64) @ B.astype(np.float64)
    _recurrent.step_product(A, B, C, beta, kernels)
    assert np.abs(C - expected).max() <= tol * np.abs(expected).max()


@pytest.mark.parametrize("kernels", KERNELS)
def test_step_product_beta_zero_ignores_nan_in_c(kernels):
    # beta = 0 overwrites C: stale NaN in a scratch buffer must not leak.
    A = np.ones((11, 5))
    B = np.ones((5, 70))
    C = np.full((11, 70), np.nan)
    _recurrent.step_product(A, B, C, 0.0, kernels)
    assert np.array_equal(C, np.full((11, 70), 5.0))


@pytest.mark.parametrize("kernels", KERNELS)
def test_step_product_propagates_nan_from_inputs(kernels):
    A = np.ones((10, 4), dtype=np.float32)
    A[9, 2] = np.nan
    B = np.ones((4, 64), dtype=np.float32)
    C = np.zeros((10, 64), dtype=np.float32)
    _recurrent.step_product(A, B, C, 0.0, kernels)
    assert np.all(C[:9] == 4) and np.all(np.isnan(C[9]))


def test_step_product_refuses_kernels_the_cpu_cannot_run():
    with pytest.raises(ValueError, match="kernels must be one of"):
        _recurrent.step_product(np.ones((1, 1)), np.ones((1, 1)), np.ones((1, 1)), 0.0, "avx3")
    if "avx512" not in _kernels.installed():
        with pytest.raises(ValueError, match="this CPU cannot run the avx512 kernels"):
            _recurrent.step_product(np.ones((1, 1)), np.ones((1, 1)), np.ones((1, 1)), 0.0,
                                    "avx512")


def test_step_kernel_reported():
    assert _kernels.kernels.build_info()["step_kernel"] == _kernels.isa
    # A module not picked keeps the baseline kernels it starts with.
    if _kernels.isa != "baseline":
        assert _recurrent.build_info()["step_kernel"] == "baseline"


@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-4), (np.float64, 1e-12)])
@pytest.mark.parametrize("m, n, k", [(1, 1, 1), (3, 7, 5), (4, 8, 8), (5, 17, 9), (11, 16, 128),
                                     (9, 33, 20), (2, 24, 3), (13, 130, 16), (17, 49, 40)])
def test_attention_small_products_match_numpy(kernels, dtype, tol, m, n, k):
    """csrc/smallgemm.h (the attention kernel's products on operands read in
    place): every tile and tail, both dtypes, strided rows, a transposed A,
    beta 0 over NaN and beta 1, in every build."""
    rng = np.random.default_rng(m * n * k)
    wide = rng.standard_normal((k, 3 * n + 2)).astype(dtype)
    B = wide[:, 1:n + 1]                      # rows of a wider array
    A = rng.standard_normal((m, k)).astype(dtype)
    At = np.ascontiguousarray(A.T).T          # A as a transpose
    for a in (A, At):
        for beta in (0.0, 1.0):
            C = np.full((m, n), np.nan if beta == 0 else 0.5, dtype)
            small_product(a, B, C, beta, kernels=kernels)
            ref = (0.5 if beta else 0) + A.astype(float) @ B.astype(float)
            assert np.abs(C - ref).max() < tol * max(1, k)
    Bt = np.ascontiguousarray(rng.standard_normal((n, k + 3)).astype(dtype))[:, :k]
    C = np.full((m, n), np.nan, dtype)
    small_product(A, Bt, C, 0.0, dots=True, kernels=kernels)
    assert np.abs(C - A.astype(float) @ Bt.T.astype(float)).max() < tol * max(1, k)

"""The time loops' own step product (csrc/stepgemm.h) and the attention kernel's
small products (csrc/smallgemm.h) against numpy."""
import numpy as np
import pytest

from fastrnn import _kernels
from fastrnn._kernels import recurrent_baseline as _recurrent
from fastrnn._kernels.attention import small_product



# Every build this CPU runs, and the AVX-512 tiles compiled for AVX2 where
# the CPU has AVX2: the wide geometry's tiles and tails checked everywhere.
KERNELS = _kernels.installed() + (["avx512-on-avx2"] if "avx2" in _kernels.installed() else [])


@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-5), (np.float64, 1e-13)])
@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 16, 17, 23])
@pytest.mark.parametrize("n", [1, 7, 8, 15, 16, 17, 24, 33, 40, 48, 49, 64, 65, 97, 161])
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
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [50, 97, 161, 300])
def test_a_row_comes_out_the_same_in_any_tile(kernels, dtype, n):
    """One or two rows run across several panels at once (more multiply-add
    chains in flight), more rows panel by panel: each sum still runs in the
    same order, so a row's values never depend on how many rows share the
    call -- what keeps results identical for any number of threads."""
    rng = np.random.default_rng(n)
    A = rng.standard_normal((11, 37)).astype(dtype)
    B = rng.standard_normal((37, n)).astype(dtype)
    C = np.zeros((11, n), dtype)
    _recurrent.step_product(A, B, C, 0.0, kernels)
    for rows in ([0], [3, 4], [5, 6, 7], [1, 2, 3, 4, 5]):
        part = np.zeros((len(rows), n), dtype)
        _recurrent.step_product(np.ascontiguousarray(A[rows]), B, part, 0.0, kernels)
        np.testing.assert_array_equal(part, C[rows])


@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [1, 3, 4, 8, 13, 16, 17, 33, 40])
@pytest.mark.parametrize("n", [1, 5, 8, 16, 17, 40, 48, 65, 97])
def test_transposed_packing_packs_what_the_copy_packs(kernels, dtype, k, n):
    """Weights arrive as W (n, k) and pack as B = W^T, block by block through
    registers: every block and tail must land where the plain copy of B puts
    it, so both products agree bit for bit."""
    rng = np.random.default_rng(k * 100 + n)
    A = rng.standard_normal((9, k)).astype(dtype)
    W = rng.standard_normal((n, k)).astype(dtype)
    C_copy = np.zeros((9, n), dtype)
    C_transposed = np.zeros((9, n), dtype)
    _recurrent.step_product(A, np.ascontiguousarray(W.T), C_copy, 0.0, kernels)
    _recurrent.step_product(A, W, C_transposed, 0.0, kernels, transposed=True)
    np.testing.assert_array_equal(C_transposed, C_copy)
    np.testing.assert_allclose(C_copy, A @ W.T, rtol=1e-4 if dtype == np.float32 else 1e-12,
                               atol=1e-4 if dtype == np.float32 else 1e-12)


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
    assert _kernels.recurrent.build_info()["step_kernel"] == _kernels.isa
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

"""The low-precision step products (csrc/lowpgemm.h) against numpy: int8
dynamic quantization bit for bit on every kernel (portable, AVX2, AVX-512
VNNI), bf16 where the CPU has AVX-512 BF16."""
import numpy as np
import pytest

from fastrnn import _kernels
from fastrnn._kernels import recurrent_baseline as _recurrent

from helpers.reference import bf16_round, int8_product, int8_quantize_rows

# Every build this CPU runs (each brings its int8 kernel: the baseline build
# the portable one, AVX2 the vpmaddubsw one, AVX-512 VNNI where the CPU has
# it), and the AVX-512 tiles compiled for AVX2.
KERNELS = _kernels.installed() + (["avx512-on-avx2"] if "avx2" in _kernels.installed() else [])
# Whether the AVX-512 build brings a bf16 kernel here (AVX-512 BF16).
BF16 = "avx512" in _kernels.installed() and \
    _recurrent.low_precision_kernels("avx512")["bf16"]


def _product(precision, A, W, C=None, beta=0.0, kernels=None):
    """``beta * C + A @ W.T`` through the kernels' own product (W packed as
    the frozen layers pack their weights: one scale per row of W)."""
    blob = _recurrent.pack_low_precision(W, precision)
    out = np.zeros((A.shape[0], W.shape[0]), np.float32) if C is None else C.copy()
    return _recurrent.low_precision_product(precision, np.ascontiguousarray(A, np.float32), blob,
                                            W.shape[0], out, beta, kernels)


@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 7, 8, 9, 13])
@pytest.mark.parametrize("n", [1, 15, 16, 17, 33, 64, 65, 130])
@pytest.mark.parametrize("k", [1, 3, 4, 5, 13, 64, 129])
def test_int8_product_is_the_quantized_product_bit_for_bit(kernels, m, n, k):
    rng = np.random.default_rng(m * 10000 + n * 100 + k)
    A = (rng.standard_normal((m, k)) * rng.uniform(0.1, 3, (m, 1))).astype(np.float32)
    W = (rng.standard_normal((n, k)) * 0.2).astype(np.float32)
    np.testing.assert_array_equal(_product("int8", A, W, kernels=kernels), int8_product(A, W))


@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("m, n, k", [(1, 40, 17), (6, 33, 64), (9, 130, 5)])
def test_int8_product_accumulates_into_c(kernels, m, n, k):
    rng = np.random.default_rng(k)
    A = rng.standard_normal((m, k)).astype(np.float32)
    W = rng.standard_normal((n, k)).astype(np.float32)
    C = rng.standard_normal((m, n)).astype(np.float32)
    expected = C + int8_product(A, W)
    # (a fused multiply-add may round the last step once instead of twice)
    np.testing.assert_allclose(_product("int8", A, W, C, 1.0, kernels), expected, rtol=0,
                               atol=4 * np.finfo(np.float32).eps * np.abs(expected).max())


def test_every_kernel_sums_the_same():
    """Integer sums are exact: every instruction set's int8 product gives the
    same bits (beta 0: no multiply-add left to fuse)."""
    rng = np.random.default_rng(5)
    A = rng.standard_normal((11, 77)).astype(np.float32)
    W = rng.standard_normal((300, 77)).astype(np.float32)
    results = [_product("int8", A, W, kernels=k) for k in KERNELS]
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


@pytest.mark.parametrize("kernels", KERNELS)
def test_a_row_comes_out_the_same_in_any_tile(kernels):
    """A row's quantization and sums are its own: its result does not
    depend on the rows beside it (what makes results identical for any
    batch split and thread count)."""
    rng = np.random.default_rng(7)
    A = rng.standard_normal((11, 37)).astype(np.float32)
    W = rng.standard_normal((161, 37)).astype(np.float32)
    full = _product("int8", A, W, kernels=kernels)
    for rows in ([0], [3, 4], [5, 6, 7], [1, 2, 3, 4, 5]):
        np.testing.assert_array_equal(_product("int8", A[rows], W, kernels=kernels), full[rows])


@pytest.mark.parametrize("kernels", KERNELS)
def test_int8_rows_of_zeros_tiny_and_non_finite_values(kernels):
    rng = np.random.default_rng(9)
    W = rng.standard_normal((20, 8)).astype(np.float32)
    A = rng.standard_normal((5, 8)).astype(np.float32)
    A[1] = 0
    A[2] = 1e-35                  # below the quantizer's floor: zeros
    A[3, 4] = np.inf
    A[4, 0] = np.nan
    out = _product("int8", A, W, kernels=kernels)
    np.testing.assert_array_equal(out[0], int8_product(A[:1], W)[0])
    assert (out[1] == 0).all() and (out[2] == 0).all()
    # A row holding an inf or a NaN gives NaNs, as float32 would -- never a
    # silently finite answer.
    assert np.isnan(out[3]).all() and np.isnan(out[4]).all()


def test_int8_weights_pack_with_one_scale_per_row():
    rng = np.random.default_rng(3)
    W = rng.standard_normal((37, 21)).astype(np.float32)
    W[5] = 0
    blob = _recurrent.pack_low_precision(W, "int8")
    assert blob.dtype == np.uint8
    assert blob.size == _recurrent.low_precision_bytes("int8", 21, 37)
    cols = 48                                     # 37 rounded up to whole 16-column panels
    scales = blob[:cols * 4].view(np.float32)
    _, expected = int8_quantize_rows(W)
    np.testing.assert_array_equal(scales[:37], expected)
    assert (scales[37:] == 0).all() and scales[5] == 0


def test_int8_sums_stay_within_int32_at_the_largest_size():
    """The largest k the layers allow (65536): every term at its extreme."""
    k = 1 << 16
    A = np.ones((2, k), np.float32)
    A[1] = -1
    W = np.ones((3, k), np.float32)
    W[1] = -1
    out = _product("int8", A, W)
    np.testing.assert_array_equal(out, int8_product(A, W))
    np.testing.assert_allclose(out, A @ W.T, rtol=1e-6)


@pytest.mark.skipif(not BF16, reason="no AVX-512 BF16 on this CPU")
@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 8, 13])
@pytest.mark.parametrize("n", [1, 16, 17, 65, 130])
@pytest.mark.parametrize("k", [1, 2, 3, 16, 63, 129])
def test_bf16_product_is_the_rounded_product(m, n, k):
    rng = np.random.default_rng(m * 10000 + n * 100 + k)
    A = rng.standard_normal((m, k)).astype(np.float32)
    W = rng.standard_normal((n, k)).astype(np.float32)
    C = rng.standard_normal((m, n)).astype(np.float32)
    terms = np.abs(bf16_round(A)).astype(np.float64) @ np.abs(bf16_round(W)).astype(np.float64).T
    exact = bf16_round(A).astype(np.float64) @ bf16_round(W).astype(np.float64).T
    for beta, c in ((0.0, None), (1.0, C)):
        out = _product("bf16", A, W, c, beta, "avx512")
        expected = exact + (0 if c is None else C)
        # float32 sums of k products, in the hardware's order
        assert (np.abs(out - expected) <= 1e-6 * (k + 2) * (terms + np.abs(expected)) + 1e-30).all()


@pytest.mark.parametrize("kernels", [k for k in KERNELS if k != "avx512"] or ["baseline"])
def test_bf16_is_refused_without_a_bf16_kernel(kernels):
    A = np.ones((2, 4), np.float32)
    W = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match="no bf16 kernel"):
        _product("bf16", A, W, kernels=kernels)


@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("precision", ["int8"] + (["bf16"] if BF16 else []))
def test_the_input_projection_adds_the_bias_as_it_stores(kernels, precision):
    """``C = bias + A @ B`` (the input projection's form): the product's
    value plus the bias, one rounding each, whatever was in C."""
    if precision == "bf16" and kernels != "avx512":
        pytest.skip("bf16 runs on the avx512 build's kernel only")
    rng = np.random.default_rng(11)
    A = rng.standard_normal((7, 33)).astype(np.float32)
    W = rng.standard_normal((40, 33)).astype(np.float32)
    bias = rng.standard_normal(40).astype(np.float32)
    blob = _recurrent.pack_low_precision(W, precision)
    plain = _recurrent.low_precision_product(precision, A, blob, 40,
                                             np.zeros((7, 40), np.float32), 0.0, kernels)
    C = np.full((7, 40), np.nan, np.float32)
    _recurrent.low_precision_product(precision, A, blob, 40, C, 0.0, kernels, bias)
    np.testing.assert_array_equal(C, bias + plain)

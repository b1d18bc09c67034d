"""The time loops' own step product (csrc/stepgemm.h) and the attention kernel's
small products (csrc/smallgemm.h) against numpy."""
import numpy as np
import pytest

from fastrnn import _recurrent

from conftest import run_python


@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-5), (np.float64, 1e-13)])
@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 9])
@pytest.mark.parametrize("n", [1, 7, 8, 16, 17, 24, 33, 40, 49, 64])
@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_step_product_matches_numpy(dtype, tol, m, n, beta):
    rng = np.random.default_rng(m * 100 + n)
    k = 13
    A = rng.standard_normal((m, k)).astype(dtype)
    B = rng.standard_normal((k, n)).astype(dtype)
    C = rng.standard_normal((m, n)).astype(dtype)
    expected = beta * C.astype(np.float64) + A.astype(np.float64) @ B.astype(np.float64)
    _recurrent.step_product(A, B, C, beta)
    assert np.abs(C - expected).max() <= tol * np.abs(expected).max()


def test_step_product_beta_zero_ignores_nan_in_c():
    # beta = 0 overwrites C: stale NaN in a scratch buffer must not leak.
    A = np.ones((3, 5))
    B = np.ones((5, 20))
    C = np.full((3, 20), np.nan)
    _recurrent.step_product(A, B, C, 0.0)
    assert np.array_equal(C, np.full((3, 20), 5.0))


def test_step_product_propagates_nan_from_inputs():
    A = np.ones((2, 4), dtype=np.float32)
    A[1, 2] = np.nan
    B = np.ones((4, 16), dtype=np.float32)
    C = np.zeros((2, 16), dtype=np.float32)
    _recurrent.step_product(A, B, C, 0.0)
    assert np.all(C[0] == 4) and np.all(np.isnan(C[1]))


def test_step_kernel_reported():
    info = _recurrent.build_info()
    assert info["step_kernel"] in ("portable", "avx2+fma")


def test_portable_kernel_matches_numpy_in_a_subprocess(tmp_path):
    # The CPU-specific build is picked at import; the portable one must be
    # right too (it is what CPUs without AVX2/FMA run).

    code = (
        "import numpy as np\n"
        "from fastrnn import _recurrent\n"
        "assert _recurrent.build_info()['step_kernel'] == 'portable'\n"
        "rng = np.random.default_rng(0)\n"
        "for dt in (np.float32, np.float64):\n"
        "    for m, n in [(1, 5), (4, 16), (5, 33), (7, 64)]:\n"
        "        A = rng.standard_normal((m, 11)).astype(dt)\n"
        "        B = rng.standard_normal((11, n)).astype(dt)\n"
        "        C = np.ones((m, n), dt)\n"
        "        _recurrent.step_product(A, B, C, 1.0)\n"
        "        ref = 1 + A.astype(float) @ B.astype(float)\n"
        "        assert np.abs(C - ref).max() < 1e-4, (dt, m, n)\n"
        "print('ok')\n"
    )
    res = run_python(code, tmp_path, FASTRNN_STEP_KERNEL="portable")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok"


SMALL_PRODUCTS_CHECK = """
import numpy as np
from fastrnn._attention import small_product
rng = np.random.default_rng(0)
for dt, tol in ((np.float32, 1e-4), (np.float64, 1e-12)):
    for m, n, k in [(1, 1, 1), (3, 7, 5), (4, 8, 8), (5, 17, 9), (11, 16, 128), (9, 33, 20),
                    (2, 24, 3), (13, 130, 16)]:
        wide = rng.standard_normal((k, 3 * n + 2)).astype(dt)
        B = wide[:, 1:n + 1]                      # rows of a wider array
        A = rng.standard_normal((m, k)).astype(dt)
        At = np.ascontiguousarray(A.T).T          # A as a transpose
        for a in (A, At):
            for beta in (0.0, 1.0):
                C = np.full((m, n), np.nan if beta == 0 else 0.5, dt)
                small_product(a, B, C, beta)
                ref = (0.5 if beta else 0) + A.astype(float) @ B.astype(float)
                assert np.abs(C - ref).max() < tol * max(1, k), (dt, m, n, k, beta)
        Bt = np.ascontiguousarray(rng.standard_normal((n, k + 3)).astype(dt))[:, :k]
        C = np.full((m, n), np.nan, dt)
        small_product(A, Bt, C, 0.0, dots=True)
        assert np.abs(C - A.astype(float) @ Bt.T.astype(float)).max() < tol * max(1, k)
print("ok")
"""


@pytest.mark.parametrize("kernel", ["picked", "portable"])
def test_attention_small_products_match_numpy(tmp_path, kernel):
    """csrc/smallgemm.h (the attention kernel's products on operands read in
    place): every tile and tail, both dtypes, strided rows, a transposed A,
    beta 0 over NaN and beta 1; the CPU's build and the portable one."""
    env = {"FASTRNN_STEP_KERNEL": "portable"} if kernel == "portable" else {}
    res = run_python(SMALL_PRODUCTS_CHECK, tmp_path, **env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok"

"""The two builds of the kernels (portable, and AVX2 + FMA on x86-64) and
which one a process runs (fastrnn._kernels)."""
import importlib

import numpy as np
import pytest

from fastrnn import _kernels
from fastrnn import functional as F

from conftest import run_python
from reference import CELLS, random_problem


def _avx2_build():
    if not _kernels.baseline.cpu_has_avx2_fma():
        pytest.skip("this CPU has no AVX2 + FMA")
    try:
        return importlib.import_module("fastrnn._recurrent_avx2")
    except ImportError:
        pytest.skip("built without the AVX2 kernels")


def test_the_avx2_build_is_picked_where_the_cpu_has_it():
    expected = "fastrnn._recurrent"
    if _kernels.baseline.cpu_has_avx2_fma():
        try:
            importlib.import_module("fastrnn._recurrent_avx2")
            expected = "fastrnn._recurrent_avx2"
        except ImportError:
            pass
    assert _kernels.kernels.__name__ == expected
    assert F._recurrent is _kernels.kernels


def test_environment_variable_forces_the_portable_build(tmp_path):
    code = "from fastrnn import _kernels; print(_kernels.kernels.__name__)"
    res = run_python(code, tmp_path, FASTRNN_KERNELS="baseline")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "fastrnn._recurrent"


@pytest.mark.parametrize("mode,reset_after", CELLS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_builds_agree(rng, monkeypatch, mode, reset_after, dtype):
    avx2 = _avx2_build()
    T, B, I, H = 5, 9, 6, 40
    kw = random_problem(rng, mode, T, B, I, H, dtype=dtype)
    lengths = np.array([5, 0, 3, 5, 1, 4, 2, 5, 5])
    dout = rng.standard_normal((T, B, H)).astype(dtype)
    results = []
    for build in (_kernels.baseline, avx2):
        monkeypatch.setattr(F, "_recurrent", build)
        (out, h, c), bp = F.recurrent_train(mode, lengths=lengths, reset_after=reset_after,
                                            **kw)
        dx, dh0, dc0, grads = bp(dout)
        results.append([out, h, dx, dh0] + list(grads.values()))
    # FMA contraction rounds differently: agreement to float rounding.
    tol = 1e-12 if dtype == np.float64 else 2e-5
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=tol, atol=tol)

"""The builds of the kernels (baseline, AVX2 + FMA and AVX-512 on x86-64),
which one a process runs (fastrnn._kernels), and that they agree."""
import os

import numpy as np
import pytest

from fastrnn import _kernels
from fastrnn import functional as F

from helpers.running import run_python
from helpers.reference import CELLS, random_problem

ORDER = list(_kernels.BUILDS)


def test_the_fastest_build_the_cpu_runs_is_picked():
    installed = _kernels.installed()
    assert installed[0] == "baseline"
    assert _kernels.isa == (os.environ.get("FASTRNN_KERNELS") or installed[-1])
    assert _kernels.recurrent.__name__ == _kernels.BUILDS[_kernels.isa]
    assert F._recurrent is _kernels.recurrent
    assert _kernels.recurrent.build_info()["step_kernel"] == _kernels.isa
    # Every build this CPU runs was built (CI builds them all).
    best = _kernels.baseline.cpu_kernels()
    assert installed == ORDER[:ORDER.index(best) + 1]


@pytest.mark.parametrize("name", ORDER)
def test_environment_variable_forces_a_build(tmp_path, name):
    code = ("from fastrnn import _kernels, _runtime\n"
            "print(_kernels.isa, _kernels.recurrent.__name__, "
            "_kernels.recurrent.build_info()['step_kernel'])")
    res = run_python(code, tmp_path, FASTRNN_KERNELS=name)
    if name not in _kernels.installed():
        assert res.returncode != 0
        assert "FASTRNN_KERNELS" in res.stderr and "this CPU" in res.stderr
        return
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == [name, _kernels.BUILDS[name], name]


def test_an_unknown_build_is_refused_at_import(tmp_path):
    res = run_python("import fastrnn", tmp_path, FASTRNN_KERNELS="avx-512")
    assert res.returncode != 0
    assert "FASTRNN_KERNELS must be one of baseline, avx2, avx512" in res.stderr
    assert "'avx-512'" in res.stderr


def test_show_config_names_the_build(tmp_path):
    res = run_python("import fastrnn; fastrnn.show_config()", tmp_path,
                     FASTRNN_KERNELS="baseline")
    assert res.returncode == 0, res.stderr
    assert "kernels:         baseline build (fastrnn._kernels.recurrent_baseline;" in res.stdout


@pytest.mark.parametrize("mode,reset_after", CELLS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_builds_agree(rng, monkeypatch, mode, reset_after, dtype):
    """Every build this CPU runs gives the baseline build's forward and
    gradients, to float rounding (FMA contraction and the wider vectors'
    sums round differently); 19 rows take every row-tile height."""
    builds = _kernels.installed()
    if len(builds) < 2:
        pytest.skip("this CPU runs only the baseline build")
    T, B, I, H = 5, 19, 6, 40
    kw = random_problem(rng, mode, T, B, I, H, dtype=dtype)
    lengths = np.array([5, 0, 3, 5, 1, 4, 2, 5, 5, 3, 5, 5, 2, 5, 4, 5, 1, 5, 5])
    dout = rng.standard_normal((T, B, H)).astype(dtype)
    results = []
    for name in builds:
        module = __import__(_kernels.BUILDS[name], fromlist=["x"])
        module.use_kernels(name)
        monkeypatch.setattr(F, "_recurrent", module)
        (out, h, c), bp = F.recurrent_train(mode, lengths=lengths, reset_after=reset_after,
                                            **kw)
        dx, dh0, dc0, grads = bp(dout)
        results.append([out, h, dx, dh0] + list(grads.values()))
    tol = 1e-12 if dtype == np.float64 else 2e-5
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_allclose(b, a, rtol=tol, atol=tol)

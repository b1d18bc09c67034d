"""pytest-benchmark suite for regressions of the kernels (not part of the
test run: ``pytest bench --benchmark-only``; compare runs with
``--benchmark-autosave`` / ``--benchmark-compare``).  Timings only: the
side-by-side ratios against other systems are ``fastrnn bench``."""
import numpy as np
import pytest

import fastrnn as fr
from fastrnn._kernels import recurrent as _recurrent

SHAPES = [(1, 100, 128, 128), (16, 100, 256, 256)]
LAYERS = {"lstm": fr.LSTM, "gru": fr.GRU, "rnn": fr.RNN}


@pytest.fixture(params=SHAPES, ids=lambda s: "B{}_T{}_I{}_H{}".format(*s))
def shape(request):
    return request.param


@pytest.mark.parametrize("cell", list(LAYERS))
def test_inference(benchmark, cell, shape):
    B, T, I, H = shape
    layer = LAYERS[cell](I, H, seed=0)
    x = np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32)
    out, _ = benchmark(layer, x)
    assert out.shape == (T, B, H)


@pytest.mark.parametrize("cell", list(LAYERS))
def test_training(benchmark, cell, shape):
    B, T, I, H = shape
    layer = LAYERS[cell](I, H, seed=0)
    x = np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32)

    def step():
        (out, _), backprop = layer.forward_train(x)
        return backprop(np.ones_like(out))[0]

    dx = benchmark(step)
    assert dx.shape == x.shape


@pytest.mark.parametrize("m", [1, 8, 16])
def test_step_kernel(benchmark, m):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((m, 256)).astype(np.float32)
    B = rng.standard_normal((256, 1024)).astype(np.float32)
    C = np.zeros((m, 1024), dtype=np.float32)
    benchmark(_recurrent.step_product, A, B, C, 0.0)
    np.testing.assert_allclose(C, A @ B, rtol=1e-4, atol=1e-3)

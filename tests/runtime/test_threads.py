"""Python threads: kernels release the GIL (another thread runs during a
call), one layer called from several threads gives the serial results, and
backprops of one module from several threads accumulate exactly the serial
gradients."""
import threading

import numpy as np
import pytest

import fastrnn as fr

from helpers.running import run_in_threads

THREADS = 4


def test_a_kernel_call_releases_the_gil(one_kernel_thread):
    """While one thread is inside a long layer call, another thread keeps
    running Python code: its counter advances between the call's start and
    end marks (with the GIL held it could not)."""
    lstm = fr.LSTM(256, 256)
    x = np.random.default_rng(0).standard_normal((300, 32, 256)).astype(np.float32)
    lstm(x[:5])                                   # warm up outside the window
    marks, counter, stop = {}, [0], threading.Event()

    def spin():
        while not stop.is_set():
            counter[0] += 1

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        marks["start"] = counter[0]
        lstm(x)                                    # ~0.1-0.5 s in the kernel
        marks["end"] = counter[0]
    finally:
        stop.set()
        spinner.join()
    assert marks["end"] - marks["start"] > 1000


@pytest.mark.parametrize("cls", [fr.LSTM, fr.GRU, fr.RNN])
def test_one_layer_from_several_threads_gives_the_serial_results(cls):
    rng = np.random.default_rng(1)
    layer = cls(7, 30, num_layers=2, bidirectional=True, seed=0)
    xs = [rng.standard_normal((9, 5, 7)).astype(np.float32) for _ in range(THREADS)]
    lengths = np.array([9, 1, 4, 0, 6])
    expected = [layer(x, lengths=lengths) for x in xs]
    got = [None] * THREADS

    def work(i):
        for _ in range(5):
            got[i] = layer(xs[i], lengths=lengths)

    run_in_threads(work, THREADS)
    for (out, state), (e_out, e_state) in zip(got, expected):
        np.testing.assert_array_equal(out, e_out)
        for s, e in zip(state if isinstance(state, tuple) else (state,),
                        e_state if isinstance(e_state, tuple) else (e_state,)):
            np.testing.assert_array_equal(s, e)


F64 = {"dtype": "float64"}


@pytest.mark.parametrize("make", [
    lambda: fr.LSTM(64, 256, bidirectional=True, seed=0, **F64),
    lambda: fr.Sequential(fr.Embedding(20, 64, seed=0, **F64), fr.GRU(64, 256, seed=1, **F64),
                          fr.Linear(256, 512, seed=2, **F64)),
    lambda: fr.SelfAttention(256, num_heads=2, seed=0, **F64),
], ids=["lstm", "sequential", "self-attention"])
def test_concurrent_backprops_of_one_module_accumulate_the_serial_gradients(make):
    """Gradients add in place (the kernels' outside the GIL); each module's
    lock makes the concurrent sum the serial one, to rounding (the order of
    the additions may differ)."""
    rng = np.random.default_rng(2)
    module = make()
    is_ids = isinstance(module, fr.Sequential)
    inputs = [rng.integers(0, 20, size=(20, 16)) if is_ids else
              rng.integers(-2, 3, size=(16, 20, 256) if isinstance(module, fr.SelfAttention)
                           else (20, 16, 64)).astype(np.float64) for _ in range(THREADS)]

    def grads_of(x):
        out, bp = module.forward_train(x)
        out = out[0] if isinstance(out, tuple) else out
        bp(np.ones_like(out))

    module.zero_grad()
    for x in inputs:
        grads_of(x)
    serial = {k: g.copy() for k, g in module.grads.items()}
    for _ in range(3):
        module.zero_grad()
        run_in_threads(lambda i: grads_of(inputs[i]), THREADS)
        for k, g in module.grads.items():
            np.testing.assert_allclose(g, serial[k], rtol=1e-9, atol=1e-9, err_msg=k)

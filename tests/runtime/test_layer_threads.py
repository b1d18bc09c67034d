"""The runtime knobs as the layers see them: the thread count (results
identical for any count), show_config, and layers called from several
Python threads at once."""

import numpy as np
import pytest

import fastrnn as fr

from helpers.layers import loss_and_seeds, make_cell, make_layer, state_list


# ------------------------------------------------------------------ runtime
@pytest.fixture
def restore_threads():
    before = fr.get_num_threads()
    yield
    fr.set_num_threads(before)


def test_num_threads_round_trip(restore_threads):
    assert isinstance(fr.get_num_threads(), int) and fr.get_num_threads() >= 1
    for n in (1, 3, 2):
        fr.set_num_threads(n)
        assert fr.get_num_threads() == n
    fr.set_num_threads(np.int64(2))
    assert fr.get_num_threads() == 2 and type(fr.get_num_threads()) is int


@pytest.mark.parametrize("bad,exc", [(0, ValueError), (-1, ValueError), (1.5, TypeError),
                                     (True, TypeError), ("2", TypeError), (None, TypeError)])
def test_set_num_threads_rejects_invalid(restore_threads, bad, exc):
    fr.set_num_threads(2)
    with pytest.raises(exc):
        fr.set_num_threads(bad)
    assert fr.get_num_threads() == 2  # unchanged


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_thread_count_does_not_change_results(restore_threads, kind):
    rng = np.random.default_rng(26)
    layer = make_layer(kind, 5, 8, num_layers=2, bidirectional=True, dtype="float64", seed=0)
    x = rng.standard_normal((6, 9, 5))
    lengths = np.array([6, 1, 3, 0, 6, 2, 5, 4, 6])
    results = []
    for n in (1, 2, 4):
        fr.set_num_threads(n)
        layer.zero_grad()
        (out, st), bp = layer.forward_train(x, lengths=lengths)
        dx, _ = bp(np.ones(out.shape))
        results.append((out, dx, {k: v.copy() for k, v in layer.grads.items()}))
    for out, dx, g in results[1:]:
        np.testing.assert_allclose(out, results[0][0], rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(dx, results[0][1], rtol=1e-12, atol=1e-13)
        for k in g:
            np.testing.assert_allclose(g[k], results[0][2][k], rtol=1e-12, atol=1e-12)


def test_show_config_prints_openmp(capsys):
    fr.show_config()
    text = capsys.readouterr().out
    assert "OpenMP" in text
    assert "BLAS" in text and "SIMD" in text and "thread" in text.lower()


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_gradient_of_defaulted_state_is_zeros(kind):
    """dhx is zeros where hx was None (per entry for LSTM's tuple);
    cells likewise for a state passed as None."""
    rng = np.random.default_rng(27)
    layer = make_layer(kind, 3, 4, num_layers=2, bidirectional=True, dtype="float64", seed=0)
    x = rng.standard_normal((5, 2, 3))
    (out, st), bp = layer.forward_train(x)
    R, Rs = loss_and_seeds(rng, out, st)
    _, dhx = bp(R, Rs)
    for g in state_list(dhx):
        assert g.shape == (4, 2, 4) and np.all(g == 0)
    if kind == "lstm":
        h0 = rng.standard_normal((4, 2, 4))
        (out, st), bp = layer.forward_train(x, (h0, None))
        _, (dh0, dc0) = bp(R, Rs)
        assert np.all(dc0 == 0) and np.any(dh0 != 0)
        (out, st), bp = layer.forward_train(x, (None, h0))
        _, (dh0, dc0) = bp(R, Rs)
        assert np.all(dh0 == 0) and np.any(dc0 != 0)
    cell = make_cell(kind, 3, 4, dtype="float64", seed=0)
    new, cbp = cell.forward_train(x[0])
    _, dprev = cbp(tuple(np.ones(s.shape) for s in new) if kind == "lstm" else np.ones(new.shape))
    for g in state_list(dprev):
        assert g.shape == (2, 4) and np.all(g == 0)


def test_python_threads_run_layers_concurrently_with_the_same_results():
    # Kernels release the GIL; concurrent calls must not disturb each other
    # (their buffers are their own; BLAS thread limits are reference-counted).
    import threading

    rng = np.random.default_rng(3)
    layers = [fr.LSTM(6, 9, seed=1), fr.GRU(6, 9, seed=2), fr.RNN(6, 9, seed=3)]
    xs = [rng.standard_normal((12, 5, 6)).astype(np.float32) for _ in range(6)]
    lengths = np.array([12, 3, 7, 0, 9])
    expected = [[m(x, lengths=lengths)[0] for x in xs] for m in layers]
    results = [[None] * len(xs) for _ in layers]

    def work(i):
        for _ in range(3):
            for j, x in enumerate(xs):
                results[i][j] = layers[i](x, lengths=lengths)[0]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(layers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(len(layers)):
        for j in range(len(xs)):
            np.testing.assert_array_equal(results[i][j], expected[i][j])

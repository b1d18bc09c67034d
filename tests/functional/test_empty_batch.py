"""A batch of 0 rows gives empty results, as in PyTorch: every recurrent
layer, cell, functional entry and merge mode, inference and training (the
backprop returns empty gradients and adds zeros to the parameters')."""
import numpy as np
import pytest

import fastrnn as fr
import fastrnn.functional as F

from helpers.running import torch_or_skip

T, I, H = 5, 3, 4
MERGES = list(fr.layers.merge.MERGE_MODES)


def _states(state):
    return state if isinstance(state, tuple) else (state,)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("kw", [{}, {"num_layers": 2, "bidirectional": True},
                                {"batch_first": True}])
def test_layers_match_torch_shapes_for_an_empty_batch(name, kw):
    torch = torch_or_skip()
    ours = getattr(fr, name)(I, H, **kw)
    theirs = getattr(torch.nn, name)(I, H, **kw)
    shape = (0, T, I) if kw.get("batch_first") else (T, 0, I)
    out, state = ours(np.zeros(shape, np.float32))
    t_out, t_state = theirs(torch.zeros(shape))
    assert out.shape == tuple(t_out.shape)
    assert [s.shape for s in _states(state)] == [tuple(s.shape) for s in _states(t_state)]


@pytest.mark.parametrize("cls", [fr.RNN, fr.LSTM, fr.GRU])
@pytest.mark.parametrize("merge_mode", MERGES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layer_training_on_an_empty_batch(cls, merge_mode, dtype):
    layer = cls(I, H, num_layers=2, bidirectional=True, merge_mode=merge_mode, dtype=dtype)
    x = np.zeros((T, 0, I), dtype)
    hx = tuple(np.zeros((4, 0, H), dtype) for _ in range(2 if cls is fr.LSTM else 1))
    out, state = layer(x, hx if cls is fr.LSTM else hx[0], lengths=np.zeros(0, int))
    width = 2 * H if merge_mode == "concat" else H
    assert out.shape == (T, 0, width) and out.dtype == dtype
    (out, state), backprop = layer.forward_train(x, lengths=[])
    dx, dstate = backprop(np.ones_like(out), tuple(np.ones_like(s) for s in _states(state))
                          if cls is fr.LSTM else np.ones_like(state))
    assert dx.shape == x.shape and dx.dtype == dtype
    assert [d.shape for d in _states(dstate)] == [(4, 0, H)] * len(_states(dstate))
    assert all(not g.any() for g in layer.grads.values())


@pytest.mark.parametrize("cls", [fr.RNNCell, fr.LSTMCell, fr.GRUCell])
def test_cells_on_an_empty_batch(cls):
    torch = torch_or_skip()
    cell = cls(I, H)
    state = cell(np.zeros((0, I), np.float32))
    t_state = getattr(torch.nn, cls.__name__)(I, H)(torch.zeros(0, I))
    assert [s.shape for s in _states(state)] == [tuple(s.shape) for s in _states(t_state)]
    state, backprop = cell.forward_train(np.zeros((0, I), np.float32))
    grad = tuple(np.ones_like(s) for s in state) if isinstance(state, tuple) else np.ones_like(state)
    dx, dprev = backprop(grad)
    assert dx.shape == (0, I)
    assert all(not g.any() for g in cell.grads.values())


@pytest.mark.parametrize("mode", F.MODES)
def test_functional_entries_on_an_empty_batch(mode):
    G = F.num_gates(mode)
    w = (np.ones((G * H, I)), np.ones((G * H, H)), np.ones(G * H), np.ones(G * H))
    x = np.zeros((T, 0, I))
    out, h, c = F.recurrent(mode, x, *w)
    assert out.shape == (T, 0, H) and h.shape == (0, H)
    (out, h, c), backprop = F.recurrent_train(mode, x, *w, lengths=[])
    dx, dh0, dc0, grads = backprop(np.ones_like(out))
    assert dx.shape == x.shape and dh0.shape == (0, H)
    assert all(not g.any() for g in grads.values())
    both = np.full((T, 0, 2 * H), np.nan)
    results = F.bidirectional(mode, x, [w, w], out=both)
    assert [r[0].shape for r in results] == [(T, 0, H)] * 2
    results, backprop = F.bidirectional_train(mode, x, [w, w])
    assert [r[3]["w_ih"].any() for r in backprop()] == [False, False]


def test_embedded_input_on_an_empty_batch():
    emb, layer = fr.Embedding(6, I), fr.LSTM(I, H)
    (out, (h, c)), backprop = layer.forward_train_embedded(emb, np.zeros((T, 0), int))
    assert out.shape == (T, 0, H) and h.shape == (1, 0, H)
    backprop(np.ones_like(out))
    assert not emb.grads["weight"].any() and all(not g.any() for g in layer.grads.values())
    out, _, _ = F.recurrent("gru", F.EmbeddedInput(np.zeros((T, 0), int), np.ones((6, I))),
                            np.ones((3 * H, I)), np.ones((3 * H, H)))
    assert out.shape == (T, 0, H)


def test_no_time_steps_is_still_refused():
    with pytest.raises(ValueError, match="at least one time step"):
        fr.LSTM(I, H)(np.zeros((0, 2, I), np.float32))
    with pytest.raises(ValueError, match="at least one time step"):
        F.recurrent("rnn_tanh", np.zeros((0, 2, I)), np.ones((H, I)), np.ones((H, H)))

"""An embedding folded into a recurrent layer's input projection
(``forward_train_embedded`` / ``functional.EmbeddedInput``): the same
outputs, states and every gradient as the lookup followed by the layer, for
every cell, both directions, stacks, ragged lengths, initial states, both
dtypes, both thread splits and 1 or 2 threads; finite differences of the
embedding and the layer through it; the fallbacks and bad input."""
import numpy as np
import pytest

import fastrnn as fr
from fastrnn import functional as F

from helpers.gradcheck import numeric_entry

T, B, V, E, H = 5, 4, 6, 3, 4
LENGTHS = np.array([5, 2, 4, 1])
CELLS = {"lstm": fr.LSTM, "gru": fr.GRU, "rnn": fr.RNN}


def _pair(cell, dtype, bidirectional=True, num_layers=2, **kw):
    layer = CELLS[cell](E, H, num_layers=num_layers, bidirectional=bidirectional, dtype=dtype,
                        seed=1, **kw)
    return layer, fr.Embedding(V, E, padding_idx=0, dtype=dtype, seed=2)


def _state(rng, layer, dtype):
    shape = (layer.num_layers * layer.num_directions, B, H)
    h = rng.standard_normal(shape).astype(dtype)
    return (h, rng.standard_normal(shape).astype(dtype)) if layer._has_cell_state else h


def _run(layer, emb, ids, hx, R, dR, folded):
    layer.zero_grad()
    emb.zero_grad()
    if folded:
        (out, state), bp = layer.forward_train_embedded(emb, ids, hx, LENGTHS)
        dhx = bp(R, dR)
    else:
        x, embed_bp = emb.forward_train(ids)
        (out, state), bp = layer.forward_train(x, hx, LENGTHS)
        dx, dhx = bp(R, dR)
        embed_bp(dx)
    grads = {k: g.copy() for k, g in layer.grads.items()}
    grads["embedding"] = emb.grads["weight"].copy()
    return out, state, dhx, grads


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-5)])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_folded_equals_lookup_then_layer(rng, plan, cell, dtype, rtol, bidirectional):
    layer, emb = _pair(cell, dtype, bidirectional)
    ids = rng.integers(0, V, size=(T, B))
    ids[np.arange(T)[:, None] >= LENGTHS] = 0          # padding is the padding_idx
    ids[0, 0] = 0                                       # and one real step uses it too
    hx = _state(rng, layer, dtype)
    R = rng.standard_normal((T, B, layer.num_directions * H)).astype(dtype)
    dR = _state(rng, layer, dtype)
    ref = _run(layer, emb, ids, hx, R, dR, folded=False)
    for threads in (1, 2):
        fr.set_num_threads(threads)
        try:
            got = _run(layer, emb, ids, hx, R, dR, folded=True)
        finally:
            fr.set_num_threads(2)
        for a, b in zip(got[:3], ref[:3]):
            for x, y in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
                np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol)
        for k in ref[3]:
            np.testing.assert_allclose(got[3][k], ref[3][k], rtol=rtol, atol=rtol, err_msg=k)
        assert not got[3]["embedding"][0].any()         # padding_idx never learns


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_folded_gradients_match_finite_differences(rng, cell):
    layer, emb = _pair(cell, "float64", bidirectional=True, num_layers=1)
    ids = rng.integers(1, V, size=(T, B))
    hx = _state(rng, layer, "float64")
    R = rng.standard_normal((T, B, 2 * H))

    def loss():
        out, _ = layer(emb(ids), hx, LENGTHS)
        return float(np.sum(out * R))

    layer.zero_grad()
    emb.zero_grad()
    _, bp = layer.forward_train_embedded(emb, ids, hx, LENGTHS)
    bp(R)
    params = dict(layer.parameters(), embedding=emb.parameters()["weight"])
    grads = dict(layer.grads, embedding=emb.grads["weight"])
    for name, p in params.items():
        for flat in rng.choice(p.size, size=min(p.size, 5), replace=False):
            idx = np.unravel_index(flat, p.shape)
            num = numeric_entry(loss, p, idx)
            assert abs(grads[name][idx] - num) <= 1e-7 + 1e-6 * abs(num), (name, idx)


def test_the_table_is_used_only_when_it_is_cheaper(rng, monkeypatch):
    """A vocabulary of more than half the batch's tokens, batch_first, or an
    embedding of another dtype take the lookup-then-layer path (same numbers)."""
    calls = []
    run = F.layer_directions

    def spy(mode, x, *args, **kwargs):
        if isinstance(x, F.EmbeddedInput):
            calls.append(1)
        return run(mode, x, *args, **kwargs)

    monkeypatch.setattr(F, "layer_directions", spy)
    ids = rng.integers(0, V, size=(T, B))
    for layer, emb, given, folded in [
            (fr.GRU(E, H, seed=1), fr.Embedding(V, E, seed=2), ids, True),
            (fr.GRU(E, H, seed=1), fr.Embedding(T * B // 2, E, seed=2), ids, True),
            (fr.GRU(E, H, seed=1), fr.Embedding(T * B // 2 + 1, E, seed=2), ids, False),
            (fr.GRU(E, H, batch_first=True, seed=1), fr.Embedding(V, E, seed=2), ids.T, False),
            (fr.GRU(E, H, seed=1), fr.Embedding(V, E, dtype="float64", seed=2), ids, False)]:
        calls.clear()
        (out, _), bp = layer.forward_train_embedded(emb, given)
        assert bool(calls) == folded
        np.testing.assert_allclose(out, layer(emb(given))[0], rtol=1e-6, atol=1e-6)
        assert bp(np.ones_like(out)).shape == (1, B, H)


def test_bad_input(rng):
    layer, emb = _pair("lstm", "float32")
    ids = rng.integers(0, V, size=(T, B))
    with pytest.raises(TypeError, match="embedding must be an fr.Embedding, got ndarray"):
        layer.forward_train_embedded(np.zeros((V, E)), ids)
    with pytest.raises(ValueError, match="embedding_dim = input_size 3, got 5"):
        layer.forward_train_embedded(fr.Embedding(V, 5), ids)
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 6\), got values in \[6, 6\]"):
        layer.forward_train_embedded(emb, np.full((T, B), V))
    with pytest.raises(ValueError, match=r"ids must be a 2-D \(T, B\) array of at least one time step"):
        layer.forward_train_embedded(emb, ids[0])
    with pytest.raises(ValueError, match=r"h0 must have shape \(4, 4, 4\)"):
        layer.forward_train_embedded(emb, ids, (np.zeros((1, B, H)), np.zeros((1, B, H))))
    w = _pair("rnn", "float64", False, 1)[0].direction_weights(0, 0)
    with pytest.raises(ValueError, match=r"x.ids must lie in \[0, 6\)"):
        F.recurrent_train("rnn_tanh", F.EmbeddedInput(np.full((T, B), -1), np.zeros((V, E))), *w)
    with pytest.raises(ValueError, match=r"x.ids must be a 2-D \(T, B\) integer array"):
        F.recurrent_train("rnn_tanh", F.EmbeddedInput(np.zeros((T, B), float), np.zeros((V, E))),
                          *w)

"""What the caller does with its arrays between calls must never give a
silently wrong answer (recurrent layers, cells, the functional entries).

* Between ``forward_train`` and ``backprop`` the caller may overwrite the
  input buffer (the chunked full-BPTT pattern reuses one), the lengths, the
  ids and embedding table, or the weights (an optimizer step,
  ``load_state_dict``): the gradients are those of the values the forward
  saw, bit for bit.
* ``out=`` may overlap the input (possible when I = D * H): the result is
  the one of separate arrays.
* A backprop refused for its arguments is not used up: the corrected retry
  runs; a second good call is still refused.
"""
import numpy as np
import pytest

import fastrnn as fr
import fastrnn.functional as F

CLASSES = [fr.RNN, fr.LSTM, fr.GRU]
T, B, I, H = 6, 4, 5, 3
LENGTHS = np.array([6, 2, 5, 1])


def _grads(module):
    return {k: v.copy() for k, v in module.grads.items()}


def _scribble(*arrays):
    for a in arrays:
        a[...] = 7


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layout", ["plain", "bidirectional-2-layers", "batch_first", "unbatched"])
@pytest.mark.parametrize("ragged", [False, True])
def test_layer_gradients_ignore_what_the_caller_changes_after_the_forward(
        cls, dtype, layout, ragged, rng):
    kw = dict(bidirectional=True, num_layers=2) if layout.startswith("bi") else {}
    kw["batch_first"] = layout == "batch_first"
    x = rng.standard_normal((T, B, I)).astype(dtype)
    if layout == "batch_first":
        x = np.ascontiguousarray(x.transpose(1, 0, 2))
    elif layout == "unbatched":
        x = x[:, 0]
    lengths = (LENGTHS if ragged else None) if layout != "unbatched" else None

    def run(meddle):
        layer = cls(I, H, dtype=dtype, seed=3, **kw)
        buf = x.copy()
        lens = None if lengths is None else lengths.copy()
        (out, _), backprop = layer.forward_train(buf, lengths=lens)
        if meddle:
            _scribble(buf, *layer.parameters().values())
            if lens is not None:
                lens[...] = 1
        dx, _ = backprop(np.ones_like(out))
        return dx, _grads(layer)

    dx, grads = run(False)
    dx2, grads2 = run(True)
    np.testing.assert_array_equal(dx2, dx)
    for key in grads:
        np.testing.assert_array_equal(grads2[key], grads[key], err_msg=key)


@pytest.mark.parametrize("cls", CLASSES)
def test_embedded_layer_gradients_ignore_changed_ids_and_table(cls, rng):
    V = 4   # few entries: the folded path runs (>= 2 tokens per entry)
    ids = rng.integers(0, V, (T, B))

    def run(meddle):
        emb, layer = fr.Embedding(V, I, seed=1), cls(I, H, seed=2)
        buf = ids.copy()
        (out, _), backprop = layer.forward_train_embedded(emb, buf, lengths=LENGTHS)
        if meddle:
            buf[...] = 0
            _scribble(*emb.parameters().values(), *layer.parameters().values())
        backprop(np.ones_like(out))
        return _grads(emb), _grads(layer)

    for before, after in zip(run(False), run(True)):
        for key in before:
            np.testing.assert_array_equal(after[key], before[key], err_msg=key)


@pytest.mark.parametrize("cls", [fr.RNNCell, fr.LSTMCell, fr.GRUCell])
def test_cell_gradients_ignore_what_the_caller_changes_after_the_forward(cls, rng):
    x = rng.standard_normal((B, I))

    def run(meddle):
        cell = cls(I, H, dtype="float64", seed=0)
        buf = x.copy()
        state, backprop = cell.forward_train(buf)
        if meddle:
            _scribble(buf, *cell.parameters().values())
        grad = tuple(np.ones_like(s) for s in state) if isinstance(state, tuple) \
            else np.ones_like(state)
        dx, _ = backprop(grad)
        return dx, _grads(cell)

    (dx, grads), (dx2, grads2) = run(False), run(True)
    np.testing.assert_array_equal(dx2, dx)
    for key in grads:
        np.testing.assert_array_equal(grads2[key], grads[key], err_msg=key)


def _params(rng, mode, width, directions=1, dtype=np.float64):
    G = F.num_gates(mode)
    return [tuple(rng.standard_normal(s).astype(dtype) * 0.4
                  for s in ((G * H, width), (G * H, H), (G * H,), (G * H,)))
            for _ in range(directions)]


@pytest.mark.parametrize("mode", F.MODES)
def test_functional_gradients_ignore_changed_inputs_weights_and_states(mode, rng):
    x = rng.standard_normal((T, B, I))
    (w_ih, w_hh, b_ih, b_hh), = _params(rng, mode, I)
    h0 = rng.standard_normal((B, H))
    cx = rng.standard_normal((B, H)) if mode == "lstm" else None
    dout = rng.standard_normal((T, B, H))

    def run(meddle):
        args = [a.copy() for a in (x, w_ih, w_hh, b_ih, b_hh, h0)]
        c0 = None if cx is None else cx.copy()
        lens = LENGTHS.copy()
        _, backprop = F.recurrent_train(mode, *args, cx=c0, lengths=lens)
        if meddle:
            _scribble(*args, lens, *([] if c0 is None else [c0]))
        return backprop(dout)

    before, after = run(False), run(True)
    for b, a in zip(before[:3], after[:3]):
        if b is not None:
            np.testing.assert_array_equal(a, b)
    for key in before[3]:
        np.testing.assert_array_equal(after[3][key], before[3][key], err_msg=key)


@pytest.mark.parametrize("mode", F.MODES)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("train", [False, True])
def test_out_overlapping_the_input_gives_the_separate_result(mode, threads, train, rng):
    """I = 2H: the caller may pass one buffer as both ``x`` and ``out``."""
    fr_threads = fr.get_num_threads()
    fr.set_num_threads(threads)
    try:
        x = rng.standard_normal((T, B, 2 * H))
        params = _params(rng, mode, 2 * H, directions=2)
        call = F.bidirectional_train if train else F.bidirectional
        expected = call(mode, x.copy(), params, lengths=LENGTHS)
        buf = x.copy()
        got = call(mode, buf, params, lengths=LENGTHS, out=buf)
        if train:
            (expected, bp_expected), (got, bp_got) = expected, got
        for (o1, h1, _), (o2, h2, _) in zip(expected, got):
            np.testing.assert_array_equal(o2, o1)
            np.testing.assert_array_equal(h2, h1)
        if train:   # and the kept input is the one the forward read
            douts = [np.ones_like(o) for o, _, _ in expected]
            for r1, r2 in zip(bp_expected(douts), bp_got(douts)):
                np.testing.assert_array_equal(r2[0], r1[0])
                for key in r1[3]:
                    np.testing.assert_array_equal(r2[3][key], r1[3][key])
    finally:
        fr.set_num_threads(fr_threads)


def test_out_overlapping_a_weight_or_a_state_gives_the_separate_result(rng):
    x = rng.standard_normal((T, B, I))
    params = _params(rng, "gru", I, directions=2)
    hx = [rng.standard_normal((B, H)) for _ in range(2)]
    expected = F.bidirectional("gru", x, params, hx=hx)
    out = np.zeros((T, B, 2 * H))
    # the first direction's w_hh and hx are views of out's memory
    w_hh = out.reshape(-1)[:3 * H * H].reshape(3 * H, H)
    w_hh[...] = params[0][1]
    h0 = out.reshape(-1)[-B * H:].reshape(B, H)
    h0[...] = hx[0]
    got = F.bidirectional("gru", x, [(params[0][0], w_hh) + params[0][2:], params[1]],
                          hx=[h0, hx[1]], out=out)
    for (o1, h1, _), (o2, h2, _) in zip(expected, got):
        np.testing.assert_array_equal(o2, o1)
        np.testing.assert_array_equal(h2, h1)


def _layer_case():
    layer = fr.LSTM(I, H, seed=0)
    (out, _), bp = layer.forward_train(np.ones((T, B, I), np.float32))
    return layer, bp, (np.ones_like(out),), [(np.ones((2, 2), np.float32),),
                                              (np.ones_like(out), np.ones((1, B, H)))]


def _cell_case():
    cell = fr.GRUCell(I, H, seed=0)
    h, bp = cell.forward_train(np.ones((B, I), np.float32))
    return cell, bp, (np.ones_like(h),), [(None,), (np.ones((B, H + 1)),)]


def _sequential_case():
    seq = fr.Sequential(fr.GRU(I, H, seed=0), fr.LSTM(H, 2, seed=1))
    y, bp = seq.forward_train(np.ones((T, B, I), np.float32))
    return seq, bp, (np.ones_like(y),), [("dy",), (np.ones((T, B, 3)),)]


def _embedded_case():
    emb, layer = fr.Embedding(4, I, seed=1), fr.GRU(I, H, seed=2)
    (out, _), bp = layer.forward_train_embedded(emb, np.zeros((T, B), int))
    return layer, bp, (np.ones_like(out),), [(np.ones((T, B)),)]


def _embedding_case():
    emb = fr.Embedding(4, I, seed=1)
    out, bp = emb.forward_train(np.zeros((T, B), int))
    return emb, bp, (np.ones_like(out),), [(np.ones((T, B)),)]


def _model_case():
    clf = fr.SequenceClassifier(3, vocab_size=6, embed_size=4, hidden_size=5, seed=0)
    logits, bp = clf.forward_train(np.ones((T, B), int))
    return clf, bp, (np.ones_like(logits),), [(np.ones(3),), (None,)]


@pytest.mark.parametrize("case", [_layer_case, _cell_case, _sequential_case, _embedded_case,
                                  _embedding_case, _model_case])
def test_a_refused_backprop_is_not_used_up(case):
    module, backprop, good, bads = case()
    for bad in bads:
        with pytest.raises((ValueError, TypeError)):
            backprop(*bad)
    assert all(not g.any() for g in module.grads.values())   # nothing was added
    backprop(*good)
    grads = _grads(module)
    with pytest.raises(RuntimeError, match="already called"):
        backprop(*good)
    fresh_module, fresh_backprop, _, _ = case()   # the retry added what a first call adds
    fresh_backprop(*good)
    for key, g in grads.items():
        np.testing.assert_array_equal(g, fresh_module.grads[key])


def test_a_refused_functional_backprop_is_not_used_up(rng):
    x = rng.standard_normal((T, B, I))
    _, backprop = F.recurrent_train("lstm", x, *_params(rng, "lstm", I)[0])
    with pytest.raises(ValueError, match="dout"):
        backprop(np.ones((T, B, H + 1)))
    with pytest.raises(ValueError, match="dc_n"):
        backprop(None, None, np.ones((B + 1, H)))
    dx, _, _, _ = backprop(np.ones((T, B, H)))
    assert dx.shape == x.shape
    with pytest.raises(RuntimeError, match="only once"):
        backprop(np.ones((T, B, H)))


def test_load_state_dict_from_the_modules_own_parameters():
    """Values that are the module's own arrays (a swap through parameters())
    are read before anything is written."""
    layer = fr.GRU(H, H, num_layers=2, seed=0)
    params = layer.parameters()
    before = {k: v.copy() for k, v in params.items()}
    swapped = dict(params, weight_hh_l0=params["weight_hh_l1"], weight_hh_l1=params["weight_hh_l0"])
    layer.load_state_dict(swapped)
    np.testing.assert_array_equal(layer.parameters()["weight_hh_l0"], before["weight_hh_l1"])
    np.testing.assert_array_equal(layer.parameters()["weight_hh_l1"], before["weight_hh_l0"])
    np.testing.assert_array_equal(layer.parameters()["weight_ih_l1"], before["weight_ih_l1"])


def test_an_overlap_too_hard_to_settle_counts_as_one(monkeypatch):
    """Crafted strides can make numpy's exact overlap test exponential: it
    runs with bounded work, and past that the inputs are copied."""
    from fastrnn import _validation

    a = np.zeros(10)

    def too_hard(*args, **kwargs):
        raise np.exceptions.TooHardError("exceeded max_work")

    assert not _validation.overlap(a[:5], a[5:])
    monkeypatch.setattr(np, "shares_memory", too_hard)
    assert _validation.overlap(a[::2], a[1::2])
    assert not _validation.overlap(a, np.zeros(3))   # disjoint bounds never ask

"""The recurrent layers and cells refuse bad constructor and call
arguments with an error naming the argument."""

import numpy as np
import pytest

import fastrnn as fr

from helpers.layers import make_cell, make_layer


# ------------------------------------------------------------ bad arguments
@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(hidden_size=0), ValueError, "hidden_size"),
    (dict(hidden_size=-3), ValueError, "hidden_size"),
    (dict(hidden_size=2.5), TypeError, "hidden_size"),
    (dict(input_size=0), ValueError, "input_size"),
    (dict(input_size="3"), TypeError, "input_size"),
    (dict(num_layers=0), ValueError, "num_layers"),
    (dict(num_layers=1.0), TypeError, "num_layers"),
    (dict(merge_mode="avg"), ValueError, "merge_mode"),
    (dict(dropout=1.5), ValueError, "dropout"),
    (dict(dropout=1.0), ValueError, "dropout"),
    (dict(dropout=-0.1), ValueError, "dropout"),
    (dict(dropout="0.5"), TypeError, "dropout"),
    (dict(bias="yes"), TypeError, "bias"),
    (dict(batch_first=1), TypeError, "batch_first"),
    (dict(bidirectional="no"), TypeError, "bidirectional"),
    (dict(dtype="float16"), ValueError, "dtype"),
    (dict(dtype="int32"), ValueError, "dtype"),
    (dict(dtype="nonsense"), TypeError, "dtype"),
    (dict(seed="a"), TypeError, "seed"),
], ids=lambda v: str(v) if not isinstance(v, dict) else "-".join(f"{k}={v[k]!r}" for k in v))
@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_bad_constructor_arguments(kind, kwargs, exc, match):
    args = dict(input_size=3, hidden_size=4)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        make_layer(kind, **args)


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(hidden_size=0), ValueError, "hidden_size"),
    (dict(input_size=0), ValueError, "input_size"),
    (dict(bias="yes"), TypeError, "bias"),
    (dict(dtype="float16"), ValueError, "dtype"),
])
@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_bad_cell_constructor_arguments(kind, kwargs, exc, match):
    args = dict(input_size=3, hidden_size=4)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        make_cell(kind, **args)


def test_bad_nonlinearity_and_reset_after():
    with pytest.raises(ValueError, match="nonlinearity"):
        fr.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="nonlinearity"):
        fr.RNNCell(3, 4, nonlinearity="sigmoid")
    with pytest.raises(TypeError, match="reset_after"):
        fr.GRU(3, 4, reset_after="yes")
    with pytest.raises(TypeError, match="reset_after"):
        fr.GRUCell(3, 4, reset_after=None)


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_bad_call_arguments(kind):
    layer = make_layer(kind, 3, 4, num_layers=2, seed=0)
    x = np.zeros((5, 2, 3))
    good_h = np.zeros((2, 2, 4))

    def hx_of(h):
        return (h, good_h) if kind == "lstm" else h

    with pytest.raises(ValueError, match="input_size"):
        layer(np.zeros((5, 2, 4)))
    for bad_x in (np.zeros((5, 2, 3, 1)), np.zeros(3), np.zeros(())):
        with pytest.raises(ValueError, match=r"\bx\b"):
            layer(bad_x)
    with pytest.raises(ValueError, match=r"\bx\b"):
        layer(np.zeros((0, 2, 3)))
    for bad_h in (np.zeros((1, 2, 4)), np.zeros((2, 3, 4)), np.zeros((2, 2, 5)), np.zeros((2, 4))):
        with pytest.raises(ValueError, match="h0"):
            layer(x, hx_of(bad_h))
    if kind == "lstm":
        with pytest.raises(ValueError, match="c0"):
            layer(x, (good_h, np.zeros((2, 2, 3))))
        with pytest.raises(TypeError, match="hx"):
            layer(x, good_h)  # LSTM needs (h0, c0)
        with pytest.raises(TypeError, match="hx"):
            layer(x, (good_h, good_h, good_h))
    for bad_len in ([6, 1], [-1, 2], [5, 5, 5], [[5, 5]]):
        with pytest.raises(ValueError, match="lengths"):
            layer(x, lengths=bad_len)
    for bad_len in ([1.5, 2], ["a", "b"]):
        with pytest.raises(TypeError, match="lengths"):
            layer(x, lengths=bad_len)
    # backprop arguments
    (out, st), bp = layer.forward_train(x)
    with pytest.raises(ValueError, match="dout"):
        bp(np.zeros((5, 2, 5)))
    (out, st), bp = layer.forward_train(x)
    bad_ds = np.zeros((2, 2, 5))
    with pytest.raises(ValueError, match="dh_n"):
        bp(np.zeros(out.shape), (bad_ds, None) if kind == "lstm" else bad_ds)


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_bad_cell_call_arguments(kind):
    cell = make_cell(kind, 3, 4, seed=0)
    with pytest.raises(ValueError, match="input_size"):
        cell(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"\bx\b"):
        cell(np.zeros((1, 2, 3)))
    with pytest.raises(TypeError, match=r"\bx\b"):
        cell(np.zeros((2, 3), dtype=complex))
    bad = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"\bh\b"):
        cell(np.zeros((2, 3)), (bad, np.zeros((2, 4))) if kind == "lstm" else bad)
    if kind == "lstm":
        with pytest.raises(TypeError, match="state"):
            cell(np.zeros((2, 3)), np.zeros((2, 4)))
    new, bp = cell.forward_train(np.zeros((2, 3)))
    with pytest.raises((TypeError, ValueError), match="dstate|dh"):
        bp(None)

"""Building and probing the recurrent layers and cells in tests: every
cell variant by name, random states, cotangents and the expected parameter
names."""

import numpy as np

import fastrnn as fr

MERGE_MODES = ["concat", "sum", "mean", "max", "mul"]
GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3, "gru_rb": 3}
ALL_KINDS = list(GATES)
LAYER_CLASSES = {"rnn": fr.RNN, "lstm": fr.LSTM, "gru": fr.GRU}


def _make(classes, kind, input_size, hidden_size, **kw):
    """kind: rnn_tanh, rnn_relu, lstm, gru, gru_rb (GRU reset_after=False);
    ``classes``: the (RNN, LSTM, GRU) classes to build from."""
    rnn, lstm, gru = classes
    if kind.startswith("rnn_"):
        return rnn(input_size, hidden_size, nonlinearity=kind[4:], **kw)
    if kind == "lstm":
        return lstm(input_size, hidden_size, **kw)
    return gru(input_size, hidden_size, reset_after=(kind == "gru"), **kw)


def make_layer(kind, input_size, hidden_size, **kw):
    return _make((fr.RNN, fr.LSTM, fr.GRU), kind, input_size, hidden_size, **kw)


def make_cell(kind, input_size, hidden_size, **kw):
    return _make((fr.RNNCell, fr.LSTMCell, fr.GRUCell), kind, input_size, hidden_size, **kw)


def is_lstm(layer):
    return isinstance(layer, (fr.LSTM, fr.LSTMCell))


def random_state(rng, layer, shape, dtype=np.float64):
    h = rng.standard_normal(shape).astype(dtype)
    if is_lstm(layer):
        return h, rng.standard_normal(shape).astype(dtype)
    return h


def state_list(state):
    return list(state) if isinstance(state, tuple) else [state]


def loss_and_seeds(rng, out, state):
    """Random cotangents for out and the final state (same structure)."""
    R = rng.standard_normal(out.shape)
    Rs = [rng.standard_normal(s.shape) for s in state_list(state)]
    return R, (tuple(Rs) if isinstance(state, tuple) else Rs[0])


def weighted_sum(out, state, R, Rs):
    total = float(np.sum(out * R))
    for s, r in zip(state_list(state), state_list(Rs)):
        total += float(np.sum(s * r))
    return total


def expected_keys(num_layers, bidirectional, bias):
    keys = set()
    for k in range(num_layers):
        for sfx in ([""] + (["_reverse"] if bidirectional else [])):
            names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if bias else [])
            keys |= {f"{n}_l{k}{sfx}" for n in names}
    return keys

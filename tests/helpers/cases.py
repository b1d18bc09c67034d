"""Parametrisations shared by the test modules of frozen, exported and
imported layers: every cell variant, and the layer shapes that exercise
stacks, directions, merges, layouts and biases."""
import fastrnn as fr

# (class, constructor options), one per cell variant, and their test ids.
LAYERS = [
    (fr.LSTM, {}),
    (fr.GRU, {}),
    (fr.GRU, {"reset_after": False}),
    (fr.RNN, {}),
    (fr.RNN, {"nonlinearity": "relu"}),
]
# The one-step cell of each variant, with the same options.
CELLS = [({fr.LSTM: fr.LSTMCell, fr.GRU: fr.GRUCell, fr.RNN: fr.RNNCell}[cls], kw)
         for cls, kw in LAYERS]
IDS = ["lstm", "gru", "gru_reset_before", "rnn_tanh", "rnn_relu"]

# Layer options beside the cell's: name -> constructor options.
SHAPES = {
    "one": {},
    "stacked_bidirectional": {"num_layers": 2, "bidirectional": True},
    "batch_first_mean": {"num_layers": 2, "bidirectional": True, "batch_first": True,
                         "merge_mode": "mean"},
    "sum3": {"bidirectional": True, "merge_mode": "sum", "num_layers": 3},
    "max": {"bidirectional": True, "merge_mode": "max"},
    "mul_no_bias": {"bidirectional": True, "merge_mode": "mul", "bias": False},
}

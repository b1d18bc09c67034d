"""The bad-input catalogue: across the public entry points, malformed input
gives a ValueError / TypeError (MemoryError for absurd sizes) whose message
names the argument, what was expected and what was got -- never a crash,
a hang or a silent wrong answer.  Entry-specific validation has more
detailed tests next to each module; this is the one-line-per-case index."""
import numpy as np
import pytest

import fastrnn as fr

X = np.zeros((3, 2, 4), np.float32)


def _backprop_twice():
    (out, _), bp = fr.LSTM(4, 5).forward_train(X)
    bp(np.ones_like(out))
    bp(np.ones_like(out))


CASES = [
    # recurrent layers: the input
    ("x None", lambda: fr.LSTM(4, 5)(None), TypeError, "x must be a real numeric array"),
    ("x ragged list", lambda: fr.LSTM(4, 5)([[1, 2], [3]]), TypeError, "x must be a numeric array"),
    ("x complex", lambda: fr.LSTM(4, 5)(X.astype(complex)), TypeError, "dtype complex128"),
    ("x object", lambda: fr.GRU(4, 5)(X.astype(object)), TypeError, "dtype object"),
    ("x str", lambda: fr.RNN(4, 5)("abc"), TypeError, "real numeric array"),
    ("x 1-D", lambda: fr.LSTM(4, 5)(np.zeros(4)), ValueError, r"x must be 3-D .* got shape \(4,\)"),
    ("x 4-D", lambda: fr.LSTM(4, 5)(np.zeros((1, 3, 2, 4))), ValueError, "x must be 3-D"),
    ("x features", lambda: fr.LSTM(4, 5)(np.zeros((3, 2, 5))), ValueError, "input_size 4 .* got 5"),
    ("B = 0", lambda: fr.LSTM(4, 5)(np.zeros((3, 0, 4))), ValueError, "at least one time step and one batch row"),
    ("T = 0", lambda: fr.LSTM(4, 5)(np.zeros((0, 2, 4))), ValueError, "at least one time step"),
    # states and lengths
    ("h0 batch", lambda: fr.GRU(4, 5)(X, np.zeros((1, 3, 5))), ValueError, r"h0 must have shape \(1, 2, 5\)"),
    ("hx not a tuple", lambda: fr.LSTM(4, 5)(X, np.zeros((1, 2, 5))), TypeError, r"hx must be a tuple \(h0, c0\)"),
    ("lengths > T", lambda: fr.LSTM(4, 5)(X, lengths=[4, 1]), ValueError, r"lengths must lie in \[0, 3\]"),
    ("lengths < 0", lambda: fr.LSTM(4, 5)(X, lengths=[-1, 1]), ValueError, r"lengths must lie in \[0, 3\]"),
    ("lengths float", lambda: fr.LSTM(4, 5)(X, lengths=[1.5, 1]), TypeError, "non-integral"),
    ("lengths shape", lambda: fr.LSTM(4, 5)(X, lengths=[1, 1, 1]), ValueError, r"lengths must have shape \(2,\)"),
    ("lengths str", lambda: fr.LSTM(4, 5)(X, lengths="ab"), TypeError, "lengths must be integers"),
    # construction
    ("input_size 0", lambda: fr.LSTM(0, 5), ValueError, "input_size must be >= 1"),
    ("hidden float", lambda: fr.LSTM(4, 5.0), TypeError, "hidden_size must be an int"),
    ("num_layers absurd", lambda: fr.LSTM(4, 8, num_layers=10**8), MemoryError, "needs .* GiB"),
    ("hidden absurd", lambda: fr.GRU(4, 10**7), MemoryError, "needs .* GiB"),
    ("dtype int", lambda: fr.LSTM(4, 5, dtype="int32"), ValueError, "dtype must be 'float32' or 'float64'"),
    ("merge_mode", lambda: fr.LSTM(4, 5, bidirectional=True, merge_mode="avg"), ValueError, "merge_mode must be one of"),
    ("dropout 2", lambda: fr.LSTM(4, 5, dropout=2.0), ValueError, r"dropout must be in \[0, 1\)"),
    # training
    ("backprop twice", _backprop_twice, RuntimeError, "already called"),
    ("dout shape", lambda: fr.LSTM(4, 5).forward_train(X)[1](np.ones((3, 2, 6))), ValueError, r"dout must have the output's shape \(3, 2, 5\)"),
    # cells, blocks, losses, optimizers, attention
    ("cell x", lambda: fr.LSTMCell(4, 5)(np.zeros((2, 3))), ValueError, "input_size 4"),
    ("cell state", lambda: fr.LSTMCell(4, 5)(np.zeros((2, 4)), (np.zeros((3, 5)), None)), ValueError, r"h must have shape \(2, 5\)"),
    ("linear x", lambda: fr.Linear(3, 2)(np.zeros((2, 4))), ValueError, "in_features 3"),
    ("embedding float ids", lambda: fr.Embedding(5, 2)(np.array([0.5])), TypeError, "ids must be an integer array"),
    ("embedding id range", lambda: fr.Embedding(5, 2)(np.array([5])), ValueError, r"ids must lie in \[0, 5\)"),
    ("cross_entropy target", lambda: fr.losses.cross_entropy(np.zeros((2, 3)), np.array([0, 3])), ValueError, r"targets must be class indices in \[0, 3\)"),
    ("mse shape", lambda: fr.losses.mse(np.zeros((2, 3)), np.zeros((2, 2))), ValueError, r"target must have shape \(2, 3\)"),
    ("adam lr", lambda: fr.optim.Adam(fr.Linear(2, 2), lr=-1), ValueError, "lr must be >= 0"),
    ("fully masked row", lambda: fr.DotAttention()(np.zeros((1, 4)), np.zeros((1, 3, 4)), mask=np.zeros((1, 3), bool)), ValueError, "mask leaves batch row 0 with no position"),
    # runtime, files
    ("threads 0", lambda: fr.set_num_threads(0), ValueError, "n must be >= 1, got 0"),
    ("threads float", lambda: fr.set_num_threads(1.5), TypeError, "n must be an int"),
    ("load a folder", lambda: fr.load("."), IsADirectoryError, "Is a directory"),
    ("save a non-module", lambda: fr.save(object(), "never-written.frnn"), TypeError, "not a registered fastrnn module class"),
    # models
    ("fit on nothing", lambda: fr.SequenceClassifier(2, vocab_size=5).fit([], []), ValueError, "X must hold at least one sequence"),
    ("predict None", lambda: fr.SequenceClassifier(2, vocab_size=5).predict(None), TypeError, "X must be a list of sequences or a numpy array"),
    ("epochs 0", lambda: fr.SequenceClassifier(2, vocab_size=5).fit([[1]], [0], epochs=0), ValueError, "epochs must be a positive int"),
    ("max_len 0", lambda: fr.Seq2Seq(5, 5, 4, 4).translate([[3]], max_len=0), ValueError, "max_len must be >= 1"),
    ("temperature < 0", lambda: fr.LanguageModel(5, hidden_size=4, sos_id=1).generate(temperature=-1), ValueError, "temperature must be a number >= 0"),
    ("seq2seq absurd layers", lambda: fr.Seq2Seq(5, 5, 4, 4, num_layers=10**8), MemoryError, "needs .* GiB"),
]


@pytest.mark.parametrize("name, call, error, message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_error(name, call, error, message):
    before = fr.get_num_threads()
    try:
        with pytest.raises(error, match=message):
            call()
    finally:
        fr.set_num_threads(before)


@pytest.mark.parametrize("view", ["reversed", "strided", "transposed"])
def test_odd_memory_layouts_give_the_contiguous_results(view):
    rng = np.random.default_rng(0)
    lstm = fr.LSTM(4, 5, seed=0)
    base = rng.standard_normal((6, 2, 8)).astype(np.float32)
    x = {"reversed": base[::-1, :, :4], "strided": base[:, :, ::2],
         "transposed": np.ascontiguousarray(base[:, :, :4].transpose(1, 0, 2)).transpose(1, 0, 2)}[view]
    np.testing.assert_array_equal(lstm(x)[0], lstm(np.ascontiguousarray(x))[0])


def test_nan_and_inf_propagate_like_torch():
    lstm = fr.LSTM(4, 5, seed=0)
    x = np.zeros((3, 2, 4), np.float32)
    x[1, 0, 2] = np.nan
    out = lstm(x)[0]
    assert np.isnan(out[1:, 0]).all() and np.isfinite(out[:, 1]).all() and np.isfinite(out[0]).all()
    x[1, 0, 2] = np.inf
    assert np.isfinite(lstm(x)[0][:, 1]).all()          # other rows untouched

"""The bad-input catalogue: across the public entry points, malformed input
gives a ValueError / TypeError (MemoryError for absurd sizes) whose message
names the argument, what was expected and what was got -- never a crash,
a hang or a silent wrong answer.  Entry-specific validation has more
detailed tests next to each module; this is the one-line-per-case index."""
import os
import re

import numpy as np
import pytest

import fastrnn as fr

from helpers.running import run_python
from fastrnn import cli
from fastrnn import datasets as ds
from fastrnn import functional as F
from fastrnn import optim

X = np.zeros((3, 2, 4), np.float32)
# fr.functional's LSTM weights for X: hidden 5, PyTorch's layout (4*H, I), (4*H, H), (4*H,)
W = (np.zeros((20, 4), np.float32), np.zeros((20, 5), np.float32))
B4 = np.zeros(20, np.float32)
GRU_W = (np.zeros((15, 4), np.float32), np.zeros((15, 5), np.float32))
FIT = dict(epochs=1, batch_size=2, progress=False)   # never reached: validation comes first


def _with_inf_weight(layer):
    layer.parameters()["weight_ih_l0"][0, 0] = np.inf
    return layer


def _backprop_twice():
    (out, _), bp = fr.LSTM(4, 5).forward_train(X)
    bp(np.ones_like(out))
    bp(np.ones_like(out))


def _functional_backprop_twice():
    _, bp = F.recurrent_train("lstm", X, *W)
    bp()
    bp()


# Small task models (hidden 4): every case below fails in validation, before training.
def _clf():
    return fr.SequenceClassifier(2, vocab_size=5, embed_size=4, hidden_size=4, seed=0)


def _clf_features():
    return fr.SequenceClassifier(2, input_size=3, hidden_size=4, seed=0)


def _tagger():
    return fr.SequenceTagger(3, vocab_size=5, embed_size=4, hidden_size=4, seed=0)


def _regressor():
    return fr.SequenceRegressor(2, hidden_size=4, seed=0)


def _lm(**kw):
    return fr.LanguageModel(5, embed_size=4, hidden_size=4, sos_id=1, eos_id=2, seed=0, **kw)


def _s2s():
    return fr.Seq2Seq(6, 6, 4, 4, seed=0)


BIG_ID = np.array([1, 2**63 + 1], np.uint64)   # beyond int64: a cast would wrap it negative
MISSING = os.path.join(os.path.dirname(os.path.abspath(__file__)), "no-such-folder", "m.frnn")
# A path inside a regular file: no user, root included, can create it.
IN_A_FILE = os.path.join(os.path.abspath(__file__), "m.frnn")


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
    ("linear absurd", lambda: fr.Linear(10**6, 10**6), MemoryError, r"Linear\(1000000, 1000000\) needs .* GiB"),
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
    # functional: weights given explicitly
    ("F mode", lambda: F.recurrent("lstmx", X, *W), ValueError, "mode must be one of .* got 'lstmx'"),
    ("F w_ih int", lambda: F.recurrent("lstm", X, W[0].astype(int), W[1]), TypeError, "w_ih must be a float32 or float64 array, got dtype int64"),
    ("F w_ih None", lambda: F.recurrent("lstm", X, None, W[1]), TypeError, "w_ih must be a float32 or float64 array, got dtype object"),
    ("F w_ih 1-D", lambda: F.recurrent("lstm", X, B4, W[1]), ValueError, r"w_ih must be 2-D \(4\*hidden_size, input_size\), got shape \(20,\)"),
    ("F w_ih rows", lambda: F.recurrent("lstm", X, np.zeros((7, 4), np.float32), W[1]), ValueError, r"w_ih must be 2-D \(4\*hidden_size, input_size\), got shape \(7, 4\)"),
    ("F w_ih features", lambda: F.recurrent("lstm", X, np.zeros((20, 3), np.float32), W[1]), ValueError, r"w_ih must have shape \(20, 4\), got \(20, 3\)"),
    ("F w_hh shape", lambda: F.recurrent("lstm", X, W[0], np.zeros((20, 4), np.float32)), ValueError, r"w_hh must have shape \(20, 5\), got \(20, 4\)"),
    ("F w_hh complex", lambda: F.recurrent("lstm", X, W[0], W[1].astype(complex)), TypeError, "w_hh must be a real numeric array, got dtype complex128"),
    ("F one bias", lambda: F.recurrent("lstm", X, *W, b_ih=B4), ValueError, "b_ih and b_hh must both be given or both be None"),
    ("F b_ih shape", lambda: F.recurrent("lstm", X, *W, b_ih=B4[:5], b_hh=B4), ValueError, r"b_ih must have shape \(20,\), got \(5,\)"),
    ("F b_hh str", lambda: F.recurrent("lstm", X, *W, b_ih=B4, b_hh="ab"), TypeError, "b_hh must be a real numeric array, got dtype <U2"),
    ("F hx batch", lambda: F.recurrent("lstm", X, *W, hx=np.zeros((3, 5))), ValueError, r"hx must have shape \(2, 5\), got \(3, 5\)"),
    ("F hx layers", lambda: F.recurrent("gru", X, *GRU_W, hx=np.zeros((1, 2, 5))), ValueError, r"hx must have shape \(2, 5\), got \(1, 2, 5\)"),
    ("F cx for gru", lambda: F.recurrent("gru", X, *GRU_W, cx=np.zeros((2, 5))), ValueError, "cx is only used by mode 'lstm', got it for mode 'gru'"),
    ("F cx shape", lambda: F.recurrent("lstm", X, *W, cx=np.zeros((2, 4))), ValueError, r"cx must have shape \(2, 5\), got \(2, 4\)"),
    ("F x 2-D", lambda: F.recurrent("lstm", X[0], *W), ValueError, r"x must be 3-D \(T, B, input_size\), got shape \(2, 4\)"),
    ("F x None", lambda: F.recurrent("lstm", None, *W), TypeError, "x must be a real numeric array, got dtype object"),
    ("F x ragged", lambda: F.recurrent("lstm", [[1, 2], [3]], *W), TypeError, "x must be a numeric array, got list"),
    ("F T = 0", lambda: F.recurrent("lstm", X[:0], *W), ValueError, "x must have at least one time step"),
    ("F lengths > T", lambda: F.recurrent("lstm", X, *W, lengths=[4, 1]), ValueError, r"lengths must lie in \[0, 3\]"),
    ("F lengths float", lambda: F.recurrent("lstm", X, *W, lengths=[1.5, 1]), TypeError, "lengths must be integers, got non-integral"),
    ("F lengths bool", lambda: F.recurrent("lstm", X, *W, lengths=[True, True]), TypeError, "lengths must be integers, got dtype bool"),
    ("F lengths 2-D", lambda: F.recurrent("lstm", X, *W, lengths=[[1, 1]]), ValueError, r"lengths must have shape \(2,\) \(one per batch row\), got \(1, 2\)"),
    ("F dout shape", lambda: F.recurrent_train("lstm", X, *W)[1](np.ones((3, 2, 6))), ValueError, r"dout must have shape \(3, 2, 5\), got \(3, 2, 6\)"),
    ("F dout complex", lambda: F.recurrent_train("lstm", X, *W)[1](np.ones((3, 2, 5), complex)), TypeError, "dout must be a real numeric array, got dtype complex128"),
    ("F dh_n shape", lambda: F.recurrent_train("lstm", X, *W)[1](dh_n=np.zeros((3, 5))), ValueError, r"dh_n must have shape \(2, 5\), got \(3, 5\)"),
    ("F grads entry", lambda: F.recurrent_train("lstm", X, *W)[1](grads={"w_ih": np.zeros((3, 3))}), ValueError, r"grads\['w_ih'\] must be a writeable C-contiguous float32 array of shape \(20, 4\)"),
    ("F backprop twice", _functional_backprop_twice, RuntimeError, "backprop may be called only once"),
    ("F params count", lambda: F.bidirectional("lstm", X, [W + (B4, B4)] * 3), ValueError, r"params must be a list of 1 or 2 \(w_ih, w_hh, b_ih, b_hh\) tuples, got 3 entries"),
    ("F params None", lambda: F.bidirectional("lstm", X, None), ValueError, "params must be a list of 1 or 2 .* got NoneType"),
    ("F params entry", lambda: F.bidirectional("lstm", X, [W]), ValueError, r"params\[0\] must be a tuple \(w_ih, w_hh, b_ih, b_hh\), got length 2"),
    ("F params dtypes", lambda: F.bidirectional("lstm", X, [W + (B4, B4), tuple(a.astype(np.float64) for a in W + (B4, B4))]), TypeError, r"params\[1\] must have params\[0\]'s dtype float32, got float64"),
    ("F hx per direction", lambda: F.bidirectional("lstm", X, [W + (B4, B4)] * 2, hx=[None]), ValueError, r"hx must hold one entry per direction \(2\), got 1"),
    ("F cx per direction", lambda: F.bidirectional("lstm", X, [W + (B4, B4)] * 2, cx=np.zeros((2, 5))), ValueError, r"cx must hold one entry per direction \(2\), got ndarray"),
    ("F w_ih float16", lambda: F.recurrent("lstm", X, W[0].astype(np.float16), W[1]), TypeError, "w_ih must be a float32 or float64 array, got dtype float16"),
    ("F w_hh other float", lambda: F.recurrent("lstm", X, W[0], W[1].astype(np.float64)), TypeError, "w_hh must have w_ih's dtype float32, got float64"),
    ("F reverse str", lambda: F.recurrent("lstm", X, *W, reverse="yes"), TypeError, r"reverse must be a bool, got str \('yes'\)"),
    ("F reset_after str", lambda: F.recurrent("gru", X, *GRU_W, reset_after="no"), TypeError, "reset_after must be a bool, got str"),
    ("F douts per direction", lambda: F.bidirectional_train("lstm", X, [W + (B4, B4)] * 2)[1](douts=[None]), ValueError, r"douts must hold one entry per direction \(2\), got 1"),
    ("F dc_n for gru", lambda: F.recurrent_train("gru", X, *GRU_W)[1](dc_n=np.zeros((2, 5))), ValueError, "dc_n is only used by mode 'lstm', got it for mode 'gru'"),
    ("F grads not a dict", lambda: F.recurrent_train("lstm", X, *W)[1](grads=[1]), TypeError, "grads must be a dict or None, got list"),
    ("F num_gates", lambda: F.num_gates("x"), ValueError, "mode must be one of .* got 'x'"),
    ("F bidirectional lengths", lambda: F.bidirectional("lstm", X, [W + (B4, B4)] * 2, lengths=[5, 1]), ValueError, r"lengths must lie in \[0, 3\]"),
    # classifier (and what every task model shares)
    ("clf X/y lengths", lambda: _clf().fit([[1, 2], [3]], [0], **FIT), ValueError, r"y must have shape \(2,\) \(one label per sequence\), got \(1,\)"),
    ("clf y float", lambda: _clf().fit([[1, 2], [3]], [0.0, 1.0], **FIT), TypeError, "y must hold integer class labels, got dtype float64"),
    ("clf y range", lambda: _clf().fit([[1, 2], [3]], [0, 2], **FIT), ValueError, r"y must hold labels in \[0, 2\), got values in \[0, 2\]"),
    ("clf y None", lambda: _clf().fit([[1, 2], [3]], None, **FIT), TypeError, "y is required"),
    ("clf id out of vocabulary", lambda: _clf().predict([[1, 5]]), ValueError, r"X\[0\] must hold ids in \[0, 5\), got values in \[1, 5\]"),
    ("clf negative id", lambda: _clf().predict([[3], [-1, 2]]), ValueError, r"X\[1\] must hold ids in \[0, 5\), got values in \[-1, 2\]"),
    ("clf float ids", lambda: _clf().predict([[1.5, 2]]), TypeError, r"X\[0\] must hold integer token ids, got dtype float64"),
    ("clf None id", lambda: _clf().predict([[1, None]]), TypeError, r"X\[0\] must hold integer token ids, got dtype object"),
    ("clf empty sequence", lambda: _clf().predict([[1], []]), ValueError, r"X\[1\] must have at least 1 token\(s\), got 0"),
    ("clf nested ids", lambda: _clf().predict([[[1], [2]]]), ValueError, r"X\[0\] must be 1-D \(a list of token ids\), got shape \(2, 1\)"),
    ("clf ragged ids", lambda: _clf().predict([[[1], [2, 3]]]), TypeError, r"X\[0\] must be a sequence of integer ids"),
    ("clf X str", lambda: _clf().predict("abc"), TypeError, "X must be a list of sequences or a numpy array, got str"),
    ("clf X 1-D array", lambda: _clf().predict(np.array([1, 2])), ValueError, r"X must be a list of sequences or an array \(N, T\[, F\]\), got an array of shape \(2,\)"),
    ("clf features size", lambda: _clf_features().predict([np.zeros((2, 4))]), ValueError, r"X\[0\] must have shape \(T, 3\), got \(2, 4\)"),
    ("clf features complex", lambda: _clf_features().predict([np.zeros((2, 3), complex)]), TypeError, r"X\[0\] must be real numbers, got dtype complex128"),
    ("clf epochs float", lambda: _clf().fit([[1], [2]], [0, 1], epochs=1.5, progress=False), TypeError, r"epochs must be a positive int, got float \(1.5\)"),
    ("clf batch_size 0", lambda: _clf().fit([[1], [2]], [0, 1], batch_size=0, progress=False), ValueError, "batch_size must be a positive int, got 0"),
    ("clf lr 0", lambda: _clf().fit([[1], [2]], [0, 1], lr=0, **FIT), ValueError, "lr must be a positive number, got 0"),
    ("clf lr str", lambda: _clf().fit([[1], [2]], [0, 1], lr="0.1", **FIT), TypeError, r"lr must be a positive number, got str \('0.1'\)"),
    ("clf validation 1.5", lambda: _clf().fit([[1], [2]], [0, 1], validation=1.5, **FIT), ValueError, r"validation as a fraction must be in \(0, 1\), got 1.5"),
    ("clf validation empty", lambda: _clf().fit([[1], [2]], [0, 1], validation=0.1, **FIT), ValueError, "validation=0.1 leaves no validation or no training sequences out of 2"),
    ("clf validation str", lambda: _clf().fit([[1], [2]], [0, 1], validation="0.1", **FIT), TypeError, r"validation must be None, a tuple \(X, y\) or a fraction, got str"),
    ("clf validation y", lambda: _clf().fit([[1], [2]], [0, 1], validation=([[1], [2]], [0]), **FIT), ValueError, r"validation y must have shape \(2,\)"),
    ("clf optimizer", lambda: _clf().fit([[1], [2]], [0, 1], optimizer="lbfgs", **FIT), ValueError, "optimizer must be one of .* got 'lbfgs'"),
    ("clf clip 0", lambda: _clf().fit([[1], [2]], [0, 1], clip=0, **FIT), ValueError, "clip must be a positive number, got 0"),
    ("clf early_stopping 0", lambda: _clf().fit([[1], [2]], [0, 1], early_stopping=0, **FIT), ValueError, "early_stopping must be a positive int, got 0"),
    ("clf shuffle str", lambda: _clf().fit([[1], [2]], [0, 1], shuffle="yes", **FIT), TypeError, r"shuffle must be a bool, got str \('yes'\)"),
    ("clf seed < 0", lambda: _clf().fit([[1], [2]], [0, 1], seed=-1, **FIT), ValueError, "seed must be a non-negative int, got -1"),
    ("clf predict batch_size 0", lambda: _clf().predict([[1]], batch_size=0), ValueError, "batch_size must be >= 1, got 0"),
    ("clf evaluate X/y lengths", lambda: _clf().evaluate([[1], [2]], [0]), ValueError, r"y must have shape \(2,\)"),
    ("clf call lengths 0", lambda: _clf()(np.array([[1, 2]]), lengths=[0, 1]), ValueError, "lengths must be >= 1: every sequence needs at least one step, got min 0"),
    ("clf absurd vocab", lambda: fr.SequenceClassifier(2, vocab_size=10**12, embed_size=4, hidden_size=4), MemoryError, r"Embedding\(1000000000000, 4\) needs .* GiB"),
    ("clf num_classes 1", lambda: fr.SequenceClassifier(1, vocab_size=5), ValueError, "num_classes must be >= 2, got 1"),
    ("clf pad_id bool", lambda: fr.SequenceClassifier(2, vocab_size=5, pad_id=True), TypeError, r"pad_id must be None or an id in \[0, 5\), got bool \(True\)"),
    ("clf pad_id str", lambda: fr.SequenceClassifier(2, vocab_size=5, pad_id="0"), TypeError, r"pad_id must be None or an id in \[0, 5\), got str \('0'\)"),
    ("clf id beyond int64", lambda: _clf().predict([BIG_ID]), ValueError, r"X\[0\] must hold ids in \[0, 5\), got values in \[1, 9223372036854775809\]"),
    ("clf ids array beyond int64", lambda: _clf().predict(BIG_ID[None]), ValueError, r"X\[0\] must hold ids in \[0, 5\), got values in \[1, 9223372036854775809\]"),
    ("clf y beyond int64", lambda: _clf().fit([[1]], BIG_ID[1:], **FIT), ValueError, r"y must hold labels in \[0, 2\), got values in \[9223372036854775809, 9223372036854775809\]"),
    ("clf doutputs scalar", lambda: _clf().forward_train(np.array([[1]]))[1](1.0), ValueError, r"doutputs must have the outputs' shape \(1, 2\), got \(\)"),
    ("fit checkpoint int", lambda: _clf().fit([[1], [2]], [0, 1], checkpoint=3, **FIT), TypeError, r"checkpoint must be None, a str or an os.PathLike, got int \(3\)"),
    ("fit checkpoint empty", lambda: _clf().fit([[1], [2]], [0, 1], checkpoint="", **FIT), ValueError, "checkpoint must be a file path, got ''"),
    ("fit checkpoint missing folder", lambda: _clf().fit([[1], [2]], [0, 1], checkpoint=MISSING, **FIT), ValueError, r"checkpoint must be a file path this process can write, got .*m.frnn' \('.*no-such-folder' does not exist\)"),
    ("fit checkpoint a folder", lambda: _clf().fit([[1], [2]], [0, 1], checkpoint=os.path.dirname(os.path.abspath(__file__)), **FIT), ValueError, r"checkpoint must be a file path this process can write, got .* is a folder\)"),
    ("fit checkpoint in a file", lambda: _clf().fit([[1], [2]], [0, 1], checkpoint=IN_A_FILE, **FIT), ValueError, r"checkpoint must be a file path this process can write, got .*test_bad_input.py' is not a folder\)"),
    # tagger, regressor
    ("tagger y count", lambda: _tagger().fit([[1, 2], [3]], [[0, 1]], **FIT), ValueError, r"y must hold one tag list per sequence \(2\), got 1"),
    ("tagger y steps", lambda: _tagger().fit([[1, 2], [3]], [[0], [1]], **FIT), ValueError, r"y\[0\] must have one tag per step \(2\), got 1"),
    ("tagger tag range", lambda: _tagger().fit([[1, 2], [3]], [[0, 3], [1]], **FIT), ValueError, r"y\[0\] must hold ids in \[0, 3\), got values in \[0, 3\]"),
    ("tagger predict None", lambda: _tagger().predict(None), TypeError, "X must be a list of sequences or a numpy array, got NoneType"),
    ("tagger y float", lambda: _tagger().fit([[1, 2], [3]], [[0.0, 1.0], [1.0]], **FIT), TypeError, r"y\[0\] must hold integer tag labels, got dtype float64"),
    ("tagger y float array", lambda: _tagger().fit([[1, 2]], np.zeros((1, 2)), **FIT), TypeError, r"y\[0\] must hold integer tag labels, got dtype float64"),
    ("tagger y nested", lambda: _tagger().fit([[1, 2]], [[[0], [1]]], **FIT), ValueError, r"y\[0\] must be 1-D \(a list of tag labels\), got shape \(2, 1\)"),
    ("regressor y shape", lambda: _regressor().fit([np.zeros((3, 2))], np.zeros((2, 2)), **FIT), ValueError, r"y must have shape \(1, 1, 2\) or \(1, 2\), got \(2, 2\)"),
    ("regressor y complex", lambda: _regressor().fit([np.zeros((3, 2))], np.zeros((1, 2), complex), **FIT), TypeError, r"y must be a float array \(real numbers\), got dtype complex128"),
    ("regressor y None", lambda: _regressor().fit([np.zeros((3, 2))], None, **FIT), TypeError, "y is required: the values to predict, got None"),
    ("regressor X features", lambda: _regressor().predict([np.zeros((3, 3))]), ValueError, r"X\[0\] must have shape \(T, 2\), got \(3, 3\)"),
    ("regressor forecast steps", lambda: _regressor().forecast(np.zeros((3, 2)), 0), ValueError, "steps must be >= 1, got 0"),
    ("regressor forecast context", lambda: _regressor().forecast(np.zeros((3, 3)), 2), ValueError, r"context must have shape \(T, 2\), got \(3, 3\)"),
    ("regressor empty context", lambda: _regressor().forecast(np.zeros((0, 2)), 2), ValueError, r"context must have at least 1 step\(s\), got 0"),
    ("regressor horizon 0", lambda: fr.SequenceRegressor(2, horizon=0), ValueError, "horizon must be >= 1, got 0"),
    ("regressor forecast absurd steps", lambda: _regressor().forecast(np.zeros((3, 2)), 10**12), ValueError, r"steps=1000000000000 \(output_size 2, float32\) needs 8000000000000 bytes"),
    ("regressor doutputs scalar", lambda: _regressor().forward_train(np.zeros((3, 1, 2)))[1](1.0), ValueError, r"doutputs must have the outputs' shape \(1, 1, 2\), got \(\)"),
    # language model
    ("lm id out of vocabulary", lambda: _lm().fit([[1, 7]], **FIT), ValueError, r"X\[0\] must hold ids in \[0, 5\), got values in \[1, 7\]"),
    ("lm conditions unexpected", lambda: _lm().fit([[1, 2]], conditions=np.zeros((1, 2)), **FIT), ValueError, r"conditions must be None \(this model has no condition_size\)"),
    ("lm conditions missing", lambda: _lm(condition_size=3).fit([[1, 2]], **FIT), TypeError, "conditions is required"),
    ("lm num_samples 0", lambda: _lm().generate(num_samples=0), ValueError, "num_samples must be >= 1, got 0"),
    ("lm max_len 0", lambda: _lm().generate(max_len=0), ValueError, "max_len must be >= 1, got 0"),
    ("lm temperature str", lambda: _lm().generate(temperature="1"), TypeError, r"temperature must be a number >= 0, got str \('1'\)"),
    ("lm temperature nan", lambda: _lm().generate(temperature=float("nan")), ValueError, "temperature must be a number >= 0, got nan"),
    ("lm top_k 0", lambda: _lm().generate(top_k=0), ValueError, "top_k must be >= 1, got 0"),
    ("lm prompt out of vocabulary", lambda: _lm().generate(prompt=[9]), ValueError, r"prompt must hold ids in \[0, 5\), got values in \[9, 9\]"),
    ("lm prompt negative", lambda: _lm().generate(prompt=[3, -1]), ValueError, r"prompt must hold ids in \[0, 5\), got values in \[-1, 3\]"),
    ("lm prompt float", lambda: _lm().generate(prompt=[1.5]), TypeError, "prompt must hold integer token ids, got dtype float64"),
    ("lm prompt scalar", lambda: _lm().generate(prompt=3), ValueError, r"prompt must be 1-D \(a list of token ids\), got shape \(\)"),
    ("lm no prompt, no sos", lambda: fr.LanguageModel(5, embed_size=4, hidden_size=4).generate(), ValueError, "generate needs a prompt when the model has no sos_id"),
    ("lm condition missing", lambda: _lm(condition_size=3).generate(max_len=2), TypeError, "condition is required: the model was built with condition_size=3"),
    ("lm condition shape", lambda: _lm(condition_size=3).generate(condition=np.zeros(4)), ValueError, r"condition must have shape \(3,\) or \(1, 3\), got \(4,\)"),
    ("lm condition rows", lambda: _lm(condition_size=3).generate(2, condition=np.zeros((3, 3))), ValueError, r"condition must have shape \(3,\) or \(2, 3\), got \(3, 3\)"),
    ("lm sos_id range", lambda: fr.LanguageModel(5, sos_id=5), ValueError, r"sos_id must be None or an id in \[0, 5\), got 5"),
    ("lm sos_id bool", lambda: fr.LanguageModel(5, sos_id=True), TypeError, r"sos_id must be None or an id in \[0, 5\), got bool \(True\)"),
    ("lm pad_id bool", lambda: fr.LanguageModel(5, pad_id=True), TypeError, r"pad_id must be None or an id in \[0, 5\), got bool \(True\)"),
    ("lm pad_id = sos_id", lambda: fr.LanguageModel(5, sos_id=1, pad_id=1), ValueError, "sos_id, eos_id and pad_id must differ, got 1, None, 1"),
    ("lm sos_id = eos_id", lambda: fr.LanguageModel(5, sos_id=2, eos_id=2, pad_id=0), ValueError, "sos_id, eos_id and pad_id must differ, got 2, 2, 0"),
    ("lm prompt beyond int64", lambda: _lm().generate(prompt=BIG_ID), ValueError, r"prompt must hold ids in \[0, 5\), got values in \[1, 9223372036854775809\]"),
    ("lm absurd max_len", lambda: _lm().generate(max_len=10**12), ValueError, r"num_samples=1, max_len=1000000000000 needs \d+ bytes"),
    ("lm absurd num_samples", lambda: _lm().generate(num_samples=10**11, max_len=5), ValueError, r"num_samples=100000000000, max_len=5 needs \d+ bytes"),
    # seq2seq
    ("s2s src/tgt counts", lambda: _s2s().fit([[3, 4]], [[3], [4]], **FIT), ValueError, r"tgt_seqs must hold one sequence per source \(1\), got 2"),
    ("s2s tgt None", lambda: _s2s().fit([[3, 4]], None, **FIT), TypeError, "tgt_seqs is required"),
    ("s2s tgt id range", lambda: _s2s().fit([[3, 4]], [[6]], **FIT), ValueError, r"tgt_seqs\[0\] must hold ids in \[0, 6\), got values in \[6, 6\]"),
    ("s2s teacher_forcing 2", lambda: _s2s().fit([[3]], [[3]], teacher_forcing=2, **FIT), ValueError, r"teacher_forcing must be a float in \[0, 1\], got 2"),
    ("s2s src id range", lambda: _s2s().translate([[7]]), ValueError, r"src_seqs\[0\] must hold ids in \[0, 6\), got values in \[7, 7\]"),
    ("s2s negative id", lambda: _s2s().translate([[-1]]), ValueError, r"src_seqs\[0\] must hold ids in \[0, 6\), got values in \[-1, -1\]"),
    ("s2s float ids", lambda: _s2s().translate([[1.5]]), TypeError, r"src_seqs\[0\] must hold integer token ids, got dtype float64"),
    ("s2s empty source", lambda: _s2s().translate([[]]), ValueError, r"src_seqs\[0\] must have at least 1 token\(s\), got 0"),
    ("s2s translate nothing", lambda: _s2s().translate([]), ValueError, "src_seqs must hold at least one sequence, got none"),
    ("s2s translate None", lambda: _s2s().translate(None), TypeError, "src_seqs must be a list of sequences or a numpy array, got NoneType"),
    ("s2s beam_size 0", lambda: _s2s().translate([[3]], beam_size=0), ValueError, "beam_size must be >= 1, got 0"),
    ("s2s beam_size float", lambda: _s2s().translate([[3]], beam_size=2.0), TypeError, r"beam_size must be an int, got float \(2.0\)"),
    ("s2s length_penalty str", lambda: _s2s().translate([[3]], beam_size=2, max_len=2, length_penalty="x"), TypeError, r"length_penalty must be a real number, got str \('x'\)"),
    ("s2s length_penalty greedy", lambda: _s2s().translate([[3]], max_len=2, length_penalty="x"), TypeError, r"length_penalty must be a real number, got str \('x'\)"),
    ("s2s length_penalty nan", lambda: _s2s().translate([[3]], beam_size=2, max_len=2, length_penalty=float("nan")), ValueError, "length_penalty must be finite, got nan"),
    ("s2s attention weights", lambda: _s2s().translate([[3]], return_attention=True), ValueError, "return_attention=True needs a model with attention"),
    ("s2s batch sizes", lambda: _s2s()(np.array([[3, 4]]), np.array([[1]])), ValueError, "src and tgt must have the same batch size, got 2 and 1"),
    ("s2s ids differ", lambda: fr.Seq2Seq(6, 6, 4, 4, sos_id=1, eos_id=1), ValueError, "sos_id, eos_id and pad_id must differ, got 1, 1, 0"),
    ("s2s pad_id bool", lambda: fr.Seq2Seq(6, 6, 4, 4, pad_id=True), TypeError, r"pad_id must be an id in \[0, 6\), got bool \(True\)"),
    ("s2s sos_id float", lambda: fr.Seq2Seq(6, 6, 4, 4, sos_id=1.0), TypeError, r"sos_id must be an id in \[0, 6\), got float \(1.0\)"),
    ("s2s tgt float", lambda: _s2s().fit([[3, 4]], [[3.0]], **FIT), TypeError, r"tgt_seqs\[0\] must hold integer target token ids, got dtype float64"),
    ("s2s src beyond int64", lambda: _s2s().translate([BIG_ID]), ValueError, r"src_seqs\[0\] must hold ids in \[0, 6\), got values in \[1, 9223372036854775809\]"),
    ("s2s call src beyond int64", lambda: _s2s()(BIG_ID[:, None], np.array([[1], [3]])), ValueError, r"src must lie in \[0, 6\), got values in \[1, 9223372036854775809\]"),
    ("s2s absurd max_len", lambda: _s2s().translate([[3]], max_len=10**12), ValueError, r"max_len=1000000000000, beam_size=1 \(batches of 1 sources of up to 1 tokens\) needs \d+ bytes"),
    ("s2s absurd beam_size", lambda: _s2s().translate([[3]], beam_size=10**10), ValueError, r"max_len=50, beam_size=10000000000 .* needs \d+ bytes"),
    ("s2s dlogits scalar", lambda: _s2s().forward_train(np.array([[3]]), np.array([[1]]))[1](np.float32(1)), ValueError, r"dlogits must have the logits' shape \(1, 1, 6\), got \(\)"),
    # losses
    ("cross_entropy int logits", lambda: fr.losses.cross_entropy(np.zeros((2, 3), int), np.array([0, 1])), TypeError, "logits must be a float32 or float64 array, got dtype int64"),
    ("cross_entropy float targets", lambda: fr.losses.cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0])), TypeError, "targets must be an integer array, got dtype float64"),
    ("cross_entropy targets shape", lambda: fr.losses.cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2])), ValueError, r"targets must have shape \(2,\) .* got \(3,\)"),
    ("cross_entropy ignore_index", lambda: fr.losses.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), ignore_index=1.5), TypeError, r"ignore_index must be None or an int, got float \(1.5\)"),
    ("cross_entropy no classes", lambda: fr.losses.cross_entropy(np.zeros((2, 0)), np.array([0, 1])), ValueError, r"logits must have at least one class in its last axis, got shape \(2, 0\)"),
    ("cross_entropy ragged", lambda: fr.losses.cross_entropy([[0.0, 1.0], [2.0]], [0, 1]), TypeError, "logits must be a float32 or float64 array, got list"),
    ("mse ragged target", lambda: fr.losses.mse(np.zeros(2), [[1], [1, 2]]), TypeError, r"target must be a real numeric \(integer or float\) array, got list"),
    ("mse complex target", lambda: fr.losses.mse(np.zeros(3), np.zeros(3, complex)), TypeError, "target must be a real numeric .* got dtype complex128"),
    ("mse int pred", lambda: fr.losses.mse(np.zeros(3, int), np.zeros(3)), TypeError, "pred must be a float32 or float64 array, got dtype int64"),
    ("mse empty", lambda: fr.losses.mse(np.zeros(0), np.zeros(0)), ValueError, r"pred must have at least one element, got shape \(0,\)"),
    # optimizers and clipping
    ("sgd lr nan", lambda: optim.SGD(fr.Linear(2, 2), lr=float("nan")), ValueError, "lr must be finite, got nan"),
    ("sgd lr str", lambda: optim.SGD(fr.Linear(2, 2), lr="0.1"), TypeError, r"lr must be a real number, got str \('0.1'\)"),
    ("sgd momentum < 0", lambda: optim.SGD(fr.Linear(2, 2), lr=0.1, momentum=-1), ValueError, "momentum must be >= 0.0, got -1.0"),
    ("sgd nesterov", lambda: optim.SGD(fr.Linear(2, 2), lr=0.1, nesterov=True), ValueError, "nesterov=True must come with momentum > 0, got momentum=0.0"),
    ("sgd not a module", lambda: optim.SGD(3, lr=0.1), TypeError, "modules must be a module .* got int"),
    ("sgd no modules", lambda: optim.SGD([], lr=0.1), ValueError, "modules must contain at least one module, got an empty sequence"),
    ("sgd bad module in list", lambda: optim.SGD([fr.Linear(2, 2), None], lr=0.1), TypeError, r"modules\[1\] must be a module .* got NoneType"),
    ("rmsprop alpha < 0", lambda: optim.RMSprop(fr.Linear(2, 2), alpha=-0.1), ValueError, "alpha must be >= 0.0, got -0.1"),
    ("rmsprop eps < 0", lambda: optim.RMSprop(fr.Linear(2, 2), eps=-1), ValueError, "eps must be >= 0.0, got -1.0"),
    ("adamw weight_decay < 0", lambda: optim.AdamW(fr.Linear(2, 2), weight_decay=-1), ValueError, "weight_decay must be >= 0.0, got -1.0"),
    ("adamw beta 1", lambda: optim.AdamW(fr.Linear(2, 2), betas=(1.0, 0.9)), ValueError, r"betas\[0\] must be < 1.0, got 1.0"),
    ("adamw betas not a pair", lambda: optim.AdamW(fr.Linear(2, 2), betas=0.9), TypeError, r"betas must be a pair \(beta1, beta2\), got 0.9"),
    ("adam state_dict", lambda: optim.Adam(fr.Linear(2, 2)).load_state_dict({}), ValueError, "state_dict must have keys"),
    ("clip_grad_norm 0", lambda: optim.clip_grad_norm(fr.Linear(2, 2), 0), ValueError, "max_norm must be > 0, got 0.0"),
    ("clip_grad_norm nan", lambda: optim.clip_grad_norm(fr.Linear(2, 2), float("nan")), ValueError, "max_norm must be finite, got nan"),
    ("clip_grad_norm None", lambda: optim.clip_grad_norm(fr.Linear(2, 2), None), TypeError, r"max_norm must be a real number, got NoneType \(None\)"),
    ("clip_grad_value < 0", lambda: optim.clip_grad_value(fr.Linear(2, 2), -1), ValueError, "clip must be > 0, got -1.0"),
    ("clip_grad_value str", lambda: optim.clip_grad_value(fr.Linear(2, 2), "1"), TypeError, r"clip must be a real number, got str \('1'\)"),
    ("clip_grad_value not a module", lambda: optim.clip_grad_value(3, 1.0), TypeError, "modules must be a module .* got int"),
    # runtime
    ("threads < 0", lambda: fr.set_num_threads(-1), ValueError, "n must be >= 1, got -1"),
    ("threads str", lambda: fr.set_num_threads("2"), TypeError, "n must be an int, got str"),
    ("threads None", lambda: fr.set_num_threads(None), TypeError, "n must be an int, got NoneType"),
    ("threads absurd", lambda: fr.set_num_threads(10**9), ValueError, r"n must be <= \d+ .* got 1000000000"),
    # files
    ("save path None", lambda: fr.save(fr.Linear(2, 2), None), TypeError, "save: path must be a str or os.PathLike, got NoneType"),
    ("save path empty", lambda: fr.save(fr.Linear(2, 2), ""), ValueError, "save: path must not be empty"),
    ("save missing folder", lambda: fr.save(fr.Linear(2, 2), os.path.join(os.path.dirname(__file__), "no-such-folder", "m.frnn")), FileNotFoundError, "save: path must be in an existing folder, got .*no-such-folder"),
    ("load path float", lambda: fr.load(3.5), TypeError, "load: path must be a str or os.PathLike, got float"),
    ("load missing file", lambda: fr.load(os.path.join(os.path.dirname(__file__), "no-such-file.frnn")), FileNotFoundError, "no-such-file.frnn"),
    ("load not a model", lambda: fr.load(__file__), fr.FormatError, "not a fastrnn model file: it is not a zip archive"),
    # blocks: Sequential, attention, embedding, cells
    ("Sequential non-module", lambda: fr.Sequential(fr.Linear(2, 2), 3), TypeError, r"Sequential: modules\[1\] must be a fastrnn Module, got int"),
    ("Sequential a list", lambda: fr.Sequential([fr.Linear(2, 2)]), TypeError, r"modules\[0\] must be a fastrnn Module \(pass the modules as separate arguments"),
    ("Sequential dtypes", lambda: fr.Sequential(fr.Linear(2, 2), fr.Linear(2, 2, dtype="float64")), ValueError, r"must share one dtype, got \['float32', 'float64'\]"),
    ("SelfAttention heads", lambda: fr.SelfAttention(6, num_heads=4), ValueError, "num_heads must divide embed_size 6, got 4"),
    ("SelfAttention heads 0", lambda: fr.SelfAttention(6, num_heads=0), ValueError, "num_heads must be >= 1, got 0"),
    ("SelfAttention heads float", lambda: fr.SelfAttention(6, num_heads=2.0), TypeError, r"num_heads must be an int, got float \(2.0\)"),
    ("SelfAttention x", lambda: fr.SelfAttention(4)(np.zeros((2, 4))), ValueError, r"x must have shape \(B, T, 4\) \(batch first\), got \(2, 4\)"),
    ("SelfAttention T = 0", lambda: fr.SelfAttention(4)(np.zeros((2, 0, 4))), ValueError, r"x must have at least one time step, got shape \(2, 0, 4\)"),
    ("SelfAttention mask", lambda: fr.SelfAttention(4)(np.zeros((1, 2, 4)), mask=np.ones((1, 3), bool)), ValueError, r"mask must have shape \(1, 2\) or \(1, 2, 2\), got \(1, 3\)"),
    ("SelfAttention absurd", lambda: fr.SelfAttention(10**6), MemoryError, r"SelfAttention\(embed_size=1000000, num_heads=1\) needs .* GiB"),
    ("GeneralAttention absurd", lambda: fr.GeneralAttention(10**6, 10**6), MemoryError, r"GeneralAttention\(query_size=1000000, key_size=1000000\) needs .* GiB"),
    ("AdditiveAttention absurd", lambda: fr.AdditiveAttention(4, 4, 10**12), MemoryError, r"AdditiveAttention\(.*attn_size=1000000000000\) needs .* GiB"),
    ("attention keys batch", lambda: fr.DotAttention()(np.zeros((2, 4)), np.zeros((1, 3, 4))), ValueError, r"keys must have the query's batch size 2 in its first axis, got shape \(1, 3, 4\)"),
    ("attention Tk = 0", lambda: fr.DotAttention()(np.zeros((1, 4)), np.zeros((1, 0, 4))), ValueError, r"keys must have at least one step \(Tk >= 1\)"),
    ("attention mask float", lambda: fr.DotAttention()(np.zeros((1, 4)), np.zeros((1, 3, 4)), mask=np.full((1, 3), 0.5)), TypeError, "mask must be a bool array .* got dtype float64"),
    ("Embedding absurd", lambda: fr.Embedding(10**12, 4), MemoryError, r"Embedding\(1000000000000, 4\) needs .* GiB"),
    ("Embedding padding_idx", lambda: fr.Embedding(5, 2, padding_idx=5), ValueError, r"padding_idx must be in \[-5, 5\), got 5"),
    ("Embedding None ids", lambda: fr.Embedding(5, 2)(None), TypeError, "ids must be an integer array, got dtype object"),
    ("Embedding id beyond int64", lambda: fr.Embedding(5, 2)(BIG_ID), ValueError, r"ids must lie in \[0, 5\), got values in \[1, 9223372036854775809\]"),
    ("Embedding dout scalar", lambda: fr.Embedding(5, 2).forward_train(np.array([1]))[1](1.0), ValueError, r"dout must have shape \(1, 2\), got \(\)"),
    ("Linear dy scalar", lambda: fr.Linear(2, 2).forward_train(np.zeros((1, 2)))[1](1.0), ValueError, r"dy must have shape \(1, 2\), got \(\)"),
    ("F dout scalar", lambda: F.recurrent_train("lstm", X, *W)[1](1.0), ValueError, r"dout must have shape \(3, 2, 5\), got \(\)"),
    ("cell absurd", lambda: fr.LSTMCell(4, 10**7), MemoryError, r"LSTMCell\(4, 10000000\) needs .* GiB"),
    # datasets
    ("adding_problem n 0", lambda: ds.adding_problem(0), ValueError, "n must be >= 1, got 0"),
    ("adding_problem n < 0", lambda: ds.adding_problem(-1), ValueError, "n must be >= 1, got -1"),
    ("adding_problem n float", lambda: ds.adding_problem(2.0), TypeError, r"n must be an int, got float \(2.0\)"),
    ("adding_problem length 1", lambda: ds.adding_problem(2, length=1), ValueError, "length must be >= 2, got 1"),
    ("adding_problem absurd", lambda: ds.adding_problem(10**12), MemoryError, r"adding_problem\(n=1000000000000, length=100\) needs .* GiB"),
    ("sentiment min > max", lambda: ds.sentiment(2, min_len=5, max_len=3), ValueError, "min_len must be <= max_len, got min_len=5 > max_len=3"),
    ("sentiment absurd", lambda: ds.sentiment(10, max_len=10**12), MemoryError, r"sentiment\(n=10, .*max_len=1000000000000\) needs .* GiB"),
    ("sine_wave period 0", lambda: ds.sine_wave(10, period=0), ValueError, "period must be > 0.0, got 0.0"),
    ("sine_wave noise < 0", lambda: ds.sine_wave(10, noise=-1), ValueError, "noise must be >= 0.0, got -1.0"),
    ("sine_wave absurd", lambda: ds.sine_wave(10**13), MemoryError, r"sine_wave\(n_steps=10000000000000\) needs .* GiB"),
    ("dataset seed str", lambda: ds.sine_wave(5, noise=0.1, seed="x"), TypeError, "seed must be None, an int or a numpy Generator, got str"),
    ("ar_process unstable", lambda: ds.ar_process(10, coefficients=(2.0,)), ValueError, "coefficients must define a stationary AR process"),
    ("ar_process no coefficients", lambda: ds.ar_process(10, coefficients=()), ValueError, r"coefficients must be a non-empty 1-D sequence, got shape \(0,\)"),
    ("ar_process absurd", lambda: ds.ar_process(10**13), MemoryError, r"ar_process\(n_steps=10000000000000\) needs .* GiB"),
    ("sliding_windows window 0", lambda: ds.sliding_windows(np.zeros(10), 0), ValueError, "window must be >= 1, got 0"),
    ("sliding_windows short", lambda: ds.sliding_windows(np.zeros(3), 3), ValueError, r"series must have at least window \+ horizon = 4 steps, got 3"),
    ("sliding_windows None", lambda: ds.sliding_windows(None, 3), TypeError, "series must be a real numeric array, got dtype object"),
    ("sliding_windows 3-D", lambda: ds.sliding_windows(np.zeros((3, 3, 3)), 1), ValueError, r"series must be 1-D \(T,\) or 2-D \(T, F\), got shape \(3, 3, 3\)"),
    ("sliding_windows absurd", lambda: ds.sliding_windows(np.zeros(10**6), 5 * 10**5), MemoryError, r"sliding_windows\(window=500000, horizon=1\) of 1000000 steps needs .* GiB"),
    ("load_text name", lambda: ds.load_text("nope"), ValueError, "name must be one of .* got 'nope'"),
    ("char_vocab empty", lambda: ds.char_vocab(""), ValueError, "text must be non-empty, got ''"),
    ("decode_chars range", lambda: ds.decode_chars([5], "ab"), ValueError, r"ids must be in \[0, 2\) \(the alphabet's length\), got 5"),
    ("dates n str", lambda: ds.dates("3"), TypeError, r"n must be an int, got str \('3'\)"),
    ("dates absurd", lambda: ds.dates(10**13), MemoryError, r"dates\(n=10000000000000\) needs .* GiB"),
    ("char_tokenizer specials", lambda: ds.char_tokenizer(["ab"], specials=("<pad>",)), ValueError, "specials must hold at least 3 tokens"),
    ("char_tokenizer texts", lambda: ds.char_tokenizer([1, 2]), TypeError, "texts must hold str, got int at index 0"),
    ("tokenizer unknown char", lambda: ds.char_tokenizer(["ab"]).encode("abc"), ValueError, "character 'c' .* is not in the tokenizer's vocabulary"),
    ("reverse_task vocab_size", lambda: ds.reverse_task(2, vocab_size=3), ValueError, "vocab_size must be >= 4, got 3"),
    ("reverse_task absurd", lambda: ds.reverse_task(10**13), MemoryError, r"reverse_task\(n=10000000000000, .*\) needs .* GiB"),
    # frozen modules and streams
    ("freeze not a module", lambda: fr.freeze(np.zeros(3)), TypeError, "freeze: module must be a fastrnn Module, got ndarray"),
    ("freeze unsupported", lambda: fr.freeze(fr.DotAttention()), TypeError, "freeze: DotAttention cannot be frozen yet"),
    ("freeze attention", lambda: fr.freeze(fr.SelfAttention(4, 2)), TypeError, "freeze: SelfAttention cannot be frozen yet"),
    ("frozen model trains", lambda: fr.freeze(_clf()).fit([[1, 2]], [0]), AttributeError, "a frozen SequenceClassifier has no attribute 'fit'"),
    ("frozen x features", lambda: fr.freeze(fr.LSTM(4, 5))(np.zeros((3, 2, 5))), ValueError, "input_size 4 .* got 5"),
    ("frozen lengths", lambda: fr.freeze(fr.GRU(4, 5))(X, lengths=[4, 1]), ValueError, r"lengths must lie in \[0, 3\]"),
    ("frozen cell state", lambda: fr.freeze(fr.LSTMCell(4, 5))(np.zeros((2, 4)), (np.zeros((3, 5)), None)), ValueError, r"h must have shape \(2, 5\)"),
    ("stream bidirectional", lambda: fr.freeze(fr.LSTM(4, 5, bidirectional=True)).stream(), ValueError, "stream: a bidirectional layer cannot be stepped"),
    ("stream batch 0", lambda: fr.freeze(fr.GRU(4, 5)).stream(0), ValueError, "batch_size must be >= 1, got 0"),
    ("stream batch float", lambda: fr.freeze(fr.GRU(4, 5)).stream(1.5), TypeError, "batch_size must be an int"),
    ("freeze precision type", lambda: fr.freeze(fr.LSTM(4, 5), 8), TypeError, "precision must be None or a str .* got int"),
    ("freeze precision name", lambda: fr.freeze(fr.LSTM(4, 5), "fp16"), ValueError, "precision must be None, 'float32' .* got 'fp16'"),
    ("freeze int8 float64", lambda: fr.freeze(fr.GRU(4, 5, dtype="float64"), "int8"), ValueError, "precision='int8' needs a float32 GRU; this one is float64"),
    ("freeze int8 linear", lambda: fr.freeze(fr.Linear(4, 5), "int8"), ValueError, "a frozen Linear keeps its weights in float32"),
    ("freeze int8 inf weight", lambda: fr.freeze(_with_inf_weight(fr.RNN(4, 5)), "int8"), ValueError, "w_ih holds inf or NaN"),
    ("freeze int8 too wide", lambda: fr.freeze(fr.GRU(65537, 1), "int8"), ValueError, "sums in int32: input_size and hidden_size must be at most 65536, got 65537 and 1"),
    ("stream x shape", lambda: fr.freeze(fr.RNN(4, 5)).stream(2).step(np.zeros((3, 4))), ValueError, r"x must have shape \(batch_size, input_size\) = \(2, 4\), got \(3, 4\)"),
    ("stream x 1-D", lambda: fr.freeze(fr.RNN(4, 5)).stream(1).step(np.zeros(4)), ValueError, r"x must have shape .* got \(4,\)"),
    ("stream x complex", lambda: fr.freeze(fr.RNN(4, 5)).stream(1).step(np.zeros((1, 4), complex)), TypeError, "dtype complex128"),
    ("stream reset rows range", lambda: fr.freeze(fr.LSTM(4, 5)).stream(2).reset([2]), ValueError, r"rows must index the 2 streams, got 2 \.\. 2"),
    ("stream reset rows float", lambda: fr.freeze(fr.LSTM(4, 5)).stream(2).reset([0.5]), TypeError, "rows must be integer indices or a boolean mask, got dtype float64"),
    ("stream reset mask shape", lambda: fr.freeze(fr.LSTM(4, 5)).stream(2).reset([True]), ValueError, r"rows: a boolean mask must have shape \(2,\), got \(1,\)"),
    ("stream state shape", lambda: setattr(fr.freeze(fr.GRU(4, 5, num_layers=2)).stream(3), "state", np.zeros((1, 3, 5))), ValueError, r"h must have shape \(2, 3, 5\)"),
    ("stream state LSTM not a tuple", lambda: setattr(fr.freeze(fr.LSTM(4, 5)).stream(1), "state", np.zeros((1, 1, 5))), TypeError, r"state must be a tuple \(h, c\)"),
    ("stream state None", lambda: setattr(fr.freeze(fr.GRU(4, 5)).stream(1), "state", None), TypeError, r"state must be given in full \(h\), got None"),
    ("pack_direction mode", lambda: F.pack_direction("elman", *W), ValueError, "mode must be one of"),
    ("to_onnx not a module", lambda: fr.to_onnx([1]), TypeError, "to_onnx: module must be a fastrnn Module"),
    ("to_onnx float64", lambda: fr.to_onnx(fr.GRU(3, 4, dtype="float64")), TypeError, "to_onnx: exports float32 modules"),
    ("to_onnx cell", lambda: fr.to_onnx(fr.GRUCell(3, 4)), TypeError, "to_onnx: cannot export GRUCell"),
    ("to_onnx lengths on Linear", lambda: fr.to_onnx(fr.Linear(3, 4), lengths=True), ValueError, "initial_state and lengths apply to a recurrent layer"),
    ("to_onnx path folder missing", lambda: fr.to_onnx(fr.GRU(3, 4), MISSING), ValueError, "to_onnx: path must be in an existing folder"),
    ("batched batch_size 0", lambda: fr.freeze(fr.GRU(4, 5)).batched(X, batch_size=0), ValueError, "batch_size must be >= 1, got 0"),
    ("batched 2-D", lambda: fr.freeze(fr.GRU(4, 5)).batched(np.zeros((3, 4))), ValueError, r"x must be 3-D \(T, B, input_size\), got shape \(3, 4\)"),
    ("batched progress", lambda: fr.freeze(fr.GRU(4, 5)).batched(X, progress="yes"), TypeError, "progress must be a bool"),
    ("batched lengths", lambda: fr.freeze(fr.GRU(4, 5)).batched(X, lengths=[9, 1]), ValueError, r"lengths must lie in \[0, 3\]"),
    ("from_onnx not a model", lambda: fr.from_onnx(3.5), TypeError, "from_onnx: model must be an onnx.ModelProto or a path, got float"),
    ("from_onnx missing file", lambda: fr.from_onnx(MISSING), ValueError, "from_onnx: model must be an existing .onnx file"),
    ("from_onnx not onnx", lambda: fr.from_onnx(os.path.abspath(__file__)), ValueError, "is not an ONNX model"),
    ("from_keras not a layer", lambda: fr.from_keras(3), TypeError, "from_keras: layer must be a Keras layer or keras.Sequential, got int"),
    ("pack_direction w_hh", lambda: F.pack_direction("lstm", W[0], np.zeros((20, 4), np.float32)), ValueError, r"w_hh must have shape \(20, 5\)"),
]

# The command line: a bad argument exits with status 2 and one clear line on
# stderr (argparse's own errors, or the command's checks), never a traceback.
NOT_A_FOLDER = os.path.join(os.path.abspath(__file__), "sub")
CLI_CASES = [
    ("shape 3 numbers", ["bench", "--shapes", "1,2,3"], r"argument --shapes: expected B,T,I,H \(four integers\), got '1,2,3'"),
    ("shape not numbers", ["bench", "--shapes", "1,2,3,x"], "argument --shapes: expected B,T,I,H"),
    ("shape 0", ["bench", "--shapes", "0,2,3,4"], "B,T,I,H must be positive, got '0,2,3,4'"),
    ("shapes none given", ["bench", "--shapes"], "argument --shapes: expected at least one argument"),
    ("shape absurd", ["bench", "--shapes", "100000,100000,100000,100000"], r"B,T,I,H must keep T\*B\*max\(I, 4\*H\) <= 2147483647"),
    ("threads 0", ["bench", "--threads", "0"], "--threads must be >= 1, got 0"),
    ("threads < 0", ["bench", "--threads", "-1"], "--threads must be >= 1, got -1"),
    ("threads float", ["bench", "--threads", "2.5"], "argument --threads: invalid int value: '2.5'"),
    ("threads absurd", ["bench", "--threads", "1000000"], r"--threads must be <= \d+, got 1000000"),
    ("rounds 0", ["bench", "--rounds", "0"], "--rounds must be >= 1, got 0"),
    ("rounds < 0", ["bench", "--rounds", "-1"], "--rounds must be >= 1, got -1"),
    ("unknown cell", ["bench", "--cells", "lstm,transformer"], r"--cells must name some of \('lstm', 'gru', 'rnn'\), got 'lstm,transformer'"),
    ("no cell", ["bench", "--cells", ","], "--cells must name some of"),
    ("unknown mode", ["bench", "--mode", "fast"], "argument --mode: invalid choice: 'fast'"),
    ("json folder missing", ["bench", "--json", "/no-such-folder/bench.json"], "--json must be in an existing folder, got '/no-such-folder/bench.json'"),
    ("plot is a folder", ["bench", "--plot", os.path.dirname(os.path.abspath(__file__))], "--plot must be a file path, got the folder"),
    ("json is a folder", ["bench", "--json", os.path.dirname(os.path.abspath(__file__))], "--json must be a file path, got the folder"),
    ("json in a file", ["bench", "--json", NOT_A_FOLDER], r"--json must be in an existing folder, got '.*sub' \('.*test_bad_input.py' is not a folder\)"),
    ("plot in a file", ["bench", "--plot", NOT_A_FOLDER], r"--plot must be in an existing folder, got '.*sub' \('.*test_bad_input.py' is not a folder\)"),
    ("unknown demo", ["demo", "translate"], "argument name: invalid choice: 'translate'"),
    ("demo name missing", ["demo"], "the following arguments are required: name"),
    ("demo epochs 0", ["demo", "dates", "--epochs", "0"], "--epochs must be >= 1, got 0"),
    ("demo n < 0", ["demo", "reverse", "--n", "-3"], "--n must be >= 1, got -3"),
    ("demo seed < 0", ["demo", "dates", "--seed", "-1"], "--seed must be >= 0, got -1"),
    ("demo out empty", ["demo", "dates", "--out", ""], "--out must be a folder, got ''"),
    ("demo out not a folder", ["demo", "dates", "--out", NOT_A_FOLDER], "--out must be a folder that can be created"),
    ("demo n absurd", ["demo", "dates", "--n", "10000000000000", "--no-plot", "--no-progress"], r"--n 10000000000000: dates\(n=10000000001000\) needs .* GiB"),
    ("unknown command", ["train"], "argument command: invalid choice: 'train'"),
    ("no command", [], "the following arguments are required: command"),
]


@pytest.mark.parametrize("name, call, error, message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_error(name, call, error, message):
    before = fr.get_num_threads()
    try:
        with pytest.raises(error, match=message):
            call()
    finally:
        fr.set_num_threads(before)


@pytest.mark.parametrize("name, argv, message", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_bad_command_line_exits_2_with_a_clear_message(name, argv, message, capsys):
    before = fr.get_num_threads()
    try:
        status = cli.main(argv)
    except SystemExit as exc:    # argparse's own errors
        status = exc.code
    finally:
        fr.set_num_threads(before)
    err = capsys.readouterr().err
    assert status == 2, err
    assert "Traceback" not in err
    assert re.search(message, err), err


def test_the_command_exits_2_without_a_traceback(tmp_path):
    # ``python -m fastrnn.cli bench --rounds 0``, with the fastrnn under test
    run = run_python("import runpy, sys; sys.argv = ['fastrnn', 'bench', '--rounds', '0']; "
                     "runpy.run_module('fastrnn.cli', run_name='__main__')", tmp_path, timeout=60)
    assert run.returncode == 2 and "--rounds must be >= 1, got 0" in run.stderr
    assert "Traceback" not in run.stderr


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

"""``fr.from_keras``: Keras 3 recurrent layers (and their stacks) as fastrnn
modules, weights converted.

Keras keeps ``kernel`` (input, G*H) and ``recurrent_kernel`` (H, G*H) with
the gates side by side in columns -- LSTM ``i f c o`` (PyTorch's order),
GRU ``z r h`` (PyTorch: ``r z n``) -- and one bias per gate column (GRU with
``reset_after``: an input and a recurrent row).  fastrnn uses PyTorch's
``(G*H, input)`` layout; the conversion transposes and reorders, nothing
else, so the arithmetic is the same.

Keras is never imported here: the layers are read through their public
``get_config()`` / ``get_weights()`` (any backend).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .layers.dropout import Dropout
from .layers.linear import Linear
from .layers.recurrent import GRU, LSTM, RNN
from .layers.sequential import Sequential

if TYPE_CHECKING:
    import keras

    from .layers.module import Module

_KINDS = {"LSTM": ("lstm", 4), "GRU": ("gru", 3), "SimpleRNN": ("rnn", 1)}
# Keras' gate blocks in PyTorch's order.
_TO_TORCH = {"lstm": [0, 1, 2, 3], "gru": [1, 0, 2], "rnn": [0]}
_MERGES = {"concat": "concat", "sum": "sum", "mul": "mul", "ave": "mean"}
_READABLE = "LSTM, GRU, SimpleRNN, Bidirectional, Dense, Dropout or a Sequential of them"


def from_keras(layer: keras.layers.Layer) -> Module:
    """The fastrnn module computing what a Keras 3 layer or ``Sequential``
    computes, with its weights.

    Parameters
    ----------
    layer : keras layer or keras.Sequential
        ``LSTM``, ``GRU`` (``reset_after`` True or False), ``SimpleRNN``
        (tanh or relu), ``Bidirectional`` of one of those (merge ``concat``,
        ``sum``, ``mul``, ``ave``), ``Dense`` (no activation), ``Dropout``;
        or a ``keras.Sequential`` of them, where consecutive recurrent
        layers of one kind, size and direction become one stacked fastrnn
        layer.  Built (with weights) and float32.

    Returns
    -------
    Module
        Recurrent layers are ``batch_first`` (Keras' layout).  A fastrnn
        layer returns ``(out, state)`` with ``out`` at every step: Keras'
        ``return_sequences=False`` output is its last step, ``out[:, -1]``
        (on a Dense head after it too: take ``y[:, -1]``).  Keras' masking
        (a mask from ``Masking`` or ``Embedding(mask_zero=True)``) is
        fastrnn's ``lengths`` for right-padded rows, except that Keras
        repeats the last valid output over masked steps where fastrnn
        writes zeros; the final states agree.  ``Masking`` layers are
        refused: pass ``lengths`` instead.

    Examples
    --------
    >>> import os
    >>> _ = os.environ.setdefault("KERAS_BACKEND", "torch")   # before keras is imported
    >>> import keras
    >>> import fastrnn as fr
    >>> k = keras.layers.GRU(16, return_sequences=True)
    >>> k.build((None, None, 8))
    >>> fr.from_keras(k)
    GRU(8, 16, batch_first=True)
    """
    if not (hasattr(layer, "get_config") and hasattr(layer, "get_weights")):
        raise TypeError(f"from_keras: layer must be a Keras layer or keras.Sequential, got "
                        f"{_class_name(layer)}")
    if _class_name(layer) == "Sequential" and hasattr(layer, "layers"):
        return _sequential(list(layer.layers))
    return _sequential([layer])


def _class_name(obj):
    return type(obj).__name__


def _fail(layer, why):
    name = getattr(layer, "name", "?")
    raise ValueError(f"from_keras: layer {name!r} ({_class_name(layer)}): {why}")


def _sequential(layers):
    """Consecutive compatible recurrent layers stacked; the rest one by one."""
    modules, run = [], []

    def flush():
        if run:
            modules.append(_stack(run))
            run.clear()

    for layer in layers:
        kind = _recurrent_kind(layer)
        if kind is not None:
            if run and _stack_key(run[-1]) != _stack_key(layer):
                flush()
            run.append(layer)
            continue
        flush()
        modules.append(_other(layer))
    flush()
    return modules[0] if len(modules) == 1 else Sequential(*modules)


def _recurrent_kind(layer):
    name = _class_name(layer)
    if name == "Bidirectional":
        inner = _class_name(getattr(layer, "forward_layer", None))
        if inner not in _KINDS:
            _fail(layer, f"wraps a {inner}; fastrnn reads Bidirectional LSTM, GRU or SimpleRNN")
        return _KINDS[inner][0]
    return _KINDS[name][0] if name in _KINDS else None


def _directions(layer):
    """(forward layer, backward layer or None, merge mode)."""
    if _class_name(layer) != "Bidirectional":
        return layer, None, "concat"
    merge = layer.merge_mode
    if merge not in _MERGES:
        _fail(layer, f"merges with {merge!r} (fastrnn: concat, sum, mul, ave)")
    return layer.forward_layer, layer.backward_layer, _MERGES[merge]


def _stack_key(layer):
    fwd, bwd, merge = _directions(layer)
    c = fwd.get_config()
    return (_class_name(fwd), c["units"], bwd is not None, merge, c.get("reset_after"),
            c.get("activation"), c.get("use_bias"))


def _check_recurrent(layer, backward=False):
    """Refuse what fastrnn's layer cannot compute (``backward``: the reverse
    half of a Bidirectional, which must run backwards)."""
    c = layer.get_config()
    name = _class_name(layer)
    if not layer.built or not layer.get_weights():
        _fail(layer, "is not built (call it once or build(input_shape) first)")
    dtype = c.get("dtype")
    dtype = dtype.get("config", {}).get("name") if isinstance(dtype, dict) else dtype
    if dtype not in (None, "float32"):
        _fail(layer, f"computes in {dtype} (fastrnn reads float32 layers)")
    if bool(c.get("go_backwards")) != backward:
        _fail(layer, "runs backwards alone (fastrnn's reverse direction exists only in a "
                     "Bidirectional)" if not backward else
              "is a Bidirectional's backward half that does not run backwards")
    if name == "SimpleRNN":
        if c["activation"] not in ("tanh", "relu"):
            _fail(layer, f"uses activation {c['activation']!r} (fastrnn's RNN: tanh or relu)")
    elif (c["activation"], c["recurrent_activation"]) != ("tanh", "sigmoid"):
        _fail(layer, f"uses activation {c['activation']!r} and recurrent_activation "
                     f"{c['recurrent_activation']!r} (fastrnn's: tanh and sigmoid)")


def _stack(layers):
    """One fastrnn layer from consecutive Keras recurrent layers."""
    fwd0, bwd0, merge = _directions(layers[0])
    mode, G = _KINDS[_class_name(fwd0)]
    c = fwd0.get_config()
    H = c["units"]
    for layer in layers:
        fwd, bwd, _ = _directions(layer)
        _check_recurrent(fwd)
        if bwd is not None:
            _check_recurrent(bwd, backward=True)
    I = fwd0.get_weights()[0].shape[0]
    kw = dict(num_layers=len(layers), bidirectional=bwd0 is not None, merge_mode=merge,
              batch_first=True, bias=bool(c["use_bias"]), seed=0)
    if mode == "gru":
        kw["reset_after"] = bool(c["reset_after"])
    if mode == "rnn":
        kw["nonlinearity"] = c["activation"]
    cls = {"lstm": LSTM, "gru": GRU, "rnn": RNN}[mode]
    out = cls(I, H, **kw)
    order = _TO_TORCH[mode]

    def torch_rows(cols):          # Keras (n, G*H) columns -> PyTorch (G*H, n) rows
        return np.concatenate([cols[:, k * H:(k + 1) * H] for k in order], axis=1).T

    def torch_vec(v):
        return np.concatenate([v[k * H:(k + 1) * H] for k in order])

    for li, layer in enumerate(layers):
        fwd, bwd, _ = _directions(layer)
        for d, part in enumerate([fwd] if bwd is None else [fwd, bwd]):
            weights = part.get_weights()
            w_ih, w_hh, b_ih, b_hh = out.direction_weights(li, d)
            if weights[0].shape != w_ih.T.shape or weights[1].shape != w_hh.T.shape:
                _fail(layer, f"has kernels {weights[0].shape} and {weights[1].shape}, not "
                             f"{w_ih.T.shape} and {w_hh.T.shape} (the layers do not chain)")
            w_ih[...] = torch_rows(weights[0])
            w_hh[...] = torch_rows(weights[1])
            if kw["bias"]:
                bias = np.asarray(weights[2])
                if bias.ndim == 2:          # GRU reset_after: input and recurrent rows
                    b_ih[...], b_hh[...] = torch_vec(bias[0]), torch_vec(bias[1])
                else:
                    b_ih[...], b_hh[...] = torch_vec(bias), 0
    return out


def _other(layer):
    name = _class_name(layer)
    if name == "Dense":
        c = layer.get_config()
        if c.get("activation") not in (None, "linear"):
            _fail(layer, f"applies activation {c['activation']!r} (fastrnn's Linear has none; "
                         "apply it to the output)")
        weights = layer.get_weights()
        if not weights:
            _fail(layer, "is not built")
        kernel = np.asarray(weights[0], np.float32)
        lin = Linear(kernel.shape[0], kernel.shape[1], bias=len(weights) > 1, seed=0)
        lin.load_state_dict({"weight": kernel.T, **({"bias": weights[1]} if len(weights) > 1
                                                   else {})})
        return lin
    if name == "Dropout":
        return Dropout(float(layer.get_config()["rate"]))
    if name == "Masking":
        _fail(layer, "masks steps: pass the rows' lengths to the fastrnn layer instead")
    _fail(layer, f"has no fastrnn equivalent (from_keras reads {_READABLE})")

"""Padding-aware pooling of a recurrent layer's outputs into one vector per
sequence (many-to-one models), with its backward.

* ``"last"``: the state after each sequence's last valid step -- the
  layer's ``h_n`` for the top layer (forward direction: after step
  ``length - 1``; reverse direction: after step 0), concatenated over
  directions.
* ``"mean"``: the mean of the outputs over the valid steps.
* ``"max"``: the elementwise max over the valid steps.

Padded steps never contribute: ``mean`` divides by the true length, ``max``
masks them to ``-inf``, and ``last`` reads ``h_n``, which the kernels freeze
after each sequence's end.
"""
import numpy as np

from ._data import valid_mask

POOLINGS = ("last", "mean", "max")


def _top_layer_rows(rnn):
    """Indices of the top layer's directions in ``h_n``."""
    D = rnn.num_directions
    return slice((rnn.num_layers - 1) * D, rnn.num_layers * D)


def pool(mode, rnn, out, state, lengths):
    """``(pooled (B, D*H), backprop)``; ``backprop(dpooled)`` returns
    ``(dout, dstate)`` for the recurrent layer's backprop.

    ``out`` is ``(T, B, D*H)`` (concat merge) and ``state`` the layer's final
    state (``h_n`` or ``(h_n, c_n)``).
    """
    T, B, W = out.shape
    if mode == "last":
        h_n = state[0] if isinstance(state, tuple) else state
        rows = _top_layer_rows(rnn)
        pooled = np.concatenate(list(h_n[rows]), axis=1)

        def backprop(dpooled):
            dh = np.zeros_like(h_n)
            dh[rows] = dpooled.reshape(B, -1, rnn.hidden_size).transpose(1, 0, 2)
            dstate = (dh, None) if isinstance(state, tuple) else dh
            return np.zeros_like(out), dstate

        return pooled, backprop

    mask = valid_mask(lengths, T)[:, :, None]
    if mode == "mean":
        scale = (1.0 / lengths).astype(out.dtype)[:, None]
        pooled = out.sum(axis=0) * scale   # padded outputs are zeros already

        def backprop(dpooled):
            return np.where(mask, dpooled * scale, 0).astype(out.dtype), None

        return pooled, backprop

    if mode == "max":
        arg = np.where(mask, out, -np.inf).argmax(axis=0)           # (B, W)
        pooled = np.take_along_axis(out, arg[None], axis=0)[0]

        def backprop(dpooled):
            dout = np.zeros_like(out)
            np.put_along_axis(dout, arg[None], dpooled[None].astype(out.dtype), axis=0)
            return dout, None

        return pooled, backprop

    raise ValueError(f"pooling must be one of {POOLINGS}, got {mode!r}")

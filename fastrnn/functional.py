"""Array-level recurrent layers: validate, allocate, call the fused kernels.

One layer, one direction per call; the modules in ``fastrnn.layers`` stack
and merge these.  Arrays are time-major: ``x`` is ``(T, B, I)``.

``mode`` is ``"rnn_tanh"``, ``"rnn_relu"``, ``"lstm"`` or ``"gru"`` (with
``reset_after``).  Weights use PyTorch's layout and gate order:
``w_ih (G*H, I)``, ``w_hh (G*H, H)``, ``b_ih``, ``b_hh (G*H,)`` with G = 1, 4,
3 (RNN, LSTM ``i f g o``, GRU ``r z n``).
"""
import numpy as np

from . import _recurrent
from ._runtime import blas_threads, get_num_threads, num_chunks
from ._validation import as_array, as_lengths, check_blas_size, check_shape, resolve_dtype

__all__ = ["recurrent", "recurrent_train", "MODES", "num_gates"]

MODES = ("rnn_tanh", "rnn_relu", "lstm", "gru")
_GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


def num_gates(mode):
    """Gate blocks per hidden unit: 1 (RNN), 4 (LSTM), 3 (GRU)."""
    return _GATES[mode]


class _Problem:
    """The validated inputs of one layer-direction call (kept by training)."""

    __slots__ = ("mode", "cell", "dtype", "T", "B", "I", "H", "GH", "x", "w_ih", "w_hh",
                 "b_ih", "b_hh", "h0", "c0", "lengths", "steps", "full", "reverse")

    def __init__(self, mode, x, w_ih, w_hh, b_ih, b_hh, hx, cx, lengths, reverse, reset_after):
        if mode not in _GATES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        key = "gru_reset_before" if (mode == "gru" and not reset_after) else mode
        self.cell = _recurrent.CELL_CODES[key]
        w_ih_arr = np.asarray(w_ih)
        self.dtype = dt = resolve_dtype(w_ih_arr.dtype) if w_ih_arr.dtype.kind == "f" else None
        if dt is None:
            raise TypeError(f"w_ih must be a float32 or float64 array, got dtype {w_ih_arr.dtype}")
        self.x = x = as_array(x, "x", dt)
        if x.ndim != 3:
            raise ValueError(f"x must be 3-D (T, B, input_size), got shape {x.shape}")
        T, B, I = x.shape
        if T == 0 or B == 0:
            raise ValueError(f"x must have at least one time step and one batch row, got shape {x.shape}")
        self.w_ih = w_ih = as_array(w_ih_arr, "w_ih", dt)
        if w_ih.ndim != 2 or w_ih.shape[0] % _GATES[mode] or w_ih.shape[0] == 0:
            raise ValueError(f"w_ih must be 2-D ({_GATES[mode]}*hidden_size, input_size), got shape {w_ih.shape}")
        GH = w_ih.shape[0]
        H = GH // _GATES[mode]
        check_shape(w_ih, "w_ih", (GH, I))
        self.w_hh = as_array(w_hh, "w_hh", dt)
        check_shape(self.w_hh, "w_hh", (GH, H))
        if (b_ih is None) != (b_hh is None):
            raise ValueError("b_ih and b_hh must both be given or both be None")
        self.b_ih = self.b_hh = None
        if b_ih is not None:
            self.b_ih = as_array(b_ih, "b_ih", dt)
            self.b_hh = as_array(b_hh, "b_hh", dt)
            check_shape(self.b_ih, "b_ih", (GH,))
            check_shape(self.b_hh, "b_hh", (GH,))
        self.h0 = None if hx is None else as_array(hx, "hx", dt)
        if self.h0 is not None:
            check_shape(self.h0, "hx", (B, H))
        self.c0 = None
        if mode == "lstm" and cx is not None:
            self.c0 = as_array(cx, "cx", dt)
            check_shape(self.c0, "cx", (B, H))
        elif cx is not None:
            raise ValueError(f"cx is only used by mode 'lstm', got it for mode {mode!r}")
        if lengths is None:
            self.lengths = np.full(B, T, dtype=np.intp)
            self.steps, self.full = T, True
        else:
            self.lengths = as_lengths(lengths, B, T)
            self.steps = int(self.lengths.max())
            self.full = bool(self.lengths.min() == T)
        check_blas_size(T * B, max(I, GH), "x @ w_ih^T")
        self.T, self.B, self.I, self.H, self.GH = T, B, I, H, GH
        self.reverse = bool(reverse)

    def folded_bias(self):
        """``b_ih + b_hh``, added once to the input projection (GRU keeps
        ``b_hn`` out: it sits inside ``r * (W_hn h + b_hn)``)."""
        if self.b_ih is None:
            return np.zeros(self.GH, dtype=self.dtype)
        bias = self.b_ih + self.b_hh
        if self.cell == _recurrent.CELL_CODES["gru"]:
            bias[2 * self.H:] = self.b_ih[2 * self.H:]
        return bias

    def input_projection(self):
        """``x @ W_ih^T + bias`` for all steps in one BLAS GEMM."""
        T, B, GH = self.T, self.B, self.GH
        xw = np.empty((T, B, GH), dtype=self.dtype)
        xw[...] = self.folded_bias()
        _recurrent.input_projection(self.x.reshape(T * B, self.I), self.w_ih, xw.reshape(T * B, GH))
        return xw

    def packed_recurrent_weights(self, transposed):
        """The recurrent weight operands of the step kernel, packed once per
        call: W_hh^T for forward, W_hh for backward; GRU reset_after=False
        splits them into the r, z block and W_hn (its two products per step)."""
        w = self.w_hh.T if transposed else self.w_hh
        if self.cell != _recurrent.CELL_CODES["gru_reset_before"]:
            return _recurrent.pack(w), None
        H2 = 2 * self.H
        if transposed:
            return _recurrent.pack(w[:, :H2]), _recurrent.pack(w[:, H2:])
        return _recurrent.pack(w[:H2]), _recurrent.pack(w[H2:])

    def b_hn(self):
        if self.cell != _recurrent.CELL_CODES["gru"]:
            return None
        if self.b_hh is None:
            return np.zeros(self.H, dtype=self.dtype)
        return np.ascontiguousarray(self.b_hh[2 * self.H:])

    def initial_state(self, given):
        return np.zeros((self.B, self.H), dtype=self.dtype) if given is None else given.copy()

    def alloc(self, *shape):
        """Arrays the kernels leave unwritten past each row's length: zeroed
        unless every row runs the full length."""
        return (np.empty if self.full else np.zeros)(shape, dtype=self.dtype)


def _run_forward(p, training):
    """The forward time loop.  With several threads the input projection is
    fused into each step (every thread projects its own rows with the step
    kernel: no BLAS next to the OpenMP loop, no (T, B, G*H) buffer); with one
    batch slice it is hoisted into one BLAS GEMM over all T * B rows, which
    BLAS may thread since no OpenMP region runs beside it."""
    nchunks = num_chunks(p.B)
    T, B, H, GH = p.T, p.B, p.H, p.GH
    width = _recurrent.scratch_width(p.cell, H)
    if nchunks > 1:
        xw = None
        w_ih_t = _recurrent.pack(p.w_ih.T)
        bias = p.folded_bias()
        width += p.I + GH
    else:
        w_ih_t = bias = None
        with blas_threads(get_num_threads()):
            xw = p.input_projection()
    h = p.initial_state(p.h0)
    c = p.initial_state(p.c0) if p.mode == "lstm" else None
    out = p.alloc(T, B, H)
    scratch = np.zeros((B, width), dtype=p.dtype)
    gates = hprev = extra = None
    if training:
        gates = np.empty((T, B, GH), dtype=p.dtype)
        hprev = p.alloc(T, B, H)
        if p.mode in ("lstm", "gru"):
            extra = p.alloc(T, B, H)
    # The time loop calls no BLAS (its step product is csrc/stepgemm.h), so
    # the OpenMP threads never nest with BLAS threads.
    w_hh_t, w_hn_t = p.packed_recurrent_weights(transposed=True)
    _recurrent.forward(p.cell, p.x, w_ih_t, bias, xw, w_hh_t, w_hn_t, p.b_hn(), p.lengths,
                       p.steps, p.reverse, h, c, out, scratch, gates, hprev, extra, nchunks)
    return out, h, c, (gates, hprev, extra)


def recurrent(mode, x, w_ih, w_hh, b_ih=None, b_hh=None, hx=None, cx=None,
              lengths=None, reverse=False, reset_after=True):
    """Run one recurrent layer in one direction (inference: keeps nothing).

    Parameters
    ----------
    mode : {"rnn_tanh", "rnn_relu", "lstm", "gru"}
    x : array_like, shape (T, B, I)
    w_ih, w_hh : array_like, shapes (G*H, I) and (G*H, H)
        Their dtype (float32 or float64) is the computation's; ``x`` and the
        states are cast to it.
    b_ih, b_hh : array_like, shape (G*H,), optional
        Both or neither.
    hx, cx : array_like, shape (B, H), optional
        Initial hidden (and, for LSTM, cell) state; zeros when None.
    lengths : array_like of int, shape (B,), optional
        Valid steps of each row; steps past a length give zeros in ``out``
        and leave the state alone (PyTorch's packed-sequence semantics).
    reverse : bool
        Run right to left over each row's valid part.
    reset_after : bool
        GRU only: PyTorch's ``r * (W_hn h + b_hn)`` (True) or Cho et al.'s
        ``W_hn (r * h) + b_hn`` (False).

    Returns
    -------
    out : ndarray, shape (T, B, H)
    h_n : ndarray, shape (B, H)
    c_n : ndarray, shape (B, H), or None unless ``mode == "lstm"``
    """
    p = _Problem(mode, x, w_ih, w_hh, b_ih, b_hh, hx, cx, lengths, reverse, reset_after)
    out, h, c, _ = _run_forward(p, training=False)
    return out, h, c


def recurrent_train(mode, x, w_ih, w_hh, b_ih=None, b_hh=None, hx=None, cx=None,
                    lengths=None, reverse=False, reset_after=True):
    """Like :func:`recurrent`, keeping the workspace that backward needs.

    Returns
    -------
    (out, h_n, c_n), backprop
        ``backprop(dout=None, dh_n=None, dc_n=None, grads=None)`` returns
        ``(dx, dh0, dc0, grads)``: the gradients w.r.t. ``x``, ``hx`` and
        ``cx`` (``dc0`` is None unless LSTM) and a dict with ``"w_ih"``,
        ``"w_hh"``, ``"b_ih"``, ``"b_hh"``.  Gradients are *added* to the
        arrays of a ``grads`` dict passed in (C-contiguous, the weights'
        dtype and shapes); missing entries are allocated.  None for
        ``dout`` / ``dh_n`` / ``dc_n`` means zeros.  It may be called once.
    """
    p = _Problem(mode, x, w_ih, w_hh, b_ih, b_hh, hx, cx, lengths, reverse, reset_after)
    out, h, c, workspace = _run_forward(p, training=True)
    saved = [p, workspace]

    def backprop(dout=None, dh_n=None, dc_n=None, grads=None):
        if not saved:
            raise RuntimeError("backprop may be called only once (its workspace is freed after use)")
        prob, (gates, hprev, extra) = saved
        dx, dh0, dc0, grads = _run_backward(prob, gates, hprev, extra, dout, dh_n, dc_n, grads)
        saved.clear()
        return dx, dh0, dc0, grads

    return (out, h, c), backprop


def _grad_arrays(p, grads):
    grads = {} if grads is None else grads
    shapes = {"w_ih": p.w_ih.shape, "w_hh": p.w_hh.shape}
    if p.b_ih is not None:
        shapes.update(b_ih=p.b_ih.shape, b_hh=p.b_hh.shape)
    for key, shape in shapes.items():
        g = grads.get(key)
        if g is None:
            grads[key] = np.zeros(shape, dtype=p.dtype)
        elif not (isinstance(g, np.ndarray) and g.dtype == p.dtype and g.shape == shape
                  and g.flags.c_contiguous and g.flags.writeable):
            raise ValueError(
                f"grads[{key!r}] must be a writeable C-contiguous {p.dtype.name} array of shape "
                f"{shape}, got {type(g).__name__} {getattr(g, 'dtype', '')} {getattr(g, 'shape', '')}"
            )
    return grads


def _run_backward(p, gates, hprev, extra, dout, dh_n, dc_n, grads):
    T, B, I, H, GH = p.T, p.B, p.I, p.H, p.GH
    N = T * B
    if dout is not None:
        dout = as_array(dout, "dout", p.dtype)
        check_shape(dout, "dout", (T, B, H))
    dh = p.initial_state(None if dh_n is None else as_array(dh_n, "dh_n", p.dtype))
    check_shape(dh, "dh_n", (B, H))
    dc = None
    if p.mode == "lstm":
        dc = p.initial_state(None if dc_n is None else as_array(dc_n, "dc_n", p.dtype))
        check_shape(dc, "dc_n", (B, H))
    grads = _grad_arrays(p, grads)
    gru_after = p.cell == _recurrent.CELL_CODES["gru"]
    dgx = p.alloc(T, B, GH)
    dghn = p.alloc(T, B, H) if gru_after else None
    scratch = np.zeros((B, _recurrent.scratch_width(p.cell, H)), dtype=p.dtype)
    nt = get_num_threads()
    nchunks = num_chunks(B)
    w_hh_p, w_hn_p = p.packed_recurrent_weights(transposed=False)
    _recurrent.backward(p.cell, w_hh_p, w_hn_p, p.lengths, p.steps, p.reverse, gates, hprev,
                        extra, dout, dh, dc, dgx, dghn, scratch, nchunks)
    del gates
    dx = np.empty((T, B, I), dtype=p.dtype)
    dgx2 = dgx.reshape(N, GH)
    x = p.x
    if not p.full:
        # dG is zero past each length, but 0 * inf = NaN: padding (whatever
        # the caller left there) must not reach dW_ih = dG^T x.
        valid = np.arange(T)[:, None] < p.lengths[None, :]
        x = np.where(valid[:, :, None], x, p.dtype.type(0))
    dghn2 = None if dghn is None else dghn.reshape(N, H)
    extra2 = None if extra is None else extra.reshape(N, H)
    # With several chunks: one part per OpenMP thread, each a few large
    # single-threaded BLAS calls (BLAS never starts its own pool beside
    # OpenMP's); with one, the whole products on threaded BLAS.
    with blas_threads(1 if nchunks > 1 else nt):
        _recurrent.weight_grads(p.cell, dgx2, dghn2, x.reshape(N, I), hprev.reshape(N, H),
                                extra2, p.w_ih, dx.reshape(N, I), grads["w_ih"], grads["w_hh"],
                                nchunks)
    if p.b_ih is not None:
        # Accumulate in float64: a float32 sum over T*B rows loses digits.
        db = dgx2.sum(axis=0, dtype=np.float64)
        grads["b_ih"] += db.astype(p.dtype)
        if gru_after:
            db[2 * H:] = dghn.reshape(N, H).sum(axis=0, dtype=np.float64)
        grads["b_hh"] += db.astype(p.dtype)
    return dx, dh, dc, grads

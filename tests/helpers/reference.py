"""Readable pure-numpy reference for one recurrent layer in one direction.

Everything here is deliberately naive: an explicit loop over time steps and,
inside it, over batch rows, with each cell's equations written out the way
they appear in the PyTorch documentation.  It computes in float64 whatever
the dtype of its inputs, and is the ground truth the kernel tests compare to.

Conventions (the same as ``fastrnn.functional.recurrent``):

* ``x`` is time-major ``(T, B, I)``; weights use PyTorch's layout
  ``w_ih (G*H, I)``, ``w_hh (G*H, H)``, ``b_ih``, ``b_hh (G*H,)`` with the gate
  blocks stacked in PyTorch's order: LSTM ``i, f, g, o``; GRU ``r, z, n``.
* ``lengths[b]`` is the number of valid steps of row ``b``.  Steps past it give
  zeros in ``out`` and leave the row's state alone, so ``h_n`` is the state
  after the row's last valid step (``h0`` when its length is 0).
* ``reverse=True`` runs right to left over each row's *valid part only*: at
  reverse step ``s`` row ``b`` reads time ``L_b - 1 - s``.
"""
import numpy as np

__all__ = [
    "MODES",
    "CELLS",
    "num_gates",
    "sigmoid",
    "cell_step",
    "reference_forward",
    "random_params",
    "random_problem",
    "int8_quantize_rows",
    "int8_product",
    "bf16_round",
    "low_precision_matvecs",
]

# The five cells: (mode, reset_after).  reset_after only matters for GRU.
CELLS = [
    ("rnn_tanh", True),
    ("rnn_relu", True),
    ("lstm", True),
    ("gru", True),    # PyTorch / cuDNN: n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    ("gru", False),   # Cho et al. 2014: n = tanh(W_in x + b_in + W_hn (r * h) + b_hn)
]
MODES = ("rnn_tanh", "rnn_relu", "lstm", "gru")
_GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


def num_gates(mode):
    """Number of stacked gate blocks G in the weights of ``mode``."""
    return _GATES[mode]


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def cell_step(mode, x_t, h, c, w_ih, w_hh, b_ih, b_hh, reset_after=True, matvec=np.matmul,
              input_matvec=None):
    """One step of one batch row: vectors ``x_t (I,)``, ``h (H,)``, ``c (H,)``.

    Returns ``(h_new, c_new)`` (``c_new`` is None unless LSTM).  ``matvec(w,
    v)``: the weight products (``w @ v``; :func:`low_precision_matvecs` for a
    frozen layer's int8 / bf16 ones), ``input_matvec`` W_ih's (default: the
    same).
    """
    H = h.shape[0]
    gi = (input_matvec or matvec)(w_ih, x_t) + b_ih  # input side of every gate, (G*H,)
    gh = matvec(w_hh, h) + b_hh    # recurrent side of every gate, (G*H,)

    if mode == "rnn_tanh":
        return np.tanh(gi + gh), None

    if mode == "rnn_relu":
        return np.maximum(gi + gh, 0.0), None

    if mode == "lstm":
        a = gi + gh
        i = sigmoid(a[0 * H:1 * H])   # input gate
        f = sigmoid(a[1 * H:2 * H])   # forget gate
        g = np.tanh(a[2 * H:3 * H])   # candidate cell
        o = sigmoid(a[3 * H:4 * H])   # output gate
        c_new = f * c + i * g
        h_new = o * np.tanh(c_new)
        return h_new, c_new

    if mode == "gru":
        r = sigmoid(gi[0 * H:1 * H] + gh[0 * H:1 * H])   # reset gate
        z = sigmoid(gi[1 * H:2 * H] + gh[1 * H:2 * H])   # update gate
        W_hn = w_hh[2 * H:3 * H]
        b_hn = b_hh[2 * H:3 * H]
        if reset_after:
            # PyTorch: the reset gate scales the whole recurrent term.
            n = np.tanh(gi[2 * H:3 * H] + r * (gh[2 * H:3 * H]))
        else:
            # Cho et al.: the reset gate scales the state before W_hn.
            n = np.tanh(gi[2 * H:3 * H] + matvec(W_hn, r * h) + b_hn)
        h_new = (1.0 - z) * n + z * h
        return h_new, None

    raise ValueError(f"unknown mode {mode!r}")


def reference_forward(mode, x, w_ih, w_hh, b_ih=None, b_hh=None, h0=None, c0=None,
                      lengths=None, reverse=False, reset_after=True, matvec=np.matmul,
                      input_matvec=None):
    """Run one layer in one direction; returns ``(out, h_n, c_n)`` in float64.

    ``out`` is ``(T, B, H)``, ``h_n`` / ``c_n`` are ``(B, H)``; ``c_n`` is None
    unless ``mode == "lstm"``.  Missing biases / states mean zeros; missing
    lengths mean every row runs all T steps.  ``matvec``, ``input_matvec``: as
    :func:`cell_step`.
    """
    x = np.asarray(x, dtype=np.float64)
    w_ih = np.asarray(w_ih, dtype=np.float64)
    w_hh = np.asarray(w_hh, dtype=np.float64)
    T, B, _ = x.shape
    GH = w_ih.shape[0]
    H = GH // num_gates(mode)
    b_ih = np.zeros(GH) if b_ih is None else np.asarray(b_ih, dtype=np.float64)
    b_hh = np.zeros(GH) if b_hh is None else np.asarray(b_hh, dtype=np.float64)
    h0 = np.zeros((B, H)) if h0 is None else np.asarray(h0, dtype=np.float64)
    c0 = np.zeros((B, H)) if c0 is None else np.asarray(c0, dtype=np.float64)
    lengths = np.full(B, T) if lengths is None else np.asarray(lengths).astype(np.int64)

    out = np.zeros((T, B, H))
    h_n = np.zeros((B, H))
    c_n = np.zeros((B, H))
    for b in range(B):
        # Each row is independent: run its own valid steps, in its own order.
        L = int(lengths[b])
        h = h0[b].copy()
        c = c0[b].copy()
        times = range(L - 1, -1, -1) if reverse else range(L)
        for t in times:
            h, c_new = cell_step(mode, x[t, b], h, c, w_ih, w_hh, b_ih, b_hh, reset_after,
                                 matvec, input_matvec)
            if c_new is not None:
                c = c_new
            out[t, b] = h
        # Times >= L were never visited: out stays zero there, and the state
        # after the last valid step is the final one.
        h_n[b] = h
        c_n[b] = c
    return out, h_n, (c_n if mode == "lstm" else None)


def random_params(rng, mode, input_size, hidden_size, bias=True, dtype=np.float64, scale=None):
    """PyTorch-style init: every parameter ~ U(-k, k), k = 1/sqrt(H) (or ``scale``).

    Returns ``(w_ih, w_hh, b_ih, b_hh)``; the biases are None when ``bias`` is False.
    """
    k = 1.0 / np.sqrt(hidden_size) if scale is None else scale
    GH = num_gates(mode) * hidden_size

    def u(*shape):
        return rng.uniform(-k, k, size=shape).astype(dtype)

    w_ih = u(GH, input_size)
    w_hh = u(GH, hidden_size)
    if not bias:
        return w_ih, w_hh, None, None
    return w_ih, w_hh, u(GH), u(GH)


def random_problem(rng, mode, T, B, I, H, bias=True, states=True, dtype=np.float64):
    """A dict of keyword arguments for ``fastrnn.functional.recurrent``:
    ``x ~ N(0, 1)``, PyTorch-initialised weights, and (if ``states``)
    initial states ~ U(-0.5, 0.5)."""
    w_ih, w_hh, b_ih, b_hh = random_params(rng, mode, I, H, bias=bias, dtype=dtype)
    kw = dict(x=rng.standard_normal((T, B, I)).astype(dtype),
              w_ih=w_ih, w_hh=w_hh, b_ih=b_ih, b_hh=b_hh, hx=None, cx=None)
    if states:
        kw["hx"] = rng.uniform(-0.5, 0.5, size=(B, H)).astype(dtype)
        if mode == "lstm":
            kw["cx"] = rng.uniform(-0.5, 0.5, size=(B, H)).astype(dtype)
    return kw


# ------------------------------------------------- low-precision products
# What a frozen layer's int8 / bf16 products compute (csrc/lowpgemm.h),
# written out in numpy.

def int8_quantize_rows(a):
    """Symmetric per-row int8 quantization of a float32 (m, k) array, as the
    kernels do it in float32: ``(q int64, scale float32)`` with ``q =
    rint(a * (127 / max|row|))`` in [-127, 127] and ``scale = max|row| / 127``;
    rows below 1e-30 quantize to zeros with scale 0."""
    a = np.asarray(a, dtype=np.float32)
    amax = np.abs(a).max(axis=1) if a.shape[1] else np.zeros(a.shape[0], np.float32)
    tiny = amax < np.float32(1e-30)
    safe = np.where(tiny, np.float32(1), amax)
    scale = np.where(tiny, np.float32(0), safe / np.float32(127)).astype(np.float32)
    inv = (np.float32(127) / safe).astype(np.float32)
    q = np.clip(np.rint(a * inv[:, None]), -127, 127)
    q[tiny] = 0
    return q.astype(np.int64), scale


def int8_product(A, W):
    """``A @ W.T`` as the int8 kernels compute it: A's rows and W's rows
    (output channels) quantized, summed exactly, scaled back in float32."""
    qa, sa = int8_quantize_rows(A)
    qw, sw = int8_quantize_rows(W)
    acc = qa @ qw.T
    return acc.astype(np.float32) * (sa[:, None] * sw[None, :])


def bf16_round(a):
    """float32 rounded to bfloat16 (nearest even), returned as float32."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16
    return r.astype(np.uint32).view(np.float32)


def low_precision_matvecs(precision, input_size):
    """``dict(matvec=..., input_matvec=...)`` for :func:`reference_forward`:
    a frozen layer's products at ``precision`` ("int8" or "bf16") of
    ``input_size`` inputs, in float64 after the rounding (the reference's
    state is float64: rounding it to float32 first is what the kernels
    see).  At int8, fewer than ``F.INT8_MIN_INPUTS`` inputs keep the input
    projection in float."""
    from fastrnn import functional as F

    matvec = _low_precision_matvec(precision)
    exact = precision == "int8" and input_size < F.INT8_MIN_INPUTS
    return dict(matvec=matvec, input_matvec=np.matmul if exact else matvec)


def _low_precision_matvec(precision):
    def int8(w, v):
        return int8_product(np.asarray(v, np.float32)[None], np.asarray(w, np.float32))[0] \
            .astype(np.float64)

    def bf16(w, v):
        return bf16_round(w).astype(np.float64) @ bf16_round(v).astype(np.float64)

    return {"int8": int8, "bf16": bf16}[precision]

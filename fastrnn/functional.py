"""Array-level recurrent layers: validate, allocate, call the fused kernels.

One layer per call: one direction (:func:`recurrent`) or both side by side
(:func:`bidirectional`); the modules in ``fastrnn.layers`` stack and merge
these.  Arrays are time-major: ``x`` is ``(T, B, I)``.

``mode`` is ``"rnn_tanh"``, ``"rnn_relu"``, ``"lstm"`` or ``"gru"`` (with
``reset_after``).  Weights use PyTorch's layout and gate order:
``w_ih (G*H, I)``, ``w_hh (G*H, H)``, ``b_ih``, ``b_hh (G*H,)`` with G = 1, 4,
3 (RNN, LSTM ``i f g o``, GRU ``r z n``).
"""
import functools
import warnings
from collections import namedtuple

import numpy as np

from ._kernels import recurrent as _recurrent
from ._kernels.tanh import tanh_grad_inplace, tanh_inplace
from ._matmul import column_sums
from . import _workspace as ws
from ._runtime import kernel_threads, openmp_enabled, report_cores, single_threaded_blas
from ._validation import (as_array, as_lengths, check_blas_size, check_bools, check_shape,
                          evenly_spaced_rows, overlap, resolve_dtype)

__all__ = ["recurrent", "recurrent_train", "bidirectional", "bidirectional_train", "MODES",
           "num_gates", "EmbeddedInput", "tanh_train", "pack_direction", "stepper", "step"]

MODES = ("rnn_tanh", "rnn_relu", "lstm", "gru")
_GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


def num_gates(mode):
    """Gate blocks per hidden unit: 1 (RNN), 4 (LSTM), 3 (GRU)."""
    if mode not in _GATES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    return _GATES[mode]


class EmbeddedInput(namedtuple("EmbeddedInput", "ids weight")):
    """A layer input given as an embedding lookup, ``x = weight[ids]``:
    ``ids`` (T, B) integers in [0, V), ``weight`` (V, I).

    Passed as ``x``, it folds the lookup into the input projection: each
    vocabulary entry's ``weight[v] @ W_ih^T + bias`` is computed once (a
    (V, GH) table) and a step copies its row -- V rows of product instead of
    T * B, worth it when the vocabulary is much the smaller.  The backward sums
    the gate gradients per entry, so ``dW_ih`` and the returned gradient
    (w.r.t. ``weight``, (V, I), in place of ``dx``) are V-row products too.
    """

    @property
    def shape(self):
        return tuple(np.shape(self.ids)) + (np.shape(self.weight)[-1],)


class _CheckedEmbeddedInput(EmbeddedInput):
    """An :class:`EmbeddedInput` already validated (intp ids in range, weight
    of the dtype): a layer's second direction takes it as it is."""


def _embedded(x, dtype):
    """Validated ``(ids (T, B) intp, weight (V, I))`` of an :class:`EmbeddedInput`."""
    if isinstance(x, _CheckedEmbeddedInput) and x.weight.dtype == dtype:
        return x
    weight = as_array(x.weight, "x.weight", dtype)
    if weight.ndim != 2 or 0 in weight.shape:
        raise ValueError(f"x.weight must be a non-empty 2-D (V, input_size) array, got shape "
                         f"{weight.shape}")
    ids = np.asarray(x.ids)
    if ids.dtype.kind not in "iu" or ids.ndim != 2:
        raise ValueError(f"x.ids must be a 2-D (T, B) integer array, got {ids.dtype} of shape "
                         f"{ids.shape}")
    if ids.size and (ids.min() < 0 or ids.max() >= weight.shape[0]):
        raise ValueError(f"x.ids must lie in [0, {weight.shape[0]}), got values in "
                         f"[{ids.min()}, {ids.max()}]")
    return _CheckedEmbeddedInput(np.ascontiguousarray(ids, dtype=np.intp), weight)


def _lengths_info(lengths, T):
    """``(lengths, steps, full)`` of checked intp lengths: a copy (training
    keeps it for backward, and the caller may reuse its array), the longest
    row's length, and whether every row has all ``T`` steps (a batch of no
    rows has no steps)."""
    if not len(lengths):
        return lengths.copy(), 0, True
    return lengths.copy(), int(lengths.max()), bool(lengths.min() == T)


def _cell_code(mode, reset_after):
    return _recurrent.CELL_CODES["gru_reset_before" if mode == "gru" and not reset_after
                                 else mode]


# Batches up to this many rows share one read-only array of full lengths
# per (B, T) (nothing writes a call's lengths): a layer call with no
# lengths then makes none.
_SHARED_LENGTHS_ROWS = 4096


@functools.lru_cache(maxsize=64)
def _shared_full_lengths(B, T):
    lengths = np.full(B, T, dtype=np.intp)
    lengths.flags.writeable = False
    return lengths


def _full_lengths(B, T):
    """Every row's length: ``T`` (B,) intp, read-only (shared by calls)."""
    if B <= _SHARED_LENGTHS_ROWS:
        return _shared_full_lengths(B, T)
    return np.full(B, T, dtype=np.intp)


_GRU_CODE = _recurrent.CELL_CODES["gru"]
_GRU_RB_CODE = _recurrent.CELL_CODES["gru_reset_before"]


def _folded_bias(cell, GH, dtype, b_ih, b_hh):
    """``b_ih + b_hh``, added once to the input projection (GRU keeps
    ``b_hn`` out: it sits inside ``r * (W_hn h + b_hn)``)."""
    if b_ih is None:
        return np.zeros(GH, dtype=dtype)
    bias = b_ih + b_hh
    if cell == _GRU_CODE:
        H = GH // 3
        bias[2 * H:] = b_ih[2 * H:]
    return bias


def _b_hn(cell, H, dtype, b_hh):
    """GRU's ``b_hn`` (inside ``r * (W_hn h + b_hn)``), None for other cells."""
    if cell != _GRU_CODE:
        return None
    if b_hh is None:
        return np.zeros(H, dtype=dtype)
    return np.ascontiguousarray(b_hh[2 * H:])


def _packed_recurrent(cell, w_hh, transposed, pack):
    """The recurrent weight operands of the step kernel, packed by ``pack``:
    W_hh^T for forward, W_hh for backward; GRU reset_after=False splits them
    into the r, z block and W_hn (its two products per step)."""
    if cell != _GRU_RB_CODE:
        return pack(w_hh, transposed), None
    H2 = 2 * w_hh.shape[1]
    return pack(w_hh[:H2], transposed), pack(w_hh[H2:], transposed)


def _packed_own(w, transposed):
    """``w`` packed for the step kernel, into an aligned array of its own."""
    return _recurrent.pack(w, transposed, out=ws.aligned_empty(w.size, w.dtype))


def _read_only(a):
    if a is not None:
        a.flags.writeable = False
    return a


#: The precisions a frozen recurrent layer's weights can be stored at below
#: float32 (csrc/lowpgemm.h): ``"int8"`` (dynamic quantization) and ``"bf16"``.
LOW_PRECISIONS = ("int8", "bf16")

# The int8 products sum in int32: at most 255 * 127 per term (VNNI's unsigned
# bytes), so 2**31 / (255 * 127) terms -- inputs and hidden units up to 65536.
INT8_MAX_TERMS = 1 << 16

# At int8, the input projection is quantized only for at least this many
# inputs.  A row of a few inputs shares one scale, which its largest value
# sets: the adding problem's marker (1.0) left the number beside it 7 bits
# (LSTM: 93.2 % of sums within 0.04 against float32's 97.4 %; with the
# projection kept in float32, 97.3 %: bench/low_precision_accuracy.py), and
# so few inputs make the projection a small share of the work (I / H).
INT8_MIN_INPUTS = 16


def check_precision(precision, dtype, what):
    """``precision`` checked for weights of ``dtype`` -> its name: None (the
    weights' own float type), that dtype's name, ``"int8"`` or ``"bf16"``
    (float32 weights only; bf16 where a bf16 kernel runs).  ``what`` names the
    module in the messages."""
    own = np.dtype(dtype).name
    if precision is None:
        return own
    if not isinstance(precision, str):
        raise TypeError(f"precision must be None or a str ({own!r}, 'int8', 'bf16'), got "
                        f"{type(precision).__name__}")
    if precision not in (own,) + LOW_PRECISIONS:
        raise ValueError(f"precision must be None, {own!r} (the weights' own), 'int8' or "
                         f"'bf16', got {precision!r}")
    if precision in LOW_PRECISIONS and own != "float32":
        raise ValueError(f"precision={precision!r} needs a float32 {what}; this one is {own} "
                         f"(build it with dtype='float32')")
    if precision == "bf16" and not _recurrent.low_precision_kernels()["bf16"]:
        build = _recurrent.build_info()["step_kernel"]
        raise ValueError("precision='bf16' needs a CPU with AVX-512 BF16 and fastrnn's avx512 "
                         f"kernels; this process runs the {build} kernels"
                         + ("" if build == "avx512" else " (FASTRNN_KERNELS may force them)")
                         + ": use precision='int8', or float32")
    if precision == "int8" and _recurrent.low_precision_kernels()["int8"] == "generic":
        warnings.warn("precision='int8' on the portable int8 kernel: this CPU and kernel build "
                      "have no vector int8 kernel (AVX2 or AVX-512 VNNI), and the portable one "
                      "is slower than float32 (bench/lowp_product.c: 7 against 20 GMAC/s on "
                      "x86-64 SSE2)", RuntimeWarning, stacklevel=3)
    return precision


def _packer(precision):
    """A packer (for :func:`_packed_recurrent`) of weights at ``precision``
    into aligned arrays of their own: the step kernel's panels in the
    weights' dtype, or blobs of the low-precision products."""
    if precision not in LOW_PRECISIONS:
        return _packed_own

    def pack(w, transposed):
        assert transposed   # inference only: the forward's W^T operands
        out = ws.aligned_empty(_recurrent.low_precision_bytes(precision, w.shape[1], w.shape[0]),
                               np.uint8)
        return _recurrent.pack_low_precision(w, precision, out=out)
    return pack


class PackedDirection:
    """One direction's inference weights, in the step kernel's layout, packed
    once (:func:`pack_direction`): what a frozen layer keeps so that a call
    does not pack them again.  Its arrays are read-only copies: changing the
    weights it was packed from changes nothing here, and any number of
    threads may read it at once.

    Attributes: ``mode``, ``reset_after``, ``input_size``, ``hidden_size``,
    ``dtype`` (the computation's), ``precision`` (the packed weights': the
    dtype's name, or ``"int8"`` / ``"bf16"``), ``input_precision`` (W_ih's:
    the same, except the dtype's at int8 for fewer than INT8_MIN_INPUTS
    inputs); ``w_ih_t``, ``w_hh_t``,
    ``w_hn_t`` (GRU ``reset_after=False`` only) the packed operands (uint8
    blobs at a low precision); ``bias`` the folded input-projection bias;
    ``b_hn`` (GRU) the bias inside ``r * (W_hn h + b_hn)``; ``weights``
    ``(w_ih, w_hh, b_ih, b_hh)`` as given (read-only).  The hidden-unit
    split packs per thread, in a layout that depends on the team's size:
    :meth:`unit_split` packs it once per size.
    """

    __slots__ = ("mode", "reset_after", "cell_code", "input_size", "hidden_size", "dtype",
                 "precision", "input_precision", "w_ih_t", "w_hh_t", "w_hn_t", "bias", "b_hn",
                 "weights", "_unit_splits")

    # Team sizes whose unit-split operands are kept (each a copy of the
    # weights): the full team and the one dynamic threads fall back to.
    UNIT_SPLITS_KEPT = 2

    def __init__(self, mode, reset_after, w_ih, w_hh, b_ih, b_hh, precision=None):
        """From checked C-contiguous weights of one float dtype that nobody
        else writes: this takes them over and makes them read-only
        (:func:`pack_direction` passes copies of the caller's; a frozen
        layer its own).  ``precision``: as :func:`check_precision` takes it."""
        self.precision = check_precision(precision, w_ih.dtype, "layer")
        if self.precision in LOW_PRECISIONS:
            _check_low_precision_weights(self.precision, w_ih, w_hh)
        self.weights = tuple(_read_only(w) for w in (w_ih, w_hh, b_ih, b_hh))
        self.mode, self.reset_after = mode, bool(reset_after)
        self.cell_code = cell = _cell_code(mode, reset_after)
        self.dtype = w_ih.dtype
        GH, self.input_size = w_ih.shape
        self.hidden_size = H = w_hh.shape[1]
        self.input_precision = self.dtype.name if (
            self.precision == "int8" and self.input_size < INT8_MIN_INPUTS) else self.precision
        self.w_ih_t = _read_only(_packer(self.input_precision)(w_ih, True))
        self.w_hh_t, self.w_hn_t = (_read_only(a) for a in
                                    _packed_recurrent(cell, w_hh, True, _packer(self.precision)))
        self.bias = _read_only(_folded_bias(cell, GH, self.dtype, b_ih, b_hh))
        b_hn = _b_hn(cell, H, self.dtype, b_hh)
        self.b_hn = _read_only(None if b_hn is None else b_hn.copy())
        self._unit_splits = {}

    @property
    def precision_code(self):
        """The kernels' code of :attr:`precision` (0: the dtype's own)."""
        return _recurrent.PRECISIONS.get(self.precision, 0)

    @property
    def input_precision_code(self):
        """The kernels' code of :attr:`input_precision`."""
        return _recurrent.PRECISIONS.get(self.input_precision, 0)

    def unit_split_bytes(self, w, nparts, precision):
        """Bytes of ``w`` (W_ih or W_hh) packed at ``precision`` (low) for the
        unit split of ``nparts`` threads."""
        H = self.hidden_size
        return _recurrent.low_precision_unit_split_bytes(precision, w.shape[1], len(w) // H, H,
                                                         nparts)

    def _unit_split_buffer(self, w, nparts, precision):
        """An aligned buffer for ``w`` packed at ``precision`` for the unit
        split of ``nparts``."""
        if precision not in LOW_PRECISIONS:
            return ws.aligned_empty(w.size, self.dtype)
        return ws.aligned_empty(self.unit_split_bytes(w, nparts, precision), np.uint8)

    def converted_row_bytes(self):
        """Bytes per row of the low-precision products' converted inputs."""
        return _recurrent.converted_row_bytes(self.precision, max(self.input_size,
                                                                  self.hidden_size))

    def unit_split(self, nparts):
        """``(w_ih_u, w_hh_u, bias)``: the hidden-unit split's operands for a
        team of ``nparts`` threads (``_recurrent.pack_unit_split``; the bias
        in unit-block order), packed on first use; the last UNIT_SPLITS_KEPT
        team sizes packed are kept.  No lock (a process forked while another
        thread held one would wait on it forever): a new entry replaces the
        whole dict, and threads racing on a first use pack the same values
        twice, harmlessly."""
        split = self._unit_splits.get(nparts)
        if split is None:
            w_ih, w_hh = self.weights[:2]
            H = self.hidden_size
            order = _recurrent.unit_order(len(w_ih) // H, H, self.dtype)
            split = tuple(_read_only(a) for a in (
                *(_recurrent.pack_unit_split(w, H, nparts, self._unit_split_buffer(w, nparts, p), p)
                  for w, p in ((w_ih, self.input_precision), (w_hh, self.precision))),
                self.bias[order]))
            kept = list(self._unit_splits.items())
            kept = kept[max(0, len(kept) + 1 - self.UNIT_SPLITS_KEPT):] + [(nparts, split)]
            self._unit_splits = dict(kept)
        return split


def pack_direction(mode, w_ih, w_hh, b_ih=None, b_hh=None, reset_after=True, precision=None):
    """Pack one direction's weights once for inference.

    The result goes to :func:`layer_directions`'s ``packed`` (one per
    direction) and to :func:`stepper`; it holds copies, so the arrays passed in
    may change afterwards.  Arguments as :func:`recurrent`'s (``w_ih``'s
    dtype is the computation's); ``precision`` stores the weights as
    ``"int8"`` or ``"bf16"`` (float32 weights; :func:`fastrnn.freeze`).
    """
    check_bools(reset_after=reset_after)
    weights = _checked_weights(mode, w_ih, w_hh, b_ih, b_hh)
    return PackedDirection(mode, reset_after, *(None if w is None else w.copy()
                                                for w in weights), precision=precision)


def _check_low_precision_weights(precision, w_ih, w_hh):
    """Weights storable at a low precision: finite (an int8 scale of an inf
    would turn the column into NaNs; better refused when freezing), and int8
    sums that fit in int32."""
    for name, w in (("w_ih", w_ih), ("w_hh", w_hh)):
        if not np.isfinite(w).all():
            raise ValueError(f"precision={precision!r}: {name} holds inf or NaN; only finite "
                             "weights can be stored at a low precision")
    if precision == "int8" and max(w_ih.shape[1], w_hh.shape[1]) > INT8_MAX_TERMS:
        raise ValueError(f"precision='int8' sums in int32: input_size and hidden_size must be "
                         f"at most {INT8_MAX_TERMS}, got {w_ih.shape[1]} and {w_hh.shape[1]}")


def _checked_weights(mode, w_ih, w_hh, b_ih, b_hh):
    """``(w_ih, w_hh, b_ih, b_hh)`` checked and converted to ``w_ih``'s
    dtype (float32 or float64), each error naming its argument."""
    if mode not in _GATES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    w_ih_arr = np.asarray(w_ih)
    if w_ih_arr.dtype not in (np.float32, np.float64):
        raise TypeError(f"w_ih must be a float32 or float64 array, got dtype {w_ih_arr.dtype}")
    dt = resolve_dtype(w_ih_arr.dtype)
    for name, w in (("w_hh", w_hh), ("b_ih", b_ih), ("b_hh", b_hh)):
        w_dtype = getattr(w, "dtype", None)
        if w_dtype is not None and w_dtype.kind == "f" and w_dtype != dt:
            raise TypeError(f"{name} must have w_ih's dtype {dt.name}, got {w_dtype}")
    w_ih = as_array(w_ih_arr, "w_ih", dt)
    if w_ih.ndim != 2 or w_ih.shape[0] % _GATES[mode] or w_ih.shape[0] == 0:
        raise ValueError(f"w_ih must be 2-D ({_GATES[mode]}*hidden_size, input_size), got shape "
                         f"{w_ih.shape}")
    GH = w_ih.shape[0]
    w_hh = as_array(w_hh, "w_hh", dt)
    check_shape(w_hh, "w_hh", (GH, GH // _GATES[mode]))
    if (b_ih is None) != (b_hh is None):
        raise ValueError("b_ih and b_hh must both be given or both be None")
    if b_ih is not None:
        b_ih, b_hh = as_array(b_ih, "b_ih", dt), as_array(b_hh, "b_hh", dt)
        check_shape(b_ih, "b_ih", (GH,))
        check_shape(b_hh, "b_hh", (GH,))
    return w_ih, w_hh, b_ih, b_hh


# A streaming step of at least this many multiply-adds (B * G*H * (I + H))
# runs on the kernels' threads when they can split the batch (on the packed
# weights); otherwise on the calling thread alone.  bench/streaming_step.py
# --split, LSTM on 2 threads: at 4M multiply-adds the threads were 1.15-1.2x
# slower, at 16M 0.65-0.73x.  The hidden-unit split (too few rows for the
# batch split) lost at every size tried (B=1 to 4, H up to 1024: 3-8x
# slower, measured when it still packed its weights per call; it still
# starts a team for one step, which UNIT_SPLIT_MIN_CALL_MACS refuses for
# calls this short), so small batches stay on one thread.
STEP_SPLIT_MIN_MACS = 1 << 23


class StepBuffers:
    """The scratch of :func:`stepper` for ``batch_size`` rows of one
    :class:`PackedDirection` (a stream keeps one per layer; not shared
    between threads)."""

    __slots__ = ("scratch", "xc", "xw", "ones", "large", "qa", "qs")

    def __init__(self, packed, batch_size):
        w_ih, w_hh = packed.weights[:2]
        H, GH = packed.hidden_size, w_ih.shape[0]
        macs = batch_size * (w_ih.size + w_hh.size)
        # Worth the kernels' threads (where there are several): see step.
        self.large = macs >= STEP_SPLIT_MIN_MACS and openmp_enabled()
        self.scratch = np.empty((batch_size, _recurrent.scratch_width(packed.cell_code, H)),
                                packed.dtype)
        self.xc = np.empty((batch_size, packed.input_size), packed.dtype)
        self.xw = np.empty((batch_size, GH), packed.dtype)
        self.ones = np.ones(batch_size, np.intp)
        self.qa = self.qs = None
        if packed.precision_code:
            self.qa = np.empty((batch_size, packed.converted_row_bytes()), np.uint8)
            self.qs = np.empty(batch_size, np.float32)


def stepper(packed, buffers):
    """The streaming path: a function ``f(x, h, c, out)`` taking one time
    step of one direction over every row, with the arguments that do not
    change from step to step bound once (no validation: the caller has
    checked everything).

    ``x`` (B, I); ``h`` and (LSTM) ``c`` (B, H) advance in place; ``out``
    (B, H), an array of its own, receives the new ``h``; all C-contiguous,
    of ``packed``'s dtype; ``buffers`` a :class:`StepBuffers` of B rows.
    A small step runs on the calling thread; one of at least
    STEP_SPLIT_MIN_MACS multiply-adds with rows enough to split the batch,
    on the kernels' threads.  The result is bit for bit what a whole-sequence
    call on ``packed`` computes at that step.
    """
    kernel = functools.partial(_recurrent.step, packed.cell_code, packed.w_ih_t, packed.w_hh_t,
                               packed.w_hn_t, packed.bias, packed.b_hn, buffers.scratch,
                               buffers.xc, buffers.xw, buffers.ones, packed.precision_code,
                               packed.input_precision_code, buffers.qa, buffers.qs)
    if not buffers.large:
        return kernel

    def large_step(x, h, c, out):
        if not 1 < kernel_threads() <= h.shape[0] // UNIT_SPLIT_ROWS:
            return kernel(x, h, c, out)
        p = _DirectionCall(packed.mode, packed.reset_after, x[None], packed.weights, h, c, None,
                           False, packed)
        ((o, h_n, c_n),) = _infer([p])
        out[...] = o[0]
        h[...] = h_n
        if c is not None:
            c[...] = c_n

    return large_step


def step(packed, x, h, c, out, buffers):
    """One time step (:func:`stepper`'s function, bound and called once)."""
    stepper(packed, buffers)(x, h, c, out)


class _DirectionCall:
    """The validated inputs of one layer-direction call (kept by training)."""

    __slots__ = ("mode", "cell_code", "dtype", "T", "B", "I", "H", "GH", "x", "w_ih", "w_hh",
                 "b_ih", "b_hh", "h0", "c0", "lengths", "steps", "full", "reverse", "ids", "emb",
                 "kept", "w_hh_packed", "packed")

    def __init__(self, mode, reset_after, x, weights, h0, c0, lengths, reverse, packed=None):
        """From checked arguments (:meth:`checked` checks a caller's; a
        layer passes its own, already checked): ``x`` a C-contiguous (T, B,
        I) array of the weights' dtype or a :class:`_CheckedEmbeddedInput`,
        ``weights`` ``(w_ih, w_hh, b_ih, b_hh)``, states C-contiguous (B, H)
        of that dtype or None, ``lengths`` None or :func:`_lengths_info`'s;
        ``packed``: the same weights' :class:`PackedDirection`, or None
        (inference then packs them)."""
        w_ih, w_hh, b_ih, b_hh = weights
        self.mode = mode
        self.cell_code = _cell_code(mode, reset_after)
        self.packed = packed
        self.dtype = w_ih.dtype
        if isinstance(x, EmbeddedInput):
            self.x, self.ids, self.emb = None, x.ids, x.weight
            (T, B), I = x.ids.shape, x.weight.shape[1]
        else:
            self.x, self.ids, self.emb = x, None, None
            T, B, I = x.shape
        self.w_ih, self.w_hh, self.b_ih, self.b_hh = w_ih, w_hh, b_ih, b_hh
        self.h0, self.c0 = h0, c0 if mode == "lstm" else None
        if lengths is None:
            self.lengths, self.steps, self.full = _full_lengths(B, T), T, True
        else:
            self.lengths, self.steps, self.full = lengths
        self.GH = GH = w_ih.shape[0]
        self.T, self.B, self.I, self.H = T, B, I, w_hh.shape[1]
        check_blas_size(T * B, max(I, GH), "x @ w_ih^T")
        self.reverse = bool(reverse)
        self.kept = None   # training's copies (keep_for_backward)
        self.w_hh_packed = None

    @classmethod
    def checked(cls, mode, x, w_ih, w_hh, b_ih, b_hh, hx, cx, lengths, reverse, reset_after):
        """A call from a caller's arguments, each checked (and converted
        to ``w_ih``'s dtype) with an error naming it."""
        w_ih, w_hh, b_ih, b_hh = _checked_weights(mode, w_ih, w_hh, b_ih, b_hh)
        check_bools(reverse=reverse, reset_after=reset_after)
        dt = w_ih.dtype
        if isinstance(x, EmbeddedInput):
            x = _embedded(x, dt)
            T, B, I = x.shape
        else:
            x = as_array(x, "x", dt)
            if x.ndim != 3:
                raise ValueError(f"x must be 3-D (T, B, input_size), got shape {x.shape}")
            T, B, I = x.shape
        if T == 0:   # (a batch of 0 rows gives 0 rows, as in PyTorch)
            raise ValueError(f"x must have at least one time step, got shape {x.shape}")
        GH = w_ih.shape[0]
        H = GH // _GATES[mode]
        check_shape(w_ih, "w_ih", (GH, I))
        h0 = None if hx is None else as_array(hx, "hx", dt)
        if h0 is not None:
            check_shape(h0, "hx", (B, H))
        c0 = None
        if mode == "lstm" and cx is not None:
            c0 = as_array(cx, "cx", dt)
            check_shape(c0, "cx", (B, H))
        elif cx is not None:
            raise ValueError(f"cx is only used by mode 'lstm', got it for mode {mode!r}")
        lengths = None if lengths is None else _lengths_info(as_lengths(lengths, B, T), T)
        return cls(mode, reset_after, x, (w_ih, w_hh, b_ih, b_hh), h0, c0, lengths, reverse)

    def folded_bias(self):
        return _folded_bias(self.cell_code, self.GH, self.dtype, self.b_ih, self.b_hh)

    def packed_recurrent_weights(self, transposed):
        return _packed_recurrent(self.cell_code, self.w_hh, transposed, _packed)

    def b_hn(self):
        return _b_hn(self.cell_code, self.H, self.dtype, self.b_hh)

    def initial_state(self, given):
        """A (B, H) state of the kernels' own (cache-line aligned): zeros, or
        a copy of ``given`` (a checked (B, H) array)."""
        state = ws.aligned_empty((self.B, self.H), self.dtype)
        if given is None:
            state.fill(0)
        else:
            np.copyto(state, given)
        return state

    def checked_state(self, given, name):
        """``given`` (None, or a caller's (B, H) state) checked, its errors
        naming ``name``."""
        if given is not None:
            given = as_array(given, name, self.dtype)
            check_shape(given, name, (self.B, self.H))
        return given

    def zero_padding(self, *arrays):
        """Zero the rows past each length of ``(T, B, W)`` arrays, which the
        kernels never write (only those rows: no fill of the whole array)."""
        if not self.full:
            _recurrent.zero_past(self.lengths, *arrays)

    def _unit_scratch(self, w, nparts, precision):
        """The buffer the unit split's parts pack ``w`` into when the team
        that runs is smaller than the one the frozen weights were packed
        for (float: w's size; at a low ``precision``: its blobs' bytes,
        which depend on the team)."""
        if precision not in LOW_PRECISIONS:
            return ws.empty(w.size, self.dtype)
        return ws.empty(max(self.packed.unit_split_bytes(w, n, precision)
                            for n in range(1, nparts + 1)), np.uint8)

    def _low_precision_scratch(self, job, rows):
        """A frozen job's precisions, and the low-precision products' scratch
        of ``rows`` converted rows (the unit split: each part converts its
        own copy of the rows it multiplies)."""
        pk = self.packed
        if pk.precision_code:
            job.update(precision=pk.precision_code, input_precision=pk.input_precision_code,
                       qa=ws.empty((rows, pk.converted_row_bytes()), np.uint8),
                       qs=ws.empty(rows, np.float32))

    def forward_job(self, threads_per_direction, training, units=False, out=None):
        """The arrays of one ``forward`` job of the recurrent kernels
        (:func:`fastrnn._kernels.recurrent_baseline.forward`; every build has it).  With
        ``units`` (the hidden-unit split) the kernel's products run in the
        unit-block order ``job["order"]`` (None in the batch split), which
        the backward pass reads from the job: its product needs W_hh's rows
        in that order too.  ``out``: a (T, B, H) view to write the output
        into (a direction's columns of a concatenated output), or None."""
        T, B, I, H, GH, dtype = self.T, self.B, self.I, self.H, self.GH, self.dtype
        # Each thread projects the inputs of `chunk` steps at a time: at
        # least CHUNK_ROWS rows per product (so each packed panel of W_ih^T
        # is reused over many row tiles), never the whole (T, B, GH).
        rows = B if units else max(1, B // threads_per_direction)
        chunk = max(1, min(self.steps, -(-CHUNK_ROWS // rows)))
        job = {"cell": self.cell_code, "lengths": self.lengths, "steps": self.steps,
               "reverse": self.reverse, "x": self.x, "ids": self.ids, "table": None,
               "w_ih": self.w_ih, "w_hh": self.w_hh,
               "b_hn": self.b_hn(),
               "gates": None, "hprev": None, "cell_saved": None, "h_alt": None, "h_copy": None,
               "order": None, "w_ih_u": None, "w_hh_u": None, "packed_parts": 0,
               "h": self.initial_state(self.h0),
               "c": self.initial_state(self.c0) if self.mode == "lstm" else None,
               "out": ws.aligned_empty((T, B, H), dtype) if out is None else out,
               "chunk": chunk, "xw": ws.empty((chunk * B, GH), dtype),
               "precision": 0, "input_precision": 0, "qa": None, "qs": None}
        frozen = self.packed is not None and not training and self.ids is None
        ih_precision, hh_precision = (self.packed.input_precision, self.packed.precision) \
            if frozen else (self.dtype.name, self.dtype.name)
        if self.packed is not None and self.packed.precision_code and not frozen:
            raise RuntimeError("weights packed at a low precision run only in frozen inference")
        if units:
            order = _recurrent.unit_order(GH // H, H, self.dtype)
            # The kernel packs the weights, each thread its own columns (a
            # frozen layer's are packed for the team asked for: w_ih_t and
            # w_hh_t are there in case a smaller one runs), and each thread
            # gathers its own copy of the x rows it projects.
            job.update(w_ih_t=self._unit_scratch(self.w_ih, threads_per_direction, ih_precision),
                       w_hh_t=self._unit_scratch(self.w_hh, threads_per_direction, hh_precision),
                       order=order, w_hn_t=None,
                       xc=ws.empty((threads_per_direction, chunk * B, I), self.dtype),
                       scratch=ws.zeros((B, 2 * GH + H), self.dtype),
                       h_alt=ws.empty((B, H), self.dtype),
                       h_copy=ws.empty((threads_per_direction, B, H), self.dtype))
            if frozen:
                w_ih_u, w_hh_u, bias = self.packed.unit_split(threads_per_direction)
                job.update(w_ih_u=w_ih_u, w_hh_u=w_hh_u, packed_parts=threads_per_direction,
                           bias=bias)
                self._low_precision_scratch(job, threads_per_direction * chunk * B)
            else:
                job["bias"] = self.folded_bias()[order]
        elif frozen:
            pk = self.packed
            job.update(w_ih_t=pk.w_ih_t, w_hh_t=pk.w_hh_t, w_hn_t=pk.w_hn_t, bias=pk.bias,
                       xc=ws.empty((B * chunk, I), self.dtype),
                       scratch=ws.empty((B, _recurrent.scratch_width(self.cell_code, H)), self.dtype))
            self._low_precision_scratch(job, B * chunk)
        else:
            w_hh_t, w_hn_t = self.packed_recurrent_weights(transposed=True)
            job.update(w_ih_t=None if self.ids is not None else _packed(self.w_ih, True),
                       w_hh_t=w_hh_t, w_hn_t=w_hn_t,
                       bias=self.folded_bias(), xc=ws.empty((B * chunk, I), self.dtype),
                       scratch=ws.empty((B, _recurrent.scratch_width(self.cell_code, H)), self.dtype))
        if self.ids is not None:   # the folded input projection, per vocabulary entry
            with single_threaded_blas():   # a threaded BLAS call would leave workers spinning
                table = self.emb @ self.w_ih.T
            table += self.folded_bias()
            job["table"] = np.ascontiguousarray(table[:, job["order"]]) if units else table
        if training:
            # gates: zero past the lengths too, as the gate gradients replace
            # them and the weight-gradient products read every row.
            job.update(gates=ws.empty((T, B, GH), self.dtype), hprev=ws.empty((T, B, H), self.dtype))
            if self.mode in ("lstm", "gru"):
                job["cell_saved"] = ws.empty((T, B, H), self.dtype)
        self.zero_padding(job["out"], job["gates"], job["hprev"], job["cell_saved"])
        return job

    def backward_jobs(self, fwd, threads_per_direction, dout, dh_n, dc_n, grads):
        """The arrays of this direction's backward-loop and weight-gradient
        jobs, from its forward job ``fwd`` (run with ``threads_per_direction`` threads) and the
        output gradients."""
        T, B, I, H, GH = self.T, self.B, self.I, self.H, self.GH
        N = T * B
        if dout is not None:
            # A direction's columns of a concatenated gradient are read in
            # place (the kernel takes a row stride): no copy.
            if not _rows_in_place(dout, self.dtype):
                dout = as_array(dout, "dout", self.dtype)
            check_shape(dout, "dout", (T, B, H))
        dh = self.initial_state(self.checked_state(dh_n, "dh_n"))
        dc = self.initial_state(self.checked_state(dc_n, "dc_n")) if self.mode == "lstm" else None
        grads = _grad_arrays(self, grads)
        order = fwd["order"]
        d_copy = None
        if order is not None:  # unit split: the kernel packs W_hh (unit-block rows)
            w_hh_p, w_hn_p = ws.empty(self.w_hh.size, self.dtype), None
            scratch = ws.zeros(2 * B * GH + B * (GH + H), self.dtype)
            d_copy = ws.empty((threads_per_direction, B, GH), self.dtype)
        else:
            w_hh_p, w_hn_p = self.w_hh_packed   # packed at the forward (keep_for_backward)
            # The batch split writes every scratch value before reading it
            # (tests/runtime/test_workspace.py poisons the pool to check): no fill.
            scratch = ws.empty((B, _recurrent.scratch_width(self.cell_code, H)), self.dtype)
        loop = dict(cell=self.cell_code, lengths=self.lengths, steps=self.steps, reverse=self.reverse,
                    w_hh_p=w_hh_p, w_hn_p=w_hn_p, w_hh=self.w_hh, order=order,
                    gates=fwd["gates"], hprev=fwd["hprev"],
                    cell_saved=fwd["cell_saved"], dout=dout, dh=dh, dc=dc, dgx=fwd["gates"],
                    dghn=fwd["cell_saved"] if self.cell_code == _GRU_CODE else None,
                    scratch=scratch, d_copy=d_copy)
        x = self.x   # keep_for_backward's copy, zero past the lengths
        flat = lambda a: None if a is None else a.reshape(N, a.shape[-1])  # noqa: E731
        weights = dict(cell=self.cell_code, dgx=flat(loop["dgx"]), dghn=flat(loop["dghn"]),
                       x=flat(x), hprev=flat(fwd["hprev"]), cell_saved=flat(fwd["cell_saved"]),
                       w_ih=self.w_ih, dx=None if x is None else np.empty((N, I), self.dtype),
                       dw_ih=grads["w_ih"], dw_hh=grads["w_hh"],
                       db=None if self.b_ih is None else np.empty(GH),
                       ids=None, emb=None, per_entry=None, per_entry_f=None)
        if self.ids is not None:
            V = len(self.emb)
            weights.update(ids=self.ids.reshape(-1), emb=self.emb,
                           per_entry=ws.empty((V, GH), np.float64),
                           per_entry_f=np.empty((V, GH), self.dtype))
        return loop, weights, grads

    def keep_for_backward(self, x_private, units, first=None):
        """After a training forward: take copies of what backward reads that
        the caller could change before calling it -- the input (unless
        ``x_private``: an array of fastrnn's own that nobody else holds), an
        embedded input's ids and table, and the weights (an optimizer step
        or ``load_state_dict`` writes them in place) -- so that backprop
        differentiates the values the forward saw.  The input's copy is
        zeroed past the lengths: dG is zero there, but 0 * inf = NaN, so
        whatever padding the caller left must not reach dW_ih = dG^T x.
        Each copy is one pass over an array the forward just read
        (``bench/kept_inputs.py`` measures what they cost).  A second direction
        reads the ``first`` direction's copy of the input.  In the batch
        split (not ``units``) W_hh is kept as the backward's packed operand,
        made now instead of at backprop (the copy it needs anyway); the
        hidden-unit split's backward packs it itself, from a copy."""
        self.kept = ws.Kept()
        if first is not None:
            self.x, self.ids, self.emb = first.x, first.ids, first.emb
        elif self.x is not None:
            if not x_private:
                self.x = self.kept(self.x)
            self.zero_padding(self.x)
        else:
            self.ids, self.emb = self.ids.copy(), self.kept(self.emb)
        self.w_ih = self.kept(self.w_ih)
        if units:
            self.w_hh = self.kept(self.w_hh)
        else:
            self.w_hh_packed = self.packed_recurrent_weights(transposed=False)
            self.w_hh = None   # nothing reads it any more

    def input_and_bias_grads(self, weights, grads):
        """Once the loops and :func:`_recurrent.weight_grads` are done: the
        gradient w.r.t. the input -- ``dx`` (T, B, I), or for an embedded
        input the one w.r.t. its weight (V, I), from the per-entry sums of
        the gate gradients -- and ``b_ih`` / ``b_hh``'s, from the kernel's
        float64 sums of the gate gradients (a float32 sum over T*B rows
        loses digits)."""
        if self.ids is None:
            dx = weights["dx"].reshape(self.T, self.B, self.I)
        else:
            with single_threaded_blas():   # (numpy's call: ~10 us less than _matmul's here)
                dx = weights["per_entry_f"] @ self.w_ih
            ws.release(weights["per_entry"])
        db = weights["db"]
        if db is not None:
            grads["b_ih"] += db.astype(self.dtype)
            if weights["dghn"] is not None:   # GRU: b_hn's gradient is dghn's sums
                column_sums(weights["dghn"], db[2 * self.H:])
            grads["b_hh"] += db.astype(self.dtype)
        return dx


def tanh(x):
    """``tanh(x)`` with the kernels' own vectorised tanh, *in place*: ``x``
    (a fresh float array the caller gives up) becomes the output.  Training
    (:func:`tanh_train`) and inference share it, hence their bits.  (numpy's
    float32 tanh is not vectorised on AVX2 CPUs: ~5x slower.)"""
    y = np.ascontiguousarray(x)
    if y.dtype not in (np.float32, np.float64):
        raise TypeError(f"x must be a float32 or float64 array, got dtype {y.dtype}")
    tanh_inplace(y)
    return y


def tanh_train(x):
    """``(tanh(x), backprop)`` for a head's activation: :func:`tanh`, in
    place, and ``backprop(dy)``, which scales ``dy`` in place by
    ``1 - y**2`` and returns it."""
    y = tanh(x)

    def backprop(dy):
        d = np.ascontiguousarray(dy, dtype=y.dtype)
        if d.shape != y.shape:
            raise ValueError(f"dy must have shape {y.shape}, got {d.shape}")
        if d is dy and not d.flags.writeable:
            d = d.copy()
        return tanh_grad_inplace(y, d)

    return y, backprop


_Plan = namedtuple("_Plan", "groups threads_per_direction units")

# Rows of each thread's input-projection products in the batch split.
CHUNK_ROWS = 64

# The hidden-unit split takes over when splitting the batch would give each
# thread fewer rows than this (see _plan) ...
UNIT_SPLIT_ROWS = 4
# ... and a step's recurrent product has at least this many multiply-adds:
# below it the barrier and the exchange of the state each step cost more
# than the split saves.  Measured at batch 1, T=100, 2 threads of Zen 4
# (AVX-512), unit split time / one thread's, alternating blocks
# (bench/unit_split.py): GRU H=128 (48K a step) 0.72-0.81, RNN H=192 (36K)
# 0.80-0.81 (one run 1.30), GRU H=96 (27K) 0.92-0.97, LSTM H=64 (16K)
# 0.95-1.69, GRU H=64 (12K) 1.18, LSTM H=32 (4K) 1.25.
UNIT_SPLIT_MIN_MACS = 1 << 15
# ... and the whole call at least this many: starting the team and its
# first steps cost tens of microseconds (frozen LSTM B=1, 2 threads, unit
# split / one thread, alternating blocks: H=128 (64K a step) at T=16 (1M in
# all) 1.23, T=32 (2M) 0.80-1.19, T=64 0.73; H=256 (256K a step) at T=4
# (1M) 0.85, T=8 0.77; GRU H=128 T=32 1.32, T=48 0.88).
UNIT_SPLIT_MIN_CALL_MACS = 1 << 21


def _packed(w, transposed):
    """``w`` packed for the step kernel, into a pooled buffer."""
    return _recurrent.pack(w, transposed, out=ws.empty(w.size, w.dtype))


# The internal arrays of a forward job, returned to the pool after the loop
# (training keeps gates, hprev, cell_saved for the backward pass).
_FORWARD_WORK = ("w_ih_t", "w_hh_t", "w_hn_t", "xc", "xw", "scratch", "h_alt", "h_copy",
                 "qa", "qs")


def _plan(calls):
    """How to run a layer's directions: ``groups`` (launches, each a list of
    calls run side by side), ``threads_per_direction`` (threads per call) and
    ``units`` (split the hidden units instead of the batch).

    When splitting the batch over all threads would leave each thread fewer
    than 4 rows (the step kernel's row tile) -- B < 4 * threads -- the two
    directions run in one launch, side by side on half the threads each
    (no Python round trip between them), which doubles each thread's rows:
    measured 1.45-1.5x faster at B = 1 and 1.2-1.3x at B = 4 on 2 threads
    (bench/bidirectional_side_by_side.py).  Otherwise
    each direction gets all the threads in turn, split over the batch (at
    B = 16 on 2 threads the two plans measured alike).

    Then, if a direction has several threads but too few rows for each to
    get UNIT_SPLIT_ROWS, its threads split the hidden units instead (one
    barrier per step; not for GRU reset_after=False, whose steps need two),
    provided a step has UNIT_SPLIT_MIN_MACS of work to share and the call
    UNIT_SPLIT_MIN_CALL_MACS.
    """
    nt = kernel_threads() if openmp_enabled() else 1
    B = calls[0].B
    if len(calls) == 2 and nt >= 2 and B < 4 * nt:
        groups, per = [calls], nt // 2
    else:
        groups, per = [[p] for p in calls], nt
    p = calls[0]
    macs = B * p.GH * p.H
    if per >= 2 and 0 < B < UNIT_SPLIT_ROWS * per and macs >= UNIT_SPLIT_MIN_MACS and \
            p.steps * macs >= UNIT_SPLIT_MIN_CALL_MACS and \
            p.cell_code != _GRU_RB_CODE:
        return _Plan(groups, per, True)
    return _Plan(groups, max(1, min(per, B)), False)


def _too_small_to_split(weights_job):
    """Whether a direction's after-loop products are too small to split
    over threads (below ~1M multiply-adds each: a parallel region then
    costs more than it saves)."""
    N, GH = weights_job["dgx"].shape
    width = weights_job["dw_hh"].shape[1] + (weights_job["dw_ih"].shape[1]
                                             if weights_job["x"] is not None else 0)
    return N * GH * width < 2**20


def _weight_grads(jobs):
    """The after-loop products of a layer's directions, all at once.  Two
    directions run side by side, each on its half of the threads -- measured
    on 2 threads (LSTM H=64, T*B = 640 to 1536 rows, dW_hh alone): 1.7-2.4x
    faster than one after the other on one thread, and 1.1x faster than
    each in turn split over both (OpenBLAS 0.3.31: concurrent single-threaded
    calls do not serialise at these sizes); a lone direction is split over
    every thread unless it is small."""
    nt = kernel_threads() if openmp_enabled() else 1
    with single_threaded_blas():
        if len(jobs) == 2 and nt >= 2 and not _too_small_to_split(jobs[0]):
            report_cores(_recurrent.weight_grads(jobs, nt // 2))
            return
        for job in jobs:
            report_cores(_recurrent.weight_grads([job], 1 if _too_small_to_split(job) else nt))


# fastrnn's threads are its OpenMP threads; every BLAS call it makes is
# single-threaded (single_threaded_blas()).  A threaded BLAS call would leave
# OpenBLAS workers spin-waiting for ~0.1 s on the cores the next OpenMP
# region needs (measured: loops 2-3x slower, side-by-side directions 3-10x).


def _rows_in_place(a, dtype):
    """Whether the kernels can read / write ``a`` (T, B, W) as it is: an array
    of ``dtype`` whose rows are contiguous and evenly spaced (C-contiguous,
    or a column slice of a C-contiguous array)."""
    return (isinstance(a, np.ndarray) and a.dtype == dtype and a.ndim == 3
            and evenly_spaced_rows(a.shape, a.strides, a.itemsize))


def _direction_outputs(out, calls):
    """Each direction's (T, B, H) column view of a concatenated ``out``
    (T, B, D*H) given by the caller, or Nones."""
    if out is None:
        return [None] * len(calls)
    p = calls[0]
    shape = (p.T, p.B, len(calls) * p.H)
    if not (isinstance(out, np.ndarray) and out.dtype == p.dtype and out.shape == shape
            and out.flags.c_contiguous and out.flags.writeable):
        raise ValueError(f"out must be a writeable C-contiguous {p.dtype.name} array of shape "
                         f"{shape}, got {getattr(out, 'dtype', type(out).__name__)} "
                         f"{getattr(out, 'shape', '')}")
    _detach_inputs(out, calls)
    return [out[..., d * p.H:(d + 1) * p.H] for d in range(len(calls))]


# The inputs a forward reads while it writes ``out``.
_INPUTS = ("x", "ids", "emb", "w_ih", "w_hh", "b_ih", "b_hh", "h0", "c0")


def _detach_inputs(out, calls):
    """Copy every input that shares memory with ``out`` (e.g. ``x`` when
    I = D*H and the caller passes one buffer as both): the kernels write a
    step's output while later steps' inputs are still to be read."""
    copies = {}
    for p in calls:
        for name in _INPUTS:
            a = getattr(p, name)
            if a is not None and overlap(a, out):
                if id(a) not in copies:   # the directions share x: one copy
                    copies[id(a)] = a.copy()
                setattr(p, name, copies[id(a)])


def _run_forward(calls, training, out=None):
    """Forward loops of a layer's directions -> (their forward jobs, the plan).

    The input projection runs inside the loops, on the step kernel, a chunk
    of steps at a time: in the batch split each thread projects its own
    rows, in the hidden-unit split its own gate columns.  The loops call no
    BLAS."""
    plan = _plan(calls)
    outs = iter(_direction_outputs(out, calls))
    jobs = []
    for group in plan.groups:
        group_jobs = [p.forward_job(plan.threads_per_direction, training, plan.units, next(outs))
                      for p in group]
        if group[0].B:   # a batch of no rows has its (empty) results already
            report_cores(_recurrent.forward(group_jobs, plan.threads_per_direction, plan.units))
        for job in group_jobs:
            ws.release(*(job.pop(k) for k in _FORWARD_WORK))
        jobs += group_jobs
    return jobs, plan


def _run_backward(calls, fwd_jobs, plan, prepared):
    """Backward loops and weight gradients of a layer's directions, with the
    plan their forward ran with (the workspace layout depends on it) and
    their prepared (checked) backward jobs."""
    if calls[0].B:
        i = 0
        for group in plan.groups:
            part = prepared[i:i + len(group)]
            report_cores(_recurrent.backward([loop for loop, _, _ in part],
                                             plan.threads_per_direction, plan.units))
            for loop, _, _ in part:
                ws.release(loop["w_hh_p"], loop["w_hn_p"], loop["scratch"], loop["d_copy"])
            i += len(group)
        _weight_grads([weights for _, weights, _ in prepared])
    else:   # no rows: zero gradients (the sums below read these)
        for _, weights, _ in prepared:
            for key in ("db", "per_entry_f"):
                if weights[key] is not None:
                    weights[key].fill(0)
    results = []
    for p, f, (loop, weights, grads) in zip(calls, fwd_jobs, prepared):
        dx = p.input_and_bias_grads(weights, grads)
        # dgx is the gates array, dghn the cell_saved one
        ws.release(loop["dgx"], f["hprev"], f["cell_saved"])
        results.append((dx, loop["dh"], loop["dc"], grads))
    for p in calls:
        p.kept.release()
    return results


def recurrent(mode, x, w_ih, w_hh, b_ih=None, b_hh=None, hx=None, cx=None,
              lengths=None, reverse=False, reset_after=True):
    """Run one recurrent layer in one direction (inference: keeps nothing).

    Parameters
    ----------
    mode : {"rnn_tanh", "rnn_relu", "lstm", "gru"}
    x : array_like, shape (T, B, I), or EmbeddedInput
        An :class:`EmbeddedInput` ``(ids (T, B), weight (V, I))`` stands for
        ``weight[ids]``, folded into the input projection (training then
        returns the gradient w.r.t. ``weight`` in place of ``dx``).
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
        (B may be 0: the results are then empty, as in PyTorch.)
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
    p = _DirectionCall.checked(mode, x, w_ih, w_hh, b_ih, b_hh, hx, cx, lengths, reverse,
                               reset_after)
    (result,) = _infer([p])
    return result


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
        ``dout`` / ``dh_n`` / ``dc_n`` means zeros.  It may be called once
        (a call refused for its arguments does not count).  It reads
        copies of ``x``, ``lengths`` and the weights taken at the forward:
        the caller may change its arrays in between.
    """
    p = _DirectionCall.checked(mode, x, w_ih, w_hh, b_ih, b_hh, hx, cx, lengths, reverse,
                               reset_after)
    (result,), backprop = _train([p])

    def backprop_one(dout=None, dh_n=None, dc_n=None, grads=None):
        (res,) = backprop([dout], [dh_n], [dc_n], [grads])
        return res

    return result, backprop_one


def bidirectional(mode, x, params, hx=None, cx=None, lengths=None, reset_after=True,
                  out=None):
    """Run a layer's directions -- forward and, with two ``params``,
    reverse -- side by side in one kernel launch (inference).

    ``params``: one ``(w_ih, w_hh, b_ih, b_hh)`` per direction; ``hx`` /
    ``cx``: one initial state (or None) per direction, or None.  Returns one
    ``(out, h_n, c_n)`` per direction, as :func:`recurrent`.  ``out``, a
    C-contiguous (T, B, D*H) array, receives the directions' outputs side by
    side (PyTorch's concatenation, written in place: the per-direction
    ``out`` returned are its column views).  An input sharing memory with
    ``out`` (``x`` itself, when I = D*H) is copied first.
    """
    calls = _direction_calls(mode, x, params, hx, cx, lengths, reset_after)
    return _infer(calls, out)


def bidirectional_train(mode, x, params, hx=None, cx=None, lengths=None, reset_after=True,
                        out=None):
    """:func:`bidirectional` keeping the training workspace.

    Returns ``results, backprop`` with ``backprop(douts, dh_ns, dc_ns,
    grads_list)`` taking one entry per direction (None: zeros / allocate;
    column views of a concatenated gradient are read in place) and
    returning one ``(dx, dh0, dc0, grads)`` per direction (sum the ``dx``).
    It may be called once.
    """
    return _train(_direction_calls(mode, x, params, hx, cx, lengths, reset_after), out)


def _infer(calls, out=None):
    """Inference forward of a layer's directions: one ``(out, h_n, c_n)`` each."""
    jobs, _ = _run_forward(calls, training=False, out=out)
    return [(j["out"], j["h"], j["c"]) for j in jobs]


def _train(calls, out=None, x_private=False):
    """Training forward of a layer's directions, and their one-shot backprop
    (``x_private``: the input is fastrnn's own, see
    :meth:`_DirectionCall.keep_for_backward`)."""
    jobs, plan = _run_forward(calls, training=True, out=out)
    for d, p in enumerate(calls):
        p.keep_for_backward(x_private, plan.units, calls[0] if d else None)
    saved = [calls, jobs]

    def backprop(douts=None, dh_ns=None, dc_ns=None, grads_list=None):
        if not saved:
            raise RuntimeError("backprop may be called only once (its workspace is freed after use)")
        probs, fwd = saved
        n = len(probs)
        douts, dh_ns, dc_ns, grads_list = (
            _per_direction(v, name, n) for v, name in
            ((douts, "douts"), (dh_ns, "dh_ns"), (dc_ns, "dc_ns"), (grads_list, "grads_list")))
        if probs[0].mode != "lstm" and any(d is not None for d in dc_ns):
            raise ValueError(f"dc_n is only used by mode 'lstm', got it for mode {probs[0].mode!r}")
        prepared = [p.backward_jobs(f, plan.threads_per_direction, *args) for p, f, *args in
                    zip(probs, fwd, douts, dh_ns, dc_ns, grads_list)]
        # Checked: from here on the workspace is overwritten (the gate
        # gradients replace the gates), so even a failed run uses it up; a
        # refused call above leaves it for a corrected retry.
        saved.clear()
        return _run_backward(probs, fwd, plan, prepared)

    return [(j["out"], j["h"], j["c"]) for j in jobs], backprop


def layer_directions(mode, x, params, hx, cx, lengths, reset_after, training, out=None,
                     x_private=False, packed=None):
    """A layer's directions on arguments it has checked itself (see
    :class:`_DirectionCall`; ``hx`` / ``cx`` one state or None per direction,
    ``lengths`` intp or None): :func:`bidirectional_train`'s result with
    ``training``, else :func:`bidirectional`'s, without checking them again.
    ``x_private``: ``x`` is an array of the layer's own that nobody else
    holds (training then keeps it without a copy); ``packed``: one
    :class:`PackedDirection` of ``params`` per direction (inference), or None."""
    if lengths is not None:
        lengths = _lengths_info(lengths, x.shape[0])
    if isinstance(x, EmbeddedInput) and not isinstance(x, _CheckedEmbeddedInput):
        x = _CheckedEmbeddedInput(np.ascontiguousarray(x.ids, dtype=np.intp), x.weight)
    packed = [None] * len(params) if packed is None else packed
    calls = [_DirectionCall(mode, reset_after, x, w, h0, c0, lengths, d == 1, pk)
                for d, (w, h0, c0, pk) in enumerate(zip(params, hx, cx, packed))]
    return _train(calls, out, x_private) if training else _infer(calls, out)


def _direction_calls(mode, x, params, hx, cx, lengths, reset_after):
    """One validated call per direction (direction d > 0 runs reversed)."""
    if not isinstance(params, (list, tuple)) or len(params) not in (1, 2):
        got = f"{len(params)} entries" if isinstance(params, (list, tuple)) else type(params).__name__
        raise ValueError(f"params must be a list of 1 or 2 (w_ih, w_hh, b_ih, b_hh) tuples, "
                         f"got {got}")
    for d, w in enumerate(params):
        if not isinstance(w, (list, tuple)) or len(w) != 4:
            got = f"length {len(w)}" if isinstance(w, (list, tuple)) else type(w).__name__
            raise ValueError(f"params[{d}] must be a tuple (w_ih, w_hh, b_ih, b_hh), got {got}")
    hx = _per_direction(hx, "hx", len(params))
    cx = _per_direction(cx, "cx", len(params))
    calls = []
    for d, (w, h0, c0) in enumerate(zip(params, hx, cx)):
        calls.append(_DirectionCall.checked(mode, x, *w, h0, c0, lengths, d == 1, reset_after))
        if calls[-1].dtype != calls[0].dtype:
            raise TypeError(f"params[{d}] must have params[0]'s dtype {calls[0].dtype.name}, "
                            f"got {calls[-1].dtype.name}")
        # validated once, shared
        x = calls[0].x if calls[0].x is not None else \
            _CheckedEmbeddedInput(calls[0].ids, calls[0].emb)
        lengths = calls[0].lengths
    return calls


def _per_direction(values, name, n, allow_none=True):
    """``values``: None (for every direction) or one entry per direction."""
    if values is None and allow_none:
        return [None] * n
    if not isinstance(values, (list, tuple)) or len(values) != n:
        got = len(values) if isinstance(values, (list, tuple)) else \
            type(values).__name__
        raise ValueError(f"{name} must hold one entry per direction ({n}), got {got}")
    return list(values)


def _grad_arrays(p, grads):
    if grads is not None and not isinstance(grads, dict):
        raise TypeError(f"grads must be a dict or None, got {type(grads).__name__}")
    grads = {} if grads is None else grads
    shapes = {"w_ih": p.w_ih.shape, "w_hh": (p.GH, p.H)}
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

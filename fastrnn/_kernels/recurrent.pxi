"""Fused time loops shared by every recurrent cell (RNN, LSTM, GRU x2).

One machinery, five cells: the per-step GEMM, the lengths / direction
bookkeeping, the workspace layout and the batch parallelism live here; each
cell contributes only its elementwise row math (``cells.pxd``).

Layout (row-major, C-contiguous; N = T * B, row index ``t * B + b``):

==========  ==========  ======================================================
array       shape       content
==========  ==========  ======================================================
xc, xw      (B*TC, I),  those steps' x rows gathered, and their input
            (B*TC, GH)  projection x @ W_ih^T + folded biases, for the next
                        TC steps (batch split: each thread its block of
                        TC * its rows; unit split: xc per thread, xw shared)
gates       (T, B, GH)  activated gates at each valid (t, b); the backward
                        pass replaces them with the gate gradients [training]
hprev       (T, B, H)   state before each valid (t, b)              [training]
cell_saved  (T, B, H)   what the cell's backward needs besides hprev: LSTM:
                        c before (t, b); GRU: W_hn h + b_hn (then its
                        gradient); GRU reset_after=False: r * h_prev [training]
scratch     (B, SS)     per-row buffers of the current step (SS = the Loop's
                        scratch_stride): recurrent product, inference gates,
                        staged gradients
==========  ==========  ======================================================

Every workspace array is indexed by *time*, not by step, so the reverse
direction with ragged lengths (row b at step s sits at time L_b - 1 - s) lines
up with x for the weight-gradient GEMMs after the loop.  Positions past a
row's length are never written (the caller zero-fills them).  Nothing is
kept per step beyond the training workspace: inference needs O(B * (I + GH)
* TC) besides its outputs, whatever T.

Parallelism: the batch is split into ``nparts`` contiguous row ranges; each
OpenMP thread runs the whole time loop on its rows (barrier-free, ONNX
Runtime's scheme).  Every TC steps a thread projects its rows' inputs of
the next TC steps in one product (TC * rows >= 64 rows, so each packed
panel of W_ih^T is reused across many row tiles, and the buffers stay
O(TC * B * (I + GH)) instead of the whole (T, B, GH) projection).  The
products use the step kernel of ``csrc/stepgemm.h`` on weights packed once
per call, not BLAS: concurrent small OpenBLAS calls serialise on its buffer
pool, and a threaded BLAS call next to the loop leaves BLAS workers spinning
on the cores the loop needs.  The after-loop gradients split the same way,
each thread making a few large single-threaded BLAS calls.

For a batch too small to split (fewer rows than the step kernel's 4-row
tile per thread, batch 1 above all) the *hidden units* are split instead:
each thread owns whole blocks of units, computes their gate columns for
every row, and the team meets at one barrier per step (the next product
needs every unit of the new state).  The products' gate columns are then
in unit-block order (:func:`unit_order`), so a thread's columns are
contiguous and its slice of the packed weights is whole panels; what the
kernels store (gates, their gradients) stays in PyTorch's order.
"""
cimport cpython
cimport numpy as cnp
from cython.parallel cimport prange, parallel
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset

from .blas cimport gemm, NoTrans, Trans
from .lowpgemm cimport (FR_PRECISION_NATIVE, FR_PRECISION_INT8, FR_PRECISION_BF16,
                        fr_lowp_bytes, fr_lowp_row_bytes, fr_lowp_pack,
                        fr_lowp_use, fr_lowp_int8_name, fr_lowp_has_bf16, fr_lowp_step,
                        fr_lowp_rows, fr_lowp_product,
                        fr_lowp_kernels, fr_lowp_kernels_for, fr_lowp_has_bf16_in,
                        fr_lowp_step_with)
from .stepgemm cimport (step_gemm, pack_panels, fr_stepgemm_use, fr_stepgemm_isa,
                        fr_stepgemm_unit_bytes, fr_cpu_isa, fr_step_kernels,
                        fr_step_kernels_for, isa_code, isa_names)
from .cells cimport (rnn_forward, rnn_backward, lstm_forward, lstm_backward,
                      gru_forward, gru_backward, gru_rb_gates, gru_rb_update,
                      gru_rb_backward_zn, gru_rb_backward_r)
from .activations cimport sigmoid, tanh, fr_simd_flags
from .openmp cimport (FR_OPENMP_ENABLED, FR_OPENMP_VERSION, omp_get_num_procs,
                       omp_get_thread_num, omp_get_num_threads, fr_team_barrier,
                       fr_team_barrier_init, fr_team_barrier_wait, fr_thread_cpu_seconds,
                       fr_wall_seconds, core_share)
from cython cimport floating
from libc.stdint cimport uint8_t

import functools

import numpy as np

cnp.import_array()

# Cell codes; fastrnn.functional maps mode names onto them.
cdef enum:
    RNN_TANH = 0
    RNN_RELU = 1
    LSTM = 2
    GRU = 3       # reset_after=True  (PyTorch, cuDNN, Keras default)
    GRU_RB = 4    # reset_after=False (Cho et al. 2014, ONNX linear_before_reset=0)

CELL_CODES = {"rnn_tanh": RNN_TANH, "rnn_relu": RNN_RELU, "lstm": LSTM,
              "gru": GRU, "gru_reset_before": GRU_RB}
NUM_GATES = {RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3, GRU_RB: 3}


def scratch_width(int cell, Py_ssize_t hidden):
    """Columns of the per-row scratch buffer a cell needs (forward and backward).

    The last G*H columns receive the activated gates in inference, so that
    the gate row never aliases the recurrent product it is computed from
    (aliasing would stop the compiler from vectorising the cell loops).
    """
    cdef Py_ssize_t G = NUM_GATES[cell]
    if cell == RNN_TANH or cell == RNN_RELU:
        return hidden + G * hidden
    # LSTM: 4 gates.  GRU: 3 gates + W_hn h (inference).  GRU_RB: r, z,
    # r*h (or dn), and the second GEMM's result (or d(r*h)).
    return 4 * hidden + G * hidden


cdef struct Loop:
    int cell
    Py_ssize_t B, input_size, H, GH, steps   # (not "I": complex.h defines I)
    Py_ssize_t scratch_stride  # row stride of the scratch buffer
    Py_ssize_t TC              # batch split: steps projected at a time
    bint reverse
    const Py_ssize_t* lengths
    Py_ssize_t UB              # hidden-unit split: units per block (0: batch split)
    Py_ssize_t out_stride      # row stride of out (forward) / dout (backward): H, or wider
                               # for a direction's columns of a concatenated output
    Py_ssize_t V               # weight gradients of an embedded input: its entries
    fr_team_barrier* barrier   # hidden-unit split: the team's per-step barrier
    Py_ssize_t packed_parts    # hidden-unit split: w_ih_u / w_hh_u are packed for this
                               # many parts (0: not given, the parts pack their own)
    int precision              # FR_PRECISION_*: the recurrent weights' (float32 loops only)
    int input_precision        # FR_PRECISION_*: the input weights' (W_ih)
    Py_ssize_t qa_stride       # low precision: bytes per row of the converted-rows scratch


cdef inline Py_ssize_t _time(const Loop* lp, Py_ssize_t b, Py_ssize_t s) noexcept nogil:
    """Time index of row b at step s, or -1 when the row is past its length."""
    cdef Py_ssize_t L = lp.lengths[b]
    if s >= L:
        return -1
    return L - 1 - s if lp.reverse else s


# --------------------------------------------------------------------- forward
cdef inline void _product(const Loop* lp, int m, int n, int k, const floating* A, int lda,
                          const void* Bp, floating beta, floating* C, int ldc,
                          uint8_t* qa, float* qs) noexcept nogil:
    """The forward loop's products: ``step_gemm`` on weights packed in the
    loop's float type, or, for weights packed at a lower precision (float32
    loops only), ``fr_lowp_step`` converting A's rows into the thread's
    scratch ``qa`` (rows of ``lp.qa_stride`` bytes) and ``qs`` (row scales)."""
    if floating is float:
        if lp.precision != FR_PRECISION_NATIVE:
            fr_lowp_step(lp.precision, m, n, k, A, lda, <const uint8_t*> Bp, beta, C, ldc,
                         qa, lp.qa_stride, qs)
            return
    step_gemm(m, n, k, A, lda, <const floating*> Bp, beta, C, ldc)


cdef void _project_chunk(const Loop* lp, Py_ssize_t b0, Py_ssize_t b1, Py_ssize_t s0,
                         Py_ssize_t ns, const floating* x, const floating* w_ih_t,
                         const floating* bias, floating* xc, floating* xwc, Py_ssize_t j0,
                         Py_ssize_t nc, const Py_ssize_t* ids,
                         const floating* table, uint8_t* qa, float* qs) noexcept nogil:
    """Input projection of steps s0 .. s0+ns-1 for rows b0..b1 in one
    product: gathers each row's x at its own time index (reverse / ragged
    rows differ; a finished row gets zeros) into ``xc``, then ``xwc =
    bias + xc @ W_ih^T`` on gate columns [j0, j0 + nc) (all of them in the
    batch split, the thread's own in the unit split): ``w_ih_t`` is those
    columns' operand (packed panels, or at ``lp.input_precision`` a blob,
    whose rows are converted into ``qa`` / ``qs`` straight from x).  Row
    (s - s0) * nb + (b - b0) of both is (s, b).

    An embedded input (``ids`` (T, B) given, x None) has its projections
    precomputed per vocabulary entry: ``table`` (V, GH) = bias + E @ W_ih^T,
    so a row is a copy of its id's table row, no product."""
    cdef Py_ssize_t nb = b1 - b0, I = lp.input_size, GH = lp.GH, s, b, t, r
    cdef const float* row
    if floating is float:
        if lp.input_precision != FR_PRECISION_NATIVE and ids == NULL:
            # Low precision: each row converted straight from x (no gathered copy).
            for s in range(ns):
                for b in range(b0, b1):
                    r = s * nb + (b - b0)
                    t = _time(lp, b, s0 + s)
                    if t >= 0:
                        row = x + (t * lp.B + b) * I
                    else:
                        memset(xc + r * I, 0, I * sizeof(floating))
                        row = xc + r * I
                    fr_lowp_rows(lp.input_precision, 1, <int> I, row, I, qa + r * lp.qa_stride,
                                 lp.qa_stride, qs + r)
            # (the product adds the bias as it stores: no copy of it per row)
            fr_lowp_product(lp.input_precision, <int> (ns * nb), <int> nc, <int> I, qa, lp.qa_stride,
                            qs, <const uint8_t*> w_ih_t, 0, bias + j0, xwc + j0, <int> GH)
            return
    if ids != NULL:
        for s in range(ns):
            for b in range(b0, b1):
                r = s * nb + (b - b0)
                t = _time(lp, b, s0 + s)
                memcpy(xwc + r * GH + j0, (table + ids[t * lp.B + b] * GH if t >= 0 else bias) + j0,
                       nc * sizeof(floating))
        return
    for s in range(ns):
        for b in range(b0, b1):
            r = s * nb + (b - b0)
            t = _time(lp, b, s0 + s)
            if t >= 0:
                memcpy(xc + r * I, x + (t * lp.B + b) * I, I * sizeof(floating))
            else:
                memset(xc + r * I, 0, I * sizeof(floating))
            memcpy(xwc + r * GH + j0, bias + j0, nc * sizeof(floating))
    step_gemm(<int> (ns * nb), <int> nc, <int> I, xc, <int> I, w_ih_t, <floating> 1,
              xwc + j0, <int> GH)


cdef void _forward_rows(const Loop* lp, Py_ssize_t b0, Py_ssize_t b1,
                        const ForwardArrays* a, floating tag) noexcept nogil:
    """The forward time loop over batch rows b0..b1 of a :func:`forward` job."""
    cdef const floating* x = <floating*> a.x            # IN  (T, B, I)
    cdef const floating* w_ih_t = <floating*> a.w_ih_t  # IN  W_ih^T packed
    cdef const floating* bias = <floating*> a.bias      # IN  (GH,)
    cdef floating* XWC = <floating*> a.xw               # scratch (B * TC, GH)
    cdef const floating* w_hh_t = <floating*> a.w_hh_t  # IN  W_hh^T packed (GRU_RB: r, z columns)
    cdef const floating* w_hn_t = <floating*> a.w_hn_t  # IN  W_hn^T packed, GRU_RB only
    cdef const floating* b_hn = <floating*> a.b_hn      # IN  (H,) GRU only
    cdef floating* h = <floating*> a.h                  # IN/OUT (B, H)
    cdef floating* c = <floating*> a.c                  # IN/OUT (B, H) LSTM only
    cdef floating* out = <floating*> a.out              # OUT (T, B, H)
    cdef floating* S = <floating*> a.scratch            # scratch (B, scratch_stride)
    cdef floating* gates = <floating*> a.gates          # OUT (T, B, GH) or NULL
    cdef floating* hprev = <floating*> a.hprev          # OUT (T, B, H) or NULL
    cdef floating* cell_saved = <floating*> a.cell_saved  # OUT (T, B, H) or NULL
    cdef floating* XC = <floating*> a.xc                # scratch (B * TC, I)
    cdef const Py_ssize_t* ids = <Py_ssize_t*> a.ids    # IN  (T, B) embedded input, or NULL
    cdef const floating* table = <floating*> a.table    # IN  (V, GH) with ids
    cdef uint8_t* QA = <uint8_t*> a.qa                  # scratch (B * TC, qa_stride) low precision
    cdef float* QS = <float*> a.qs                      # scratch (B * TC,) low precision
    cdef Py_ssize_t H = lp.H, GH = lp.GH, scratch_stride = lp.scratch_stride, B = lp.B, TC = lp.TC
    cdef Py_ssize_t gate_slot = scratch_stride - GH   # inference gate slot of a scratch row
    cdef int nb = <int> (b1 - b0)
    cdef int cell = lp.cell
    cdef bint train = gates != NULL
    cdef int ncols = <int> (2 * H if cell == GRU_RB else GH)
    cdef Py_ssize_t s, b, t, row
    cdef floating* sr
    cdef floating* g
    cdef const floating* xr
    # This thread's blocks of the chunk buffers.
    cdef floating* xc = XC + b0 * TC * lp.input_size
    cdef floating* xwc = XWC + b0 * TC * GH
    cdef uint8_t* qa = NULL if QA == NULL else QA + b0 * TC * lp.qa_stride
    cdef float* qs = NULL if QS == NULL else QS + b0 * TC
    for s in range(lp.steps):
        if s % TC == 0:
            _project_chunk(lp, b0, b1, s, min(TC, lp.steps - s), x, w_ih_t, bias, xc, xwc,
                           0, GH, ids, table, qa, qs)
        # Recurrent product of this thread's rows (for GRU_RB: r and z only).
        _product(lp, nb, ncols, <int> H, h + b0 * H, <int> H, w_hh_t,
                 <floating> 0, S + b0 * scratch_stride, <int> scratch_stride, qa, qs)
        for b in range(b0, b1):
            t = _time(lp, b, s)
            if t < 0:
                continue  # frozen: state unchanged, output stays zero
            row = t * B + b
            sr = S + b * scratch_stride
            xr = xwc + ((s % TC) * nb + (b - b0)) * GH
            g = gates + row * GH if train else sr + gate_slot
            if train:
                memcpy(hprev + row * H, h + b * H, H * sizeof(floating))
                if cell == LSTM:
                    memcpy(cell_saved + row * H, c + b * H, H * sizeof(floating))
            if cell == LSTM:
                lstm_forward(H, xr, sr, g, H, h + b * H, c + b * H, out + row * lp.out_stride)
            elif cell == GRU:
                gru_forward(H, xr, sr, b_hn, g, H, cell_saved + row * H if train else sr + 3 * H,
                            h + b * H, out + row * lp.out_stride)
            elif cell == GRU_RB:
                gru_rb_gates(H, xr, sr, g, h + b * H, sr + 2 * H)
                if train:
                    memcpy(cell_saved + row * H, sr + 2 * H, H * sizeof(floating))
            else:
                rnn_forward(H, cell == RNN_RELU, xr, sr, g, H, h + b * H, out + row * lp.out_stride)
        if cell == GRU_RB:
            # Second product of the step: (r * h) @ W_hn^T.
            _product(lp, nb, <int> H, <int> H, S + b0 * scratch_stride + 2 * H,
                     <int> scratch_stride, w_hn_t,
                     <floating> 0, S + b0 * scratch_stride + 3 * H, <int> scratch_stride, qa, qs)
            for b in range(b0, b1):
                t = _time(lp, b, s)
                if t < 0:
                    continue
                row = t * B + b
                sr = S + b * scratch_stride
                xr = xwc + ((s % TC) * nb + (b - b0)) * GH
                g = gates + row * GH if train else sr + gate_slot
                gru_rb_update(H, xr, sr + 3 * H, g, h + b * H, out + row * lp.out_stride)


# -------------------------------------------------------------------- backward
cdef void _backward_rows(const Loop* lp, Py_ssize_t b0, Py_ssize_t b1,
                         const BackwardArrays* a, floating tag) noexcept nogil:
    """The backward time loop over batch rows b0..b1 of a :func:`backward` job."""
    cdef const floating* w_hh = <floating*> a.w_hh_p    # IN  W_hh packed (GRU_RB: its r, z rows)
    cdef const floating* w_hn = <floating*> a.w_hn_p    # IN  W_hn packed, GRU_RB only
    cdef const floating* gates = <floating*> a.gates    # IN  (T, B, GH)
    cdef const floating* hprev = <floating*> a.hprev    # IN  (T, B, H)
    cdef const floating* cell_saved = <floating*> a.cell_saved  # IN (T, B, H) or NULL (RNN)
    cdef const floating* dout = <floating*> a.dout      # IN  (T, B, H) or NULL
    cdef floating* dh = <floating*> a.dh                # IN/OUT (B, H): dh_n -> dh0
    cdef floating* dc = <floating*> a.dc                # IN/OUT (B, H): dc_n -> dc0 (LSTM)
    cdef floating* dgx = <floating*> a.dgx              # OUT (T, B, GH), zero-filled; may be gates
    # OUT (T, B, H) GRU only, zero-filled; may be cell_saved
    cdef floating* dghn = <floating*> a.dghn
    cdef floating* S = <floating*> a.scratch            # scratch (B, scratch_stride)
    cdef Py_ssize_t H = lp.H, GH = lp.GH, scratch_stride = lp.scratch_stride, B = lp.B
    # The cells write a row's gate gradients into this slot of its scratch
    # row (GRU: dghn into columns 3H..4H), copied out once the row's gates
    # are read: dgx may overwrite the gates and dghn the W_hn h + b_hn they
    # are computed from (no second workspace), and the cell loops never see
    # their input and output alias (which would stop them vectorising).
    cdef Py_ssize_t gate_slot = scratch_stride - GH
    cdef int nb = <int> (b1 - b0)
    cdef int cell = lp.cell
    # Columns of the scratch row that feed the GEMMs and must be zero for
    # rows past their length (so the GEMMs add nothing to their dh).
    cdef Py_ssize_t live = 3 * H if cell == GRU_RB else GH
    cdef Py_ssize_t s, b, t, row, j
    cdef floating* sr
    cdef floating* dhb
    for s in range(lp.steps - 1, -1, -1):
        for b in range(b0, b1):
            sr = S + b * scratch_stride
            t = _time(lp, b, s)
            if t < 0:
                memset(sr, 0, live * sizeof(floating))
                continue
            row = t * B + b
            dhb = dh + b * H
            if dout != NULL:
                for j in range(H):
                    dhb[j] += dout[row * lp.out_stride + j]
            if cell == LSTM:
                lstm_backward(H, gates + row * GH, H, cell_saved + row * H, dhb, dc + b * H,
                              sr + gate_slot, sr)
            elif cell == GRU:
                gru_backward(H, gates + row * GH, H, cell_saved + row * H, hprev + row * H, dhb,
                             sr + gate_slot, sr, sr + 3 * H)
                memcpy(dghn + row * H, sr + 3 * H, H * sizeof(floating))
            elif cell == GRU_RB:
                gru_rb_backward_zn(H, gates + row * GH, hprev + row * H, dhb, sr + gate_slot, sr)
                continue  # its reset gate's pass comes after the W_hn product
            else:
                rnn_backward(H, cell == RNN_RELU, gates + row * GH, H, dhb, sr + gate_slot, sr)
            memcpy(dgx + row * GH, sr + gate_slot, GH * sizeof(floating))
        if cell == GRU_RB:
            # d(r*h) = dn @ W_hn, then the reset gate, then the r/z GEMM.
            step_gemm(nb, <int> H, <int> H, S + b0 * scratch_stride + 2 * H,
                      <int> scratch_stride, w_hn,
                      <floating> 0, S + b0 * scratch_stride + 3 * H, <int> scratch_stride)
            for b in range(b0, b1):
                t = _time(lp, b, s)
                if t < 0:
                    continue
                row = t * B + b
                sr = S + b * scratch_stride
                gru_rb_backward_r(H, gates + row * GH, hprev + row * H, sr + 3 * H,
                                  dh + b * H, sr + gate_slot, sr)
                memcpy(dgx + row * GH, sr + gate_slot, GH * sizeof(floating))
            step_gemm(nb, <int> H, <int> (2 * H), S + b0 * scratch_stride,
                      <int> scratch_stride, w_hh,
                      <floating> 1, dh + b0 * H, <int> H)
        else:
            step_gemm(nb, <int> H, <int> GH, S + b0 * scratch_stride, <int> scratch_stride, w_hh,
                      <floating> 1, dh + b0 * H, <int> H)


# ------------------------------------------------------ hidden-unit split
cdef inline void _unit_range(const Loop* lp, Py_ssize_t part, Py_ssize_t nparts,
                             Py_ssize_t* u0, Py_ssize_t* u1) noexcept nogil:
    """Hidden units [u0, u1) of part ``part`` of ``nparts``: whole blocks of
    UB units (a part at or past ``nparts`` gets none)."""
    cdef Py_ssize_t nblk = (lp.H + lp.UB - 1) // lp.UB
    if part >= nparts:
        u0[0] = 0
        u1[0] = 0
        return
    u0[0] = min(part * nblk // nparts * lp.UB, lp.H)
    u1[0] = min((part + 1) * nblk // nparts * lp.UB, lp.H)


cdef Py_ssize_t _low_part_offset(const Loop* lp, int precision, Py_ssize_t part,
                                 Py_ssize_t nparts, Py_ssize_t k) noexcept nogil:
    """Where part ``part``'s blob of a W^T (k rows) packed at ``precision``
    for the hidden-unit split starts, in bytes: the parts' blobs lie one after
    another, each of its own G * (u1 - u0) columns (padded to whole panels)."""
    cdef Py_ssize_t q, u0, u1, offset = 0, G = lp.GH // lp.H
    for q in range(part):
        _unit_range(lp, q, nparts, &u0, &u1)
        offset += fr_lowp_bytes(precision, <int> k, <int> (G * (u1 - u0)))
    return offset


cdef inline void _cell_forward_units(const Loop* lp, Py_ssize_t u0, Py_ssize_t u1,
                                     const floating* xr, floating* sr, floating* g,
                                     const floating* b_hn, floating* hn, floating* h,
                                     floating* c, floating* out) noexcept nogil:
    """The cell on units [u0, u1) of one row, block by block.  ``xr``,
    ``sr``: the row's gate rows in unit-block order (block k of n units holds
    its G gates, n apart, from column G * k * UB); ``g``: its gate row in
    PyTorch's order; the rest: per-unit rows."""
    cdef Py_ssize_t u = u0, n, col, G = lp.GH // lp.H
    while u < u1:
        n = min(lp.UB, u1 - u)
        col = G * u
        if lp.cell == LSTM:
            lstm_forward(n, xr + col, sr + col, g + u, lp.H, h + u, c + u, out + u)
        elif lp.cell == GRU:
            gru_forward(n, xr + col, sr + col, b_hn + u, g + u, lp.H, hn + u, h + u, out + u)
        else:
            rnn_forward(n, lp.cell == RNN_RELU, xr + col, sr + col, g + u, lp.H, h + u, out + u)
        u += n


cdef const floating* _unit_part_weights(const Loop* lp, int precision, Py_ssize_t part,
                                        Py_ssize_t nparts, Py_ssize_t k, Py_ssize_t nc,
                                        const floating* w, const floating* packed,
                                        floating* scratch, const Py_ssize_t* cols,
                                        Py_ssize_t j0) noexcept nogil:
    """This part's operand of W^T (k rows; its nc gate columns ``cols`` of
    ``w``): in ``packed`` when that was packed for a team of ``nparts``,
    else packed now into ``scratch`` (in parallel, into the part's own
    cache).  In the loop's float type, the part's panels from column j0
    on; at a low ``precision`` (float32 loops), the part's blob."""
    cdef Py_ssize_t offset
    if precision == FR_PRECISION_NATIVE:
        if lp.packed_parts == nparts:
            return packed + j0 * k
        pack_panels(<int> k, <int> nc, w, 1, k, NULL, cols, scratch + j0 * k)
        return scratch + j0 * k
    offset = _low_part_offset(lp, precision, part, nparts, k)
    if lp.packed_parts == nparts:
        return <const floating*> (<const uint8_t*> packed + offset)
    if floating is float:
        fr_lowp_pack(precision, <int> k, <int> nc, w, 1, k, cols, <uint8_t*> scratch + offset)
    return <const floating*> (<const uint8_t*> scratch + offset)


cdef void _forward_units(const Loop* lp, Py_ssize_t part, Py_ssize_t nparts,
                         const ForwardArrays* a, floating tag) noexcept nogil:
    """The forward time loop on this part's hidden units of every batch row.

    The part first packs its own gate columns of W_ih^T and W_hh^T; every
    TC steps it projects its columns of the next TC steps' inputs (bias +
    x @ W_ih^T into ``xw``, from its own gathered copy of those x rows);
    each step multiplies the whole previous state by its columns of W_hh^T
    and runs the cell on its units.
    The state alternates between ``h`` and ``h_alt``: a step reads one and
    writes the other, so the one barrier that ends each step is enough.
    Every member of the team reaches every barrier, units or not.  ``a``:
    a :func:`forward` job's arrays; ``xw`` and the products in unit-block order, ``gates``
    in PyTorch's; scratch rows hold [product GH, unit-block order |
    inference gates GH | GRU W_hn h + b_hn, H]."""
    cdef const floating* x = <floating*> a.x            # IN  (T, B, I)
    cdef const floating* w_ih = <floating*> a.w_ih      # IN  (GH, I)
    cdef floating* w_ih_t = <floating*> a.w_ih_t        # OUT W_ih^T packed, unit order
    cdef const floating* bias = <floating*> a.bias      # IN  (GH,) unit order
    cdef floating* xw = <floating*> a.xw                # scratch (TC * B, GH) unit order
    cdef floating* w_hh_t = <floating*> a.w_hh_t        # OUT W_hh^T packed, unit order
    cdef const floating* b_hn = <floating*> a.b_hn      # IN  (H,) GRU only
    cdef floating* h = <floating*> a.h                  # IN/OUT (B, H)
    cdef floating* c = <floating*> a.c                  # IN/OUT (B, H) LSTM only
    cdef floating* out = <floating*> a.out              # OUT (T, B, H)
    cdef floating* S = <floating*> a.scratch            # scratch (B, scratch_stride)
    cdef floating* gates = <floating*> a.gates          # OUT (T, B, GH) or NULL
    cdef floating* hprev = <floating*> a.hprev          # OUT (T, B, H) or NULL
    cdef floating* cell_saved = <floating*> a.cell_saved  # OUT (T, B, H) or NULL
    cdef floating* h_alt = <floating*> a.h_alt          # scratch (B, H)
    cdef const floating* w_hh = <floating*> a.w_hh      # IN  (GH, H)
    cdef const Py_ssize_t* order = <Py_ssize_t*> a.order  # IN  (GH,) unit_order
    cdef floating* XC = <floating*> a.xc                # scratch (parts, TC * B, I)
    cdef const Py_ssize_t* ids = <Py_ssize_t*> a.ids    # IN  (T, B) embedded input, or NULL
    cdef const floating* table = <floating*> a.table    # IN  (V, GH) unit order, with ids
    cdef floating* h_copy = <floating*> a.h_copy        # scratch (parts, B, H)
    cdef const floating* w_ih_u = <floating*> a.w_ih_u  # IN  W_ih^T packed per part, or NULL
    cdef const floating* w_hh_u = <floating*> a.w_hh_u  # IN  W_hh^T packed per part, or NULL
    cdef Py_ssize_t H = lp.H, GH = lp.GH, scratch_stride = lp.scratch_stride, B = lp.B
    cdef Py_ssize_t G = GH // H, I = lp.input_size
    cdef Py_ssize_t TC = lp.TC
    cdef Py_ssize_t u0, u1, nu, j0, nc, s, b, t, row
    cdef int team = omp_get_num_threads()
    cdef bint train = gates != NULL
    cdef floating* cur = h
    cdef floating* nxt = h_alt
    cdef floating* tmp
    cdef floating* sr
    cdef floating* own = NULL
    cdef const floating* w_ih_p = NULL
    cdef const floating* w_hh_own = NULL
    # Low precision (W_ih's only where W_hh's is): the part's block of the
    # converted rows.
    cdef uint8_t* qa = NULL
    cdef float* qs = NULL
    _unit_range(lp, part, nparts, &u0, &u1)
    nu = u1 - u0
    j0 = G * u0
    nc = G * nu
    if nu > 0:
        own = h_copy + part * B * H
        if lp.precision != FR_PRECISION_NATIVE:
            qa = <uint8_t*> a.qa + part * TC * B * lp.qa_stride
            qs = <float*> a.qs + part * TC * B
        w_ih_p = _unit_part_weights(lp, lp.input_precision, part, nparts, I, nc, w_ih,
                                    w_ih_u, w_ih_t, order + j0, j0)
        w_hh_own = _unit_part_weights(lp, lp.precision, part, nparts, H, nc, w_hh,
                                      w_hh_u, w_hh_t, order + j0, j0)
    for s in range(lp.steps):
        if nu > 0:
            if s % TC == 0:
                _project_chunk(lp, 0, B, s, min(TC, lp.steps - s), x, w_ih_p, bias,
                               XC + part * TC * B * I, xw, j0, nc, ids, table, qa, qs)
            # The state the other parts just wrote, copied in one burst of
            # independent loads: read in the product's order, each of their
            # cache lines would stall it in turn (bench/unit_step.c).
            memcpy(own, cur, B * H * sizeof(floating))
            _product(lp, <int> B, <int> nc, <int> H, own, <int> H, w_hh_own,
                     <floating> 0, S + j0, <int> scratch_stride, qa, qs)
            for b in range(B):
                memcpy(nxt + b * H + u0, own + b * H + u0, nu * sizeof(floating))
                t = _time(lp, b, s)
                if t < 0:
                    continue  # frozen: the state carries over, output stays zero
                row = t * B + b
                sr = S + b * scratch_stride
                if train:
                    memcpy(hprev + row * H + u0, own + b * H + u0, nu * sizeof(floating))
                    if lp.cell == LSTM:
                        memcpy(cell_saved + row * H + u0, c + b * H + u0, nu * sizeof(floating))
                _cell_forward_units(
                    lp, u0, u1, xw + ((s % TC) * B + b) * GH, sr,
                    gates + row * GH if train else sr + GH, b_hn,
                    cell_saved + row * H if (train and lp.cell == GRU) else sr + 2 * GH,
                    nxt + b * H, c + b * H if lp.cell == LSTM else NULL, out + row * lp.out_stride)
        fr_team_barrier_wait(lp.barrier, team)
        tmp = cur
        cur = nxt
        nxt = tmp
    if cur != h:
        for b in range(B):
            memcpy(h + b * H + u0, cur + b * H + u0, nu * sizeof(floating))


cdef inline void _cell_backward_units(const Loop* lp, Py_ssize_t u0, Py_ssize_t u1,
                                      const floating* g, const floating* cell_saved,
                                      const floating* hp, floating* dh, floating* dc,
                                      floating* dgx, floating* dgh,
                                      floating* dghn) noexcept nogil:
    """The cell's backward on units [u0, u1) of one row, block by block:
    ``g`` and ``dgx`` are rows in PyTorch's gate order, ``dgh`` in
    unit-block order (it feeds the product with W_hh's reordered rows)."""
    cdef Py_ssize_t u = u0, n, col, G = lp.GH // lp.H
    while u < u1:
        n = min(lp.UB, u1 - u)
        col = G * u
        if lp.cell == LSTM:
            lstm_backward(n, g + u, lp.H, cell_saved + u, dh + u, dc + u, dgx + u, dgh + col)
        elif lp.cell == GRU:
            gru_backward(n, g + u, lp.H, cell_saved + u, hp + u, dh + u, dgx + u, dgh + col,
                         dghn + u)
        else:
            rnn_backward(n, lp.cell == RNN_RELU, g + u, lp.H, dh + u, dgx + u, dgh + col)
        u += n


cdef void _backward_units(const Loop* lp, Py_ssize_t part, Py_ssize_t nparts,
                          const BackwardArrays* a, floating tag) noexcept nogil:
    """The backward time loop on this part's hidden units of every row.

    A step is two phases around one barrier: the cell's backward on the
    part's units writes their gate gradients into the step's half of the
    scratch; after the barrier the part adds ``dgh @ W_hh`` -- every gate
    column times its own units' columns -- to its units of ``dh``.  The two
    scratch halves alternate, so the next step's first phase never
    overwrites gradients another thread is still reading.  ``a``: a
    :func:`backward` job's arrays; ``gates`` and ``dgx`` in PyTorch's gate order; the
    scratch: two (B, GH) planes in unit-block order, matching ``w_hh``
    packed with its rows in that order (each part packs its own columns
    into ``w_hh_p``), and (B, GH + H) staging rows for dgx and dghn."""
    cdef floating* w_hh_p = <floating*> a.w_hh_p        # OUT W_hh packed, rows in unit order
    cdef const floating* gates = <floating*> a.gates    # IN  (T, B, GH)
    cdef const floating* hprev = <floating*> a.hprev    # IN  (T, B, H)
    cdef const floating* cell_saved = <floating*> a.cell_saved  # IN (T, B, H) or NULL (RNN)
    cdef const floating* dout = <floating*> a.dout      # IN  (T, B, H) or NULL
    cdef floating* dh = <floating*> a.dh                # IN/OUT (B, H): dh_n -> dh0
    cdef floating* dc = <floating*> a.dc                # IN/OUT (B, H): dc_n -> dc0 (LSTM)
    cdef floating* dgx = <floating*> a.dgx              # OUT (T, B, GH), zero-filled; may be gates
    # OUT (T, B, H) GRU only, zero-filled; may be cell_saved
    cdef floating* dghn = <floating*> a.dghn
    cdef floating* S = <floating*> a.scratch            # scratch 2 * B * GH + B * (GH + H)
    cdef const floating* w_hh = <floating*> a.w_hh      # IN  (GH, H)
    cdef const Py_ssize_t* order = <Py_ssize_t*> a.order  # IN  (GH,) unit_order
    cdef floating* d_copy = <floating*> a.d_copy        # scratch (parts, B, GH)
    cdef Py_ssize_t H = lp.H, GH = lp.GH, B = lp.B, G = GH // H
    cdef Py_ssize_t u0, u1, nu, j0, nc, s, b, t, row, j, k
    cdef int team = omp_get_num_threads()
    cdef floating* D
    cdef floating* own = NULL
    cdef floating* stage = S + 2 * B * GH  # rows of GH + H: dgx, dghn; copied out as in _backward_rows
    cdef Py_ssize_t SG = GH + H
    _unit_range(lp, part, nparts, &u0, &u1)
    nu = u1 - u0
    j0 = G * u0
    nc = G * nu
    if nu > 0:  # this part's unit columns of W_hh, rows in unit order
        own = d_copy + part * B * GH
        pack_panels(<int> GH, <int> nu, w_hh + u0, H, 1, order, NULL, w_hh_p + u0 * GH)
    for s in range(lp.steps - 1, -1, -1):
        D = S + (s % 2) * B * GH
        for b in range(B):
            t = _time(lp, b, s)
            if t < 0:
                memset(D + b * GH + j0, 0, nc * sizeof(floating))
                continue
            row = t * B + b
            if dout != NULL:
                for j in range(u0, u1):
                    dh[b * H + j] += dout[row * lp.out_stride + j]
            _cell_backward_units(
                lp, u0, u1, gates + row * GH, cell_saved + row * H if cell_saved != NULL else NULL,
                hprev + row * H, dh + b * H, dc + b * H if dc != NULL else NULL,
                stage + b * SG, D + b * GH, stage + b * SG + GH)
            for k in range(G):
                memcpy(dgx + row * GH + k * H + u0, stage + b * SG + k * H + u0,
                       nu * sizeof(floating))
            if dghn != NULL:
                memcpy(dghn + row * H + u0, stage + b * SG + GH + u0, nu * sizeof(floating))
        fr_team_barrier_wait(lp.barrier, team)
        if nu > 0:  # every part's gate gradients, copied as in _forward_units
            memcpy(own, D, B * GH * sizeof(floating))
            step_gemm(<int> B, <int> nu, <int> GH, own, <int> GH, w_hh_p + u0 * GH,
                      <floating> 1, dh + u0, <int> H)


# ------------------------------------------------------- after-loop gradients
cdef inline void _dw_rows(Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t N, Py_ssize_t ncols,
                          const floating* dG, Py_ssize_t ldg, const floating* B,
                          floating* dW) noexcept nogil:
    """dW[r0:r1] += dG[:, r0:r1]^T @ B over all N rows (B row-major, N x ncols)."""
    if r1 > r0:
        gemm(Trans, NoTrans, <int> (r1 - r0), <int> ncols, <int> N, <floating> 1, dG + r0,
             <int> ldg, B, <int> ncols, <floating> 1, dW + r0 * ncols, <int> ncols)


cdef void _gate_sums(const Loop* lp, Py_ssize_t g0, Py_ssize_t g1, const floating* dgx,
                    const Py_ssize_t* ids, double* pe, floating* pef,
                    double* db) noexcept nogil:
    """Gate columns [g0, g1) of the sums over the N rows of ``dgx``, in
    float64: with ``ids`` (an embedded input) the per-entry sums ``pe[v] =
    sum of the rows n with ids[n] == v`` (``pef``: the same in ``floating``)
    and ``db = sum over v of pe[v]``; without, ``db`` = the column sums.
    ``db`` may be NULL (no biases).  Each column is summed in row order
    whatever the split: the same bits for any thread count."""
    cdef Py_ssize_t N = lp.B, GH = lp.GH, V = lp.V, w = g1 - g0, n, v, j
    cdef double* dst
    cdef const floating* src
    if w <= 0:
        return
    if db != NULL:
        memset(db + g0, 0, w * sizeof(double))
    if ids == NULL:
        if db != NULL:
            for n in range(N):
                src = dgx + n * GH
                for j in range(g0, g1):
                    db[j] += src[j]
        return
    for v in range(V):
        memset(pe + v * GH + g0, 0, w * sizeof(double))
    for n in range(N):
        dst = pe + ids[n] * GH
        src = dgx + n * GH
        for j in range(g0, g1):
            dst[j] += src[j]
    for v in range(V):
        for j in range(g0, g1):
            pef[v * GH + j] = <floating> pe[v * GH + j]
        if db != NULL:
            for j in range(g0, g1):
                db[j] += pe[v * GH + j]


cdef void _weight_grads_part(const Loop* lp, Py_ssize_t part, Py_ssize_t nparts,
                             const WeightGradArrays* a, floating tag) noexcept nogil:
    """Part ``part`` of ``nparts`` of the after-loop products: rows
    [N part / nparts, N (part+1) / nparts) of ``dx = dG @ W_ih`` and a block
    of gate rows of ``dW_ih += dG^T x`` and ``dW_hh += dG_h^T h_prev``
    (the arrays of a :func:`weight_grads` job)."""
    cdef const floating* dgx = <floating*> a.dgx        # IN  (N, GH)
    cdef const floating* dghn = <floating*> a.dghn      # IN  (N, H) GRU only
    cdef const floating* x = <floating*> a.x            # IN  (N, I)
    cdef const floating* hprev = <floating*> a.hprev    # IN  (N, H)
    cdef const floating* cell_saved = <floating*> a.cell_saved  # IN (N, H) GRU_RB: r * h_prev
    cdef const floating* w_ih = <floating*> a.w_ih      # IN  (GH, I)
    cdef floating* dx = <floating*> a.dx                # OUT (N, I)
    cdef floating* dw_ih = <floating*> a.dw_ih          # IN/OUT (GH, I), accumulated
    cdef floating* dw_hh = <floating*> a.dw_hh          # IN/OUT (GH, H), accumulated
    cdef const Py_ssize_t* ids = <Py_ssize_t*> a.ids    # IN  (N,) embedded input, or NULL
    cdef const floating* emb = <floating*> a.emb        # IN  (V, I) with ids
    cdef double* pe = <double*> a.per_entry             # OUT (V, GH) per-entry sums, with ids
    cdef floating* pef = <floating*> a.per_entry_f      # OUT (V, GH) the same in floating
    cdef double* db = <double*> a.db                    # OUT (GH,) bias sums, or NULL
    cdef int cell = lp.cell
    cdef Py_ssize_t N = lp.B, I = lp.input_size, H = lp.H, GH = lp.GH   # B: all T*B rows
    cdef Py_ssize_t n0 = part * N // nparts, n1 = (part + 1) * N // nparts
    # Gate rows in blocks of 4.
    cdef Py_ssize_t g0 = (part * (GH // 4) // nparts) * 4
    cdef Py_ssize_t g1 = GH if part == nparts - 1 else ((part + 1) * (GH // 4) // nparts) * 4
    cdef Py_ssize_t gm
    _gate_sums(lp, g0, g1, dgx, ids, pe, pef, db)
    if ids != NULL:   # dW_ih from the per-entry sums: V rows, not N
        _dw_rows(g0, g1, lp.V, I, pef, GH, emb, dw_ih)
    elif x != NULL:
        if n1 > n0:
            gemm(NoTrans, NoTrans, <int> (n1 - n0), <int> I, <int> GH, <floating> 1,
                 dgx + n0 * GH, <int> GH, w_ih, <int> I, <floating> 0, dx + n0 * I, <int> I)
        _dw_rows(g0, g1, N, I, dgx, GH, x, dw_ih)
    if cell != GRU and cell != GRU_RB:
        _dw_rows(g0, g1, N, H, dgx, GH, hprev, dw_hh)
        return
    # GRU: r, z rows see h_prev; n rows see dghn (reset_after) or r * h_prev.
    _dw_rows(g0, min(g1, 2 * H), N, H, dgx, GH, hprev, dw_hh)
    gm = max(g0, 2 * H)
    if cell == GRU:
        _dw_rows(gm - 2 * H, g1 - 2 * H, N, H, dghn, H, hprev, dw_hh + 2 * H * H)
    else:
        _dw_rows(gm, g1, N, H, dgx, GH, cell_saved, dw_hh)


# ------------------------------------------------------------------ launcher
cdef enum Job:
    FORWARD = 0
    BACKWARD = 1
    WEIGHT_GRADS = 2

# Each job's arrays by name: a kernel reads ``a.gates``, never a position in
# a table, and the launcher fills every field from the job dict by the same
# name (a missing key is a KeyError before any work), so no reordering can
# hand a kernel the wrong array.  The data pointers are untyped (the
# kernels' float type is fused); a field is NULL where the job holds None.
cdef struct ForwardArrays:
    void* x
    void* w_ih
    void* w_ih_t
    void* bias
    void* xw
    void* w_hh_t
    void* w_hn_t
    void* b_hn
    void* h
    void* c
    void* out
    void* scratch
    void* gates
    void* hprev
    void* cell_saved
    void* h_alt
    void* w_hh
    void* order
    void* xc
    void* ids
    void* table
    void* h_copy
    void* w_ih_u
    void* w_hh_u
    void* qa
    void* qs

cdef struct BackwardArrays:
    void* w_hh_p
    void* w_hn_p
    void* gates
    void* hprev
    void* cell_saved
    void* dout
    void* dh
    void* dc
    void* dgx
    void* dghn
    void* scratch
    void* w_hh
    void* order
    void* d_copy

cdef struct WeightGradArrays:
    void* dgx
    void* dghn
    void* x
    void* hprev
    void* cell_saved
    void* w_ih
    void* dx
    void* dw_ih
    void* dw_hh
    void* ids
    void* emb
    void* per_entry
    void* per_entry_f
    void* db

cdef union JobArrays:
    ForwardArrays forward
    BackwardArrays backward
    WeightGradArrays weight_grads

DEF MAX_LOOPS = 2


cdef ForwardArrays _forward_arrays(dict job) except *:
    cdef ForwardArrays a
    a.x, a.w_ih, a.w_ih_t, a.bias = _ptr(job["x"]), _ptr(job["w_ih"]), _ptr(job["w_ih_t"]), \
        _ptr(job["bias"])
    a.xw, a.w_hh_t, a.w_hn_t, a.b_hn = _ptr(job["xw"]), _ptr(job["w_hh_t"]), \
        _ptr(job["w_hn_t"]), _ptr(job["b_hn"])
    a.h, a.c, a.out, a.scratch = _ptr(job["h"]), _ptr(job["c"]), _ptr(job["out"]), \
        _ptr(job["scratch"])
    a.gates, a.hprev, a.cell_saved, a.h_alt = _ptr(job["gates"]), _ptr(job["hprev"]), \
        _ptr(job["cell_saved"]), _ptr(job["h_alt"])
    a.w_hh, a.order, a.xc = _ptr(job["w_hh"]), _ptr(job["order"]), _ptr(job["xc"])
    a.ids, a.table, a.h_copy = _ptr(job["ids"]), _ptr(job["table"]), _ptr(job["h_copy"])
    a.w_ih_u, a.w_hh_u = _ptr(job["w_ih_u"]), _ptr(job["w_hh_u"])
    a.qa, a.qs = _ptr(job["qa"]), _ptr(job["qs"])
    return a


cdef BackwardArrays _backward_arrays(dict job) except *:
    cdef BackwardArrays a
    a.w_hh_p, a.w_hn_p, a.gates, a.hprev = _ptr(job["w_hh_p"]), _ptr(job["w_hn_p"]), \
        _ptr(job["gates"]), _ptr(job["hprev"])
    a.cell_saved, a.dout = _ptr(job["cell_saved"]), _ptr(job["dout"])
    a.dh, a.dc = _ptr(job["dh"]), _ptr(job["dc"])
    a.dgx, a.dghn, a.scratch = _ptr(job["dgx"]), _ptr(job["dghn"]), _ptr(job["scratch"])
    a.w_hh, a.order, a.d_copy = _ptr(job["w_hh"]), _ptr(job["order"]), _ptr(job["d_copy"])
    return a


cdef WeightGradArrays _weight_grad_arrays(dict job) except *:
    cdef WeightGradArrays a
    a.dgx, a.dghn, a.x, a.hprev = _ptr(job["dgx"]), _ptr(job["dghn"]), _ptr(job["x"]), \
        _ptr(job["hprev"])
    a.cell_saved, a.w_ih, a.dx = _ptr(job["cell_saved"]), _ptr(job["w_ih"]), _ptr(job["dx"])
    a.dw_ih, a.dw_hh, a.ids, a.emb = _ptr(job["dw_ih"]), _ptr(job["dw_hh"]), \
        _ptr(job["ids"]), _ptr(job["emb"])
    a.per_entry, a.per_entry_f, a.db = _ptr(job["per_entry"]), _ptr(job["per_entry_f"]), \
        _ptr(job["db"])
    return a


cdef inline void _part(Job job, const Loop* lp, Py_ssize_t part, Py_ssize_t nparts,
                       const JobArrays* a, floating tag) noexcept nogil:
    cdef Py_ssize_t b0 = part * lp.B // nparts, b1 = (part + 1) * lp.B // nparts
    if job == FORWARD:
        _forward_rows(lp, b0, b1, &a.forward, tag)
    elif job == BACKWARD:
        _backward_rows(lp, b0, b1, &a.backward, tag)
    else:
        _weight_grads_part(lp, part, nparts, &a.weight_grads, tag)


cdef void _run_parts(Job job, const Loop* lps, int nloops, int threads_per_job,
                     const JobArrays* arrays, double* shares, floating tag) noexcept nogil:
    """Run ``job`` for ``nloops`` loops (a layer's directions) as
    ``threads_per_job`` independent parts each, one part per OpenMP thread: contiguous
    batch slices for the time loops (each thread runs the whole loop on its
    rows, no barrier per step), row blocks for the weight gradients.  The
    directions run side by side.  A single part runs on the calling thread,
    outside OpenMP.  ``shares[i]``: the share of its core part i's thread
    had."""
    cdef Py_ssize_t ci
    cdef int total = nloops * threads_per_job
    cdef double cpu0, wall0
    if total <= 1:
        _part(job, &lps[0], 0, 1, &arrays[0], tag)
        return
    for ci in prange(total, num_threads=total, schedule="static", chunksize=1):
        cpu0 = fr_thread_cpu_seconds()
        wall0 = fr_wall_seconds()
        _part(job, &lps[ci // threads_per_job], ci % threads_per_job, threads_per_job,
              &arrays[ci // threads_per_job], tag)
        core_share(cpu0, wall0, &shares[ci])


cdef inline void _unit_part(Job job, const Loop* lp, Py_ssize_t part, Py_ssize_t nparts,
                            const JobArrays* a, floating tag) noexcept nogil:
    if job == FORWARD:
        _forward_units(lp, part, nparts, &a.forward, tag)
    else:
        _backward_units(lp, part, nparts, &a.backward, tag)


cdef void _unit_member(Job job, const Loop* lps, int nloops, const JobArrays* arrays,
                       double* shares, floating tag) noexcept nogil:
    """One member of a unit-split team: its work, and the share of its core
    it had."""
    cdef int tid = omp_get_thread_num()
    cdef double cpu0 = fr_thread_cpu_seconds(), wall0 = fr_wall_seconds()
    _unit_work(job, lps, nloops, arrays, tid, omp_get_num_threads(), tag)
    core_share(cpu0, wall0, &shares[tid])


cdef void _unit_work(Job job, const Loop* lps, int nloops, const JobArrays* arrays, int tid,
                     int team, floating tag) noexcept nogil:
    """Member ``tid``'s direction and part, from the team that actually runs."""
    cdef int q, d, part
    if team < nloops:
        # A team of one: the directions in turn, each unsplit.
        for d in range(nloops):
            _unit_part(job, &lps[d], 0, 1, &arrays[d], tag)
        return
    q = team // nloops
    d = tid // q
    part = tid % q
    if d >= nloops:
        d = 0
        part = q  # left over: no units, but every barrier
    _unit_part(job, &lps[d], part, q, &arrays[d], tag)


cdef void _run_units(Job job, const Loop* lps, int nloops, int per,
                     const JobArrays* arrays, double* shares, floating tag) noexcept nogil:
    """Run the time loops of ``nloops`` directions with each one's hidden
    units split over ``per`` threads of one team (one barrier per step).
    OpenMP may hand out a smaller team than asked: the split follows the
    team actually running (its parts then pack their own columns: weights
    packed for the team asked for do not fit it), and a member left without
    units still takes part in every barrier.  The
    directions share their lengths, hence their step count and barriers."""
    cdef fr_team_barrier barrier
    cdef Loop team_lps[MAX_LOOPS]
    cdef int d
    fr_team_barrier_init(&barrier, nloops * per, omp_get_num_procs())
    for d in range(nloops):
        team_lps[d] = lps[d]
        team_lps[d].barrier = &barrier
    with parallel(num_threads=nloops * per):
        _unit_member(job, team_lps, nloops, arrays, shares, tag)


cdef list _launch(Job job, Loop* lps, int nloops, int threads_per_job, const JobArrays* arrays,
                  object dtype, bint units=False):
    """Run ``job`` on its arrays without the GIL; return each thread's share
    of its core over the launch (1.0 each on an idle machine)."""
    cdef int i, nthreads = nloops * threads_per_job
    cdef double* shares = <double*> malloc(nthreads * sizeof(double))
    if shares == NULL:
        raise MemoryError(f"no memory for {nthreads} threads' bookkeeping")
    for i in range(nthreads):
        shares[i] = 1
    try:
        if (<cnp.dtype> dtype).type_num == cnp.NPY_FLOAT32:
            with nogil:
                if units:
                    _run_units(job, lps, nloops, threads_per_job, arrays, shares, <float> 0)
                else:
                    _run_parts(job, lps, nloops, threads_per_job, arrays, shares, <float> 0)
        else:
            with nogil:
                if units:
                    _run_units(job, lps, nloops, threads_per_job, arrays, shares, <double> 0)
                else:
                    _run_parts(job, lps, nloops, threads_per_job, arrays, shares, <double> 0)
        return [shares[i] for i in range(nthreads)]
    finally:
        free(shares)


# -------------------------------------------------------------- Python entries
cdef inline void* _ptr(object a):
    return NULL if a is None else cnp.PyArray_DATA(<cnp.ndarray> a)


cdef inline Py_ssize_t _row_stride(object a):
    """Elements between the consecutive (t, b) rows (row t * B + b) of a
    (T, B, W) array whose rows are evenly spaced (C-contiguous, or a column
    slice of a wider such array).  A length-1 axis's stride means nothing
    (numpy may set it to 0): the other axis's is used."""
    T, B = a.shape[0], a.shape[1]
    if B > 1:
        return a.strides[1] // a.itemsize
    if T > 1:
        return a.strides[0] // a.itemsize
    return a.shape[2]


cdef inline Loop _loop(int cell, object lengths, Py_ssize_t steps, bint reverse,
                       Py_ssize_t B, Py_ssize_t I, Py_ssize_t H, object scratch):
    cdef Loop lp
    lp.cell = cell
    lp.B = B
    lp.input_size = I
    lp.H = H
    lp.GH = NUM_GATES[cell] * H
    lp.scratch_stride = scratch.shape[scratch.ndim - 1]  # row stride (2-D scratch)
    lp.TC = 0
    lp.steps = steps
    lp.reverse = reverse
    lp.lengths = <const Py_ssize_t*> _ptr(lengths)
    lp.UB = 0
    lp.out_stride = H
    lp.V = 0
    lp.barrier = NULL
    lp.packed_parts = 0
    lp.precision = lp.input_precision = FR_PRECISION_NATIVE
    lp.qa_stride = 0
    return lp


def _check_count(list jobs):
    if not 1 <= len(jobs) <= MAX_LOOPS:
        raise ValueError(f"1 to {MAX_LOOPS} jobs, got {len(jobs)}")


def forward(list jobs, int threads_per_job, bint units=False):
    """Run the forward time loop of one or two directions side by side.

    Each job is a dict with ``cell, lengths, steps, reverse`` and the arrays
    of :c:struct:`ForwardArrays` (None where unused).  Inference when ``gates`` is
    None, training otherwise.  ``h`` / ``c`` hold the initial state on entry
    and the final one on return.

    Batch split (``units`` False): ``threads_per_job`` threads run each job on
    contiguous batch slices, each projecting its rows' inputs ``chunk``
    steps at a time into its block of ``xc`` (B * chunk, I) and ``xw``
    (B * chunk, GH).  ``w_ih_t`` is W_ih^T packed, ``w_hh_t`` W_hh^T packed
    (:func:`pack`; GRU_RB: its r, z columns, ``w_hn_t`` its n columns);
    ``bias`` the folded ``b_ih + b_hh`` (GRU: without ``b_hn``); ``scratch``
    is (B, :func:`scratch_width`).

    Hidden-unit split (``units`` True; not GRU_RB): ``threads_per_job`` threads share
    each job's hidden units.  ``bias`` and the ``xw`` (B * chunk, GH) the
    kernel fills are in unit-block order (``order`` = :func:`unit_order`),
    ``gates`` in PyTorch's gate order as always; ``xc`` is (threads_per_job, B *
    chunk, I), each thread's copy of the x rows it projects; the kernel packs ``w_ih``
    and ``w_hh`` into the buffers ``w_ih_t`` and ``w_hh_t`` (each G*H*I and
    G*H*H values) itself, each thread its own columns -- unless ``w_ih_u``
    and ``w_hh_u`` hold them packed already (:func:`pack_unit_split`) for
    ``packed_parts`` threads (0: not given) and the team is that large; ``scratch`` is
    (B, 2 * GH + H), ``h_alt`` a (B, H) second state buffer and ``h_copy``
    (threads_per_job, B, H), each thread's copy of the state it multiplies.  The jobs
    must share ``steps``.

    Low precision (float32 loops): ``precision`` (the recurrent weights')
    and ``input_precision`` (W_ih's) are :data:`PRECISIONS` codes (0: the
    weights are in the loop's float type); at int8 / bf16, ``w_ih_t``,
    ``w_hh_t``, ``w_hn_t`` are uint8 blobs of
    :func:`pack_low_precision` (the unit split: ``w_ih_u`` / ``w_hh_u`` of
    :func:`pack_unit_split` at that precision, and ``w_ih_t`` / ``w_hh_t``
    uint8 buffers of :func:`low_precision_unit_split_bytes` for a smaller
    team), ``qa`` a uint8 (rows, :func:`converted_row_bytes` of max(I, H))
    scratch and ``qs`` a float32 (rows,) one, rows = B * chunk (the unit
    split: times threads_per_job).

    The caller (``fastrnn.functional``) has validated everything: C-contiguous
    arrays of one float dtype with the shapes of the module docstring,
    ``lengths`` intp in [0, T], ``steps = max(lengths)``, ``out`` and the
    training workspace zero-filled past the lengths, ``1 <= threads_per_job <= B``
    (batch split).

    Returns each thread's share of its core over the loop (a list of
    ``threads_per_job`` times the jobs values, 1.0 on an idle machine, less where other
    threads or processes shared a core).  ``backward`` and ``weight_grads``
    return the same.
    """
    cdef Loop lps[MAX_LOOPS]
    cdef JobArrays arrays[MAX_LOOPS]
    _check_count(jobs)
    for d, job in enumerate(jobs):
        arrays[d].forward = _forward_arrays(job)
        h = job["h"]
        lps[d] = _loop(job["cell"], job["lengths"], job["steps"], job["reverse"], h.shape[0],
                       job["w_ih"].shape[1], h.shape[1], job["scratch"])
        lps[d].TC = job["chunk"]
        lps[d].out_stride = _row_stride(job["out"])
        lps[d].precision = job["precision"]
        lps[d].input_precision = job["input_precision"]
        if job["qa"] is not None:
            lps[d].qa_stride = job["qa"].shape[1]
        if units:
            lps[d].UB = unit_block(h.dtype)
            lps[d].packed_parts = job["packed_parts"]
    return _launch(FORWARD, lps, len(jobs), threads_per_job, arrays, jobs[0]["h"].dtype, units)


def step(int cell, cnp.ndarray w_ih_t, cnp.ndarray w_hh_t, w_hn_t, cnp.ndarray bias, b_hn,
         cnp.ndarray scratch, cnp.ndarray xc, cnp.ndarray xw, cnp.ndarray lengths,
         int precision, int input_precision, qa, qs, cnp.ndarray x, cnp.ndarray h, c,
         cnp.ndarray out):
    """One time step of one direction over all B rows, on the calling thread
    without the GIL: the forward loop's own step (same products, same cell
    code), so a sequence stepped through it matches :func:`forward` bit for
    bit.  Weights packed and ``bias`` folded as for :func:`forward`'s batch
    split; ``scratch`` (B, :func:`scratch_width`), ``xc`` (B, I) and ``xw``
    (B, G*H) are scratch; ``lengths`` B intp ones; then ``x`` (B, I), and
    ``h`` (and ``c``) (B, H), which advance in place, and ``out`` (B, H),
    which receives the new h (the arguments that change from step to step
    come last, so a stream binds the others once).  The caller
    (``fastrnn.functional.stepper``) has validated everything: C-contiguous
    arrays of one float dtype, B >= 1; for weights at a lower ``precision``
    (float32 only) ``qa`` and ``qs`` as :func:`forward`'s, of B rows."""
    cdef Loop lp
    cdef ForwardArrays a
    memset(&lp, 0, sizeof(Loop))
    memset(&a, 0, sizeof(ForwardArrays))
    lp.cell = cell
    lp.B, lp.input_size, lp.H = h.shape[0], x.shape[1], h.shape[1]
    lp.GH = xw.shape[1]
    lp.scratch_stride = scratch.shape[1]
    lp.steps = lp.TC = 1
    lp.out_stride = lp.H
    lp.lengths = <const Py_ssize_t*> cnp.PyArray_DATA(lengths)
    lp.precision = precision
    lp.input_precision = input_precision
    lp.qa_stride = 0 if qa is None else qa.shape[1]
    a.qa, a.qs = _ptr(qa), _ptr(qs)
    a.x, a.w_ih_t, a.bias, a.xw = _ptr(x), _ptr(w_ih_t), _ptr(bias), _ptr(xw)
    a.w_hh_t, a.w_hn_t, a.b_hn = _ptr(w_hh_t), _ptr(w_hn_t), _ptr(b_hn)
    a.h, a.c, a.out, a.scratch, a.xc = _ptr(h), _ptr(c), _ptr(out), _ptr(scratch), _ptr(xc)
    if cnp.PyArray_TYPE(h) == cnp.NPY_FLOAT32:
        with nogil:
            _forward_rows(&lp, 0, lp.B, &a, <float> 0)
    else:
        with nogil:
            _forward_rows(&lp, 0, lp.B, &a, <double> 0)


def backward(list jobs, int threads_per_job, bint units=False):
    """Backpropagate through the time loop of one or two directions side by
    side: fills ``dgx`` (and ``dghn``).  Each job is a dict with ``cell,
    lengths, steps, reverse`` and the arrays of :c:struct:`BackwardArrays`.

    ``dh`` / ``dc`` hold the gradient w.r.t. the final state on entry and the
    gradient w.r.t. the initial state on return.  ``dgx`` / ``dghn`` must be
    zero-filled past the lengths; ``dgx`` may be ``gates`` itself and
    ``dghn`` ``cell_saved`` (each row's gradients replace what they are computed
    from once it is read: no second workspace).  ``w_hh_p`` is W_hh packed (:func:`pack`;
    GRU_RB: its r, z rows, ``w_hn_p`` its n rows).  With ``units`` (the
    split the forward ran with), ``threads_per_job`` threads share each job's hidden
    units: the kernel packs ``w_hh`` (rows in the unit-block order
    ``order``) into the buffer ``w_hh_p`` itself, ``scratch`` holds
    2 * B * GH + B * (GH + H) values, and ``d_copy`` (threads_per_job, B, GH) is each
    thread's copy of the gate gradients it multiplies.
    """
    cdef Loop lps[MAX_LOOPS]
    cdef JobArrays arrays[MAX_LOOPS]
    _check_count(jobs)
    for d, job in enumerate(jobs):
        arrays[d].backward = _backward_arrays(job)
        dh = job["dh"]
        lps[d] = _loop(job["cell"], job["lengths"], job["steps"], job["reverse"], dh.shape[0],
                       0, dh.shape[1], job["scratch"])
        if job["dout"] is not None:
            lps[d].out_stride = _row_stride(job["dout"])
        if units:
            lps[d].UB = unit_block(dh.dtype)
            lps[d].scratch_stride = 0
    return _launch(BACKWARD, lps, len(jobs), threads_per_job, arrays, jobs[0]["dh"].dtype, units)


def weight_grads(list jobs, int threads_per_job):
    """After the loop, for one or two directions side by side: ``dx = dG @
    W_ih`` and the accumulating ``dW_ih += dG^T x``, ``dW_hh += dG_h^T
    h_prev`` over all N = T * B rows at once (never one per step), each job
    split over ``threads_per_job`` threads (by gate columns; ``dx`` by rows), and the
    float64 sums of the gate gradients: ``db`` (G*H,) over the rows, or None.
    An embedded input (``ids`` (N,) and its ``emb`` (V, I) in place of ``x``)
    sums the gate gradients per entry into ``per_entry`` (V, G*H) float64
    and ``per_entry_f`` (its dtype), ``db`` is their sum and ``dW_ih +=
    per_entry_f^T emb`` (V rows); ``dx`` is then the caller's (``per_entry_f
    @ W_ih``).  Jobs: dicts with ``cell`` and the arrays of
    :c:struct:`WeightGradArrays` (2-D, N rows; None where unused)."""
    cdef Loop lps[MAX_LOOPS]
    cdef JobArrays arrays[MAX_LOOPS]
    _check_count(jobs)
    for d, job in enumerate(jobs):
        arrays[d].weight_grads = _weight_grad_arrays(job)
        lps[d].cell = job["cell"]
        lps[d].B = job["dgx"].shape[0]          # all N = T * B rows
        lps[d].input_size = job["w_ih"].shape[1]
        lps[d].H = job["dw_hh"].shape[1]
        lps[d].GH = job["dgx"].shape[1]
        lps[d].V = 0 if job["emb"] is None else job["emb"].shape[0]
    return _launch(WEIGHT_GRADS, lps, len(jobs), threads_per_job, arrays, jobs[0]["dgx"].dtype)


def unit_block(dtype):
    """Hidden units per block of the hidden-unit split: a whole number of
    the step kernel's vectors (csrc/stepgemm.h says why) -- 24 float32 and
    12 float64 for the baseline and AVX2 kernels, 32 and 16 for AVX-512."""
    return fr_stepgemm_unit_bytes() // np.dtype(dtype).itemsize


@functools.lru_cache(maxsize=64)
def unit_order(int gates, Py_ssize_t hidden, dtype):
    """The unit-block order of the G * H gate columns (indices into
    PyTorch's gate-major order): block k of units [k * UB, k * UB + n) lists
    its gates one after another, each n columns, so a run of whole blocks
    -- one thread's share -- is contiguous."""
    ub = unit_block(dtype)
    u = np.arange(hidden)
    g = np.arange(gates)
    cols = (g[:, None] * hidden + u[None, :]).ravel()         # gate-major
    key_block = np.broadcast_to(u // ub, (gates, hidden)).ravel()
    key_gate = np.repeat(g, hidden)
    order = cols[np.lexsort((np.tile(u, gates), key_gate, key_block))]
    order.flags.writeable = False  # cached: shared by every call
    return order


def pack_unit_split(w, Py_ssize_t hidden, Py_ssize_t nparts, out, str precision=None):
    """Pack ``w`` (G*H, K) -- W_ih or W_hh -- as the hidden-unit split's
    ``nparts`` threads pack it themselves (:func:`forward`'s ``w_ih_u`` /
    ``w_hh_u``): W^T's columns in unit-block order, each part's own columns
    as one run of panels from its first column.  ``out``: a C-contiguous
    array of ``w``'s dtype and at least ``w.size`` values (returned).  At a
    low ``precision`` ("int8", "bf16"; float32 ``w``) each part's columns
    are a blob of :func:`pack_low_precision`, the blobs end to end, and
    ``out`` is uint8 of :func:`low_precision_unit_split_bytes`."""
    cdef Loop lp
    cdef Py_ssize_t part, u0, u1
    cdef int code = PRECISIONS.get(precision, FR_PRECISION_NATIVE)
    memset(&lp, 0, sizeof(Loop))
    lp.H = hidden
    lp.UB = unit_block(w.dtype)
    G, K = w.shape[0] // hidden, w.shape[1]
    lp.GH = G * hidden
    order = unit_order(G, hidden, w.dtype)
    for part in range(nparts):
        _unit_range(&lp, part, nparts, &u0, &u1)
        if u1 <= u0:
            continue
        cols = order[G * u0:G * u1]
        if code == FR_PRECISION_NATIVE:
            pack(w, True, cols, out[G * u0 * K:G * u1 * K])
        else:
            pack_low_precision(w, precision, out[_low_part_offset(&lp, code, part, nparts, K):],
                               cols)
    return out


def pack(w, bint transposed=False, order=None, out=None):
    """Pack a weight matrix as the B operand of the step kernel (a 1-D
    array, ``w``'s dtype, in column panels).

    ``w`` (R, C), C-contiguous.  B is ``w.T`` (C, R) when ``transposed``,
    else ``w``; ``order`` (intp indices, optional) picks and orders ``w``'s
    rows first -- B's columns when transposed, its rows otherwise.  One pass
    over ``w``, no intermediate copies.  ``out``: a C-contiguous array of
    ``w``'s dtype and at least that many values to pack into (returned)."""
    cdef cnp.ndarray src = np.ascontiguousarray(w)
    cdef cnp.ndarray idx = None
    cdef Py_ssize_t R = src.shape[0], C = src.shape[1]
    if order is not None:
        idx = np.ascontiguousarray(order, dtype=np.intp)
        R = idx.shape[0]
    cdef int k = <int> (C if transposed else R), n = <int> (R if transposed else C)
    cdef Py_ssize_t rs = 1 if transposed else C, cs = C if transposed else 1
    cdef const Py_ssize_t* imap = <const Py_ssize_t*> _ptr(idx)
    cdef const Py_ssize_t* rmap = NULL
    cdef const Py_ssize_t* cmap = NULL
    if transposed:
        cmap = imap
    else:
        rmap = imap
    cdef cnp.ndarray Bp
    if out is None:
        Bp = np.empty(R * C, dtype=src.dtype)
    else:
        Bp = out
        if Bp.dtype != src.dtype or Bp.size < R * C or not Bp.flags.c_contiguous:
            raise ValueError(f"out must be a C-contiguous {src.dtype} array of at least "
                             f"{R * C} values")
    cdef void* ps = _ptr(src)
    cdef void* pp = _ptr(Bp)
    if src.dtype == np.float32:
        with nogil:
            pack_panels(k, n, <float*> ps, rs, cs, rmap, cmap, <float*> pp)
    else:
        with nogil:
            pack_panels(k, n, <double*> ps, rs, cs, rmap, cmap, <double*> pp)
    return Bp


#: The precisions of the weights a forward loop runs on, by name.
PRECISIONS = {"float32": FR_PRECISION_NATIVE, "int8": FR_PRECISION_INT8, "bf16": FR_PRECISION_BF16}


def converted_row_bytes(str precision, Py_ssize_t k):
    """Bytes of one row of k values converted for a product at ``precision``
    (the row stride of :func:`forward`'s ``qa``)."""
    return fr_lowp_row_bytes(PRECISIONS[precision], <int> k)


def low_precision_bytes(str precision, Py_ssize_t k, Py_ssize_t n):
    """Bytes of a k x n B operand packed by :func:`pack_low_precision`."""
    return fr_lowp_bytes(PRECISIONS[precision], <int> k, <int> n)


def pack_low_precision(w, str precision, out=None, order=None):
    """Pack ``w.T`` -- ``w`` (R, C) float32, C-contiguous, finite, a weight
    matrix with one row per output -- as the B operand of the low-precision
    products (csrc/lowpgemm.h): ``"int8"`` (one scale per row of ``w``) or
    ``"bf16"``.  ``order`` (intp indices, optional) picks and orders ``w``'s
    rows first.  Returns a uint8 array of the blob's bytes (``out`` when
    given: C-contiguous uint8, large enough)."""
    cdef int code = PRECISIONS[precision]
    cdef cnp.ndarray src = np.ascontiguousarray(w, dtype=np.float32)
    cdef cnp.ndarray idx = None if order is None else np.ascontiguousarray(order, dtype=np.intp)
    cdef int n = <int> (src.shape[0] if idx is None else idx.shape[0]), k = <int> src.shape[1]
    cdef size_t nbytes = fr_lowp_bytes(code, k, n)
    cdef cnp.ndarray blob = np.empty(nbytes, np.uint8) if out is None else out
    if blob.dtype != np.uint8 or <size_t> blob.size < nbytes or not blob.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous uint8 array of at least {nbytes} bytes")
    cdef const float* ps = <const float*> _ptr(src)
    cdef const Py_ssize_t* cmap = <const Py_ssize_t*> _ptr(idx)
    cdef uint8_t* pb = <uint8_t*> _ptr(blob)
    with nogil:
        fr_lowp_pack(code, k, n, ps, 1, k, cmap, pb)
    return blob


def low_precision_unit_split_bytes(str precision, Py_ssize_t k, Py_ssize_t gates,
                                   Py_ssize_t hidden, Py_ssize_t nparts):
    """Bytes of a W^T (k rows, gates * hidden columns) packed at ``precision``
    for the hidden-unit split of ``nparts`` parts: their blobs end to end
    (:func:`pack_unit_split`)."""
    cdef Loop lp
    memset(&lp, 0, sizeof(Loop))
    lp.H, lp.GH = hidden, gates * hidden
    lp.UB = unit_block(np.float32)
    return _low_part_offset(&lp, PRECISIONS[precision], nparts, nparts, k)


def low_precision_kernels(str kernels=None):
    """``{"int8": the int8 kernel's name, "bf16": whether there is a bf16
    kernel}`` of the low-precision products in use, or of those that come
    with build ``kernels`` on this CPU ("baseline", "avx2", "avx512")."""
    if kernels is None:
        return {"int8": fr_lowp_int8_name().decode(), "bf16": bool(fr_lowp_has_bf16())}
    cdef fr_lowp_kernels kern = fr_lowp_kernels_for(isa_code(kernels))
    return {"int8": kern.q8name.decode(), "bf16": bool(fr_lowp_has_bf16_in(&kern))}


def zero_past(lengths, *arrays):
    """Zero every row ``(t, b)`` with ``t >= lengths[b]`` of each ``(T, B, W)``
    array (None skipped; each row's W values contiguous, e.g. a column slice
    of a C-contiguous array): what the kernels never write, at the cost of
    the padding alone rather than a fill of the whole array."""
    cdef const Py_ssize_t* L = <const Py_ssize_t*> _ptr(lengths)
    cdef Py_ssize_t T, B, b, t, nbytes, st, sb
    cdef char* base
    for a in arrays:
        if a is None:
            continue
        T, B = a.shape[0], a.shape[1]
        nbytes = (a.size // (T * B) if T * B else 0) * a.itemsize
        st, sb = a.strides[0], a.strides[1]   # a row's bytes are contiguous
        base = <char*> _ptr(a)
        with nogil:
            for b in range(B):
                for t in range(L[b], T):
                    memset(base + t * st + b * sb, 0, nbytes)


def cpu_kernels():
    """The fastest kernel build this CPU runs: "avx512" (AVX-512 F, VL, BW
    and DQ), "avx2" (AVX2 and FMA) or "baseline"."""
    return isa_names()[fr_cpu_isa()]


def use_kernels(str name):
    """Run this module's step products with the kernels of build ``name``
    ("baseline", "avx2", "avx512"); fastrnn._kernels calls it once, at
    import, before any kernel runs (ValueError if the CPU cannot run them)."""
    cdef int code = isa_code(name)
    fr_stepgemm_use(code)
    fr_lowp_use(code)
    unit_order.cache_clear()   # the unit block is the kernels'


def build_info():
    """Compile-time facts (and the step kernel picked for this CPU) for
    ``fastrnn.show_config()``."""
    return {
        "module": __name__,
        "openmp": bool(FR_OPENMP_ENABLED),
        "openmp_version": int(FR_OPENMP_VERSION),
        "num_procs": int(omp_get_num_procs()),
        "simd": fr_simd_flags().decode().strip() or "none (scalar)",
        "step_kernel": fr_stepgemm_isa().decode(),
        "int8_kernel": fr_lowp_int8_name().decode(),
        "bf16_kernel": "avx512-bf16" if fr_lowp_has_bf16() else "none",
    }


include "recurrent_testing.pxi"

# The math of one cell on one batch row: nothing but elementwise loops over
# the H hidden units.  The time loop, the GEMMs, the lengths and the threads
# live in recurrent.pxi and are shared by every cell.
#
# Layout of a gate row (G*H values, PyTorch's gate order):
#   RNN  [a]            LSTM [i, f, g, o]            GRU [r, z, n]
# Forward arguments:
#   x  (G*H)  IN   input projection of this row's time step, biases folded in
#   s  (G*H)  IN   recurrent product h_prev @ W_hh^T of this row
#   g  (G*H)  OUT  activated gates (may alias s: each unit is read first),
#                  its G blocks ``ld`` apart (the ``ld`` argument)
#   h, c (H)  IN/OUT  the row's state, updated in place
#   out (H)   OUT  the row's output at this time step
# Backward arguments:
#   dh, dc (H)  IN/OUT  gradient w.r.t. the state after the step on entry,
#                       the part that flows to the previous state on exit
#                       (without the dgh @ W_hh term, added by one GEMM)
#   g   (G*H)   IN   the activated gates, blocks ``ld`` apart
#   dgx (G*H)   OUT  gradient w.r.t. the gate pre-activations, input side,
#                    blocks ``ld`` apart
#   dgh (G*H)   OUT  the same on the recurrent side (differs only for GRU's n)
# ``ld`` is H, except when the hidden-unit split runs a cell on one block of
# n units: x, s and dgh are then the block's (stride n) while g and dgx are
# rows of the workspace in PyTorch's gate order (stride H).  (The
# GRU reset_after=False cell runs only in the batch split: no ``ld``.)
from .activations cimport sigmoid, tanh
from cython cimport floating

# The literal 1 in ``1 - x`` is written ``ONE`` (typed ``floating``): Cython
# emits a bare ``1`` next to a C float as the double ``1.0``, which makes the
# float32 loops compute in double (half the vector width, and conversions).


# ---------------------------------------------------------------- vanilla RNN
cdef inline void rnn_forward(Py_ssize_t H, bint relu, const floating* x,
                             const floating* s, floating* g, Py_ssize_t ld, floating* h,
                             floating* out) noexcept nogil:
    # One loop per activation, each branch-free, so that both vectorise.
    cdef Py_ssize_t j
    cdef floating a
    if relu:
        for j in range(H):
            a = x[j] + s[j]
            a = 0 if a <= 0 else a  # NaN <= 0 is false: NaN stays NaN
            g[j] = a
            h[j] = a
            out[j] = a
    else:
        for j in range(H):
            a = tanh(x[j] + s[j])
            g[j] = a
            h[j] = a
            out[j] = a


cdef inline void rnn_backward(Py_ssize_t H, bint relu, const floating* g, Py_ssize_t ld,
                              floating* dh, floating* dgx,
                              floating* dgh) noexcept nogil:
    cdef floating ONE = 1
    cdef Py_ssize_t j
    cdef floating da
    if relu:
        for j in range(H):
            da = dh[j] if g[j] > 0 else 0
            dgx[j] = da
            dgh[j] = da
            dh[j] = 0
    else:
        for j in range(H):
            da = dh[j] * (ONE - g[j] * g[j])
            dgx[j] = da
            dgh[j] = da
            dh[j] = 0


# ----------------------------------------------------------------------- LSTM
cdef inline void lstm_forward(Py_ssize_t H, const floating* x, const floating* s,
                              floating* g, Py_ssize_t ld, floating* h, floating* c,
                              floating* out) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating i, f, gg, o, cn, hn
    for j in range(H):
        i = sigmoid(x[j] + s[j])
        f = sigmoid(x[H + j] + s[H + j])
        gg = tanh(x[2 * H + j] + s[2 * H + j])
        o = sigmoid(x[3 * H + j] + s[3 * H + j])
        cn = f * c[j] + i * gg
        hn = o * tanh(cn)
        g[j] = i
        g[ld + j] = f
        g[2 * ld + j] = gg
        g[3 * ld + j] = o
        c[j] = cn
        h[j] = hn
        out[j] = hn


cdef inline void lstm_backward(Py_ssize_t H, const floating* g, Py_ssize_t ld,
                               const floating* c_prev, floating* dh,
                               floating* dc, floating* dgx,
                               floating* dgh) noexcept nogil:
    cdef floating ONE = 1
    # c_t is recomputed from the gates and c_prev instead of being stored.
    cdef Py_ssize_t j
    cdef floating i, f, gg, o, tc, dcv, di, df, dg, do
    for j in range(H):
        i = g[j]
        f = g[ld + j]
        gg = g[2 * ld + j]
        o = g[3 * ld + j]
        tc = tanh(f * c_prev[j] + i * gg)
        do = dh[j] * tc
        dcv = dc[j] + dh[j] * o * (ONE - tc * tc)
        di = dcv * gg * i * (ONE - i)
        df = dcv * c_prev[j] * f * (ONE - f)
        dg = dcv * i * (ONE - gg * gg)
        do = do * o * (ONE - o)
        dgx[j] = di
        dgx[ld + j] = df
        dgx[2 * ld + j] = dg
        dgx[3 * ld + j] = do
        dgh[j] = di
        dgh[H + j] = df
        dgh[2 * H + j] = dg
        dgh[3 * H + j] = do
        dc[j] = dcv * f
        dh[j] = 0


# ------------------------------------------- GRU, reset_after=True (PyTorch)
# n = tanh(x_n + r * hn),  hn = W_hn h + b_hn  (kept: backward needs it)
cdef inline void gru_forward(Py_ssize_t H, const floating* x, const floating* s,
                             const floating* b_hn, floating* g, Py_ssize_t ld, floating* hn,
                             floating* h, floating* out) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating r, z, n, hh, hnew
    for j in range(H):
        r = sigmoid(x[j] + s[j])
        z = sigmoid(x[H + j] + s[H + j])
        hh = s[2 * H + j] + b_hn[j]
        n = tanh(x[2 * H + j] + r * hh)
        hnew = n + z * (h[j] - n)
        g[j] = r
        g[ld + j] = z
        g[2 * ld + j] = n
        hn[j] = hh
        h[j] = hnew
        out[j] = hnew


cdef inline void gru_backward(Py_ssize_t H, const floating* g, Py_ssize_t ld,
                              const floating* hn,
                              const floating* h_prev, floating* dh,
                              floating* dgx, floating* dgh,
                              floating* dghn) noexcept nogil:
    cdef floating ONE = 1
    cdef Py_ssize_t j
    cdef floating r, z, n, dhv, dn, dr, dz
    for j in range(H):
        r = g[j]
        z = g[ld + j]
        n = g[2 * ld + j]
        dhv = dh[j]
        dn = dhv * (ONE - z) * (ONE - n * n)
        dz = dhv * (h_prev[j] - n) * z * (ONE - z)
        dr = dn * hn[j] * r * (ONE - r)
        dgx[j] = dr
        dgx[ld + j] = dz
        dgx[2 * ld + j] = dn
        dgh[j] = dr
        dgh[H + j] = dz
        dgh[2 * H + j] = dn * r
        dghn[j] = dn * r
        dh[j] = dhv * z


# -------------------------------- GRU, reset_after=False (Cho et al. 2014)
# n = tanh(x_n + W_hn (r * h)): r must be known before the second GEMM, so a
# step is two passes: gates (r, z, r*h), GEMM, then n and the new state.
cdef inline void gru_rb_gates(Py_ssize_t H, const floating* x, const floating* s,
                              floating* g, const floating* h,
                              floating* rh) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating r
    for j in range(H):
        r = sigmoid(x[j] + s[j])
        g[j] = r
        g[H + j] = sigmoid(x[H + j] + s[H + j])
        rh[j] = r * h[j]


cdef inline void gru_rb_update(Py_ssize_t H, const floating* x, const floating* sn,
                               floating* g, floating* h,
                               floating* out) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating z, n, hnew
    for j in range(H):
        z = g[H + j]
        n = tanh(x[2 * H + j] + sn[j])
        hnew = n + z * (h[j] - n)
        g[2 * H + j] = n
        h[j] = hnew
        out[j] = hnew


cdef inline void gru_rb_backward_zn(Py_ssize_t H, const floating* g,
                                    const floating* h_prev, floating* dh,
                                    floating* dgx, floating* dgh) noexcept nogil:
    cdef floating ONE = 1
    # Pass 1: z and n gradients; dgh[2H:3H] receives dn for the GEMM with W_hn.
    cdef Py_ssize_t j
    cdef floating z, n, dhv, dn, dz
    for j in range(H):
        z = g[H + j]
        n = g[2 * H + j]
        dhv = dh[j]
        dn = dhv * (ONE - z) * (ONE - n * n)
        dz = dhv * (h_prev[j] - n) * z * (ONE - z)
        dgx[H + j] = dz
        dgx[2 * H + j] = dn
        dgh[H + j] = dz
        dgh[2 * H + j] = dn
        dh[j] = dhv * z


cdef inline void gru_rb_backward_r(Py_ssize_t H, const floating* g,
                                   const floating* h_prev, const floating* drh,
                                   floating* dh, floating* dgx,
                                   floating* dgh) noexcept nogil:
    cdef floating ONE = 1
    # Pass 2, after drh = dn @ W_hn: the reset gate and the r*h path to h_prev.
    cdef Py_ssize_t j
    cdef floating r, dr
    for j in range(H):
        r = g[j]
        dr = drh[j] * h_prev[j] * r * (ONE - r)
        dgx[j] = dr
        dgh[j] = dr
        dh[j] += drh[j] * r

"""Fused scaled-dot-product attention over time-major sequences (Luong's
"dot" / "general" attention of a teacher-forced decoder).

For every batch row ``b`` (one OpenMP thread per row block, no barrier)::

    S = scale * Q_b @ P_b^T             (Tq, L_b)   scores over the valid keys
    W = softmax(S) per query            (Tq, Tk)    exactly 0 past L_b
    C_b = W @ V_b                       (Tq, Hv)

and the backward of it.  ``Q_b`` is row ``b`` of every query step: the arrays
are time-major ``(T, B, W)``, so ``Q_b``'s rows sit ``B * ld`` apart and no
batch-first copy is ever made.  The products run on the recurrent loops'
step kernel (csrc/stepgemm.h: AVX2 when the CPU has it, no BLAS buffers or
locks, so every thread calls it at once), on operands packed per row --
transposes are free in both its A (row / column strides) and its packing.
A batched ``np.matmul`` of these small matrices pays a BLAS call's set-up per
row and product (measured ~7 us each, 64 rows x 6 products per step of
training); this is one call.

Layout: ``q`` (Tq, B, H), ``proj`` (Tk, B, H), ``values`` (Tk, B, Hv),
``context`` / ``dcontext`` (Tq, B, Hv) may each be a column slice of a wider
array (row stride ``ld``, read from the array's strides);
``weights`` (B, Tq, Tk) is C-contiguous.  ``lengths`` (B,) intp in [1, Tk].
The caller (``fastrnn.layers.attention``) validates all of it.
"""
cimport numpy as cnp
from cython.parallel cimport prange
from libc.math cimport exp, expf
from libc.string cimport memset
from cython cimport floating

from ._openmp cimport omp_get_thread_num
from ._stepgemm cimport fr_sstep, fr_dstep, pack_panels, fr_stepgemm_init

import numpy as np

cnp.import_array()
fr_stepgemm_init()


cdef struct Rows:
    Py_ssize_t Tq, Tk, B, H, Hv
    Py_ssize_t ldq, ldp, ldv, ldc    # row strides (elements) of q, proj, values, context
    double scale


cdef inline void _gemm(int m, int n, int k, const floating* A, Py_ssize_t rs, Py_ssize_t ps,
                       const floating* Bp, floating beta, floating* C, int ldc) noexcept nogil:
    """C (m, n) = beta * C + A @ B; A's (r, p) at ``A[r * rs + p * ps]``."""
    if m <= 0 or n <= 0:
        return
    if floating is float:
        fr_sstep(m, n, k, A, rs, ps, Bp, beta, C, ldc)
    else:
        fr_dstep(m, n, k, A, rs, ps, Bp, beta, C, ldc)


cdef void _softmax_rows(Py_ssize_t Tq, Py_ssize_t L, Py_ssize_t Tk, floating scale,
                        floating* w) noexcept nogil:
    """``w`` (Tq, Tk) holds raw scores in its first L columns: scale them,
    softmax each row over those columns (max subtracted), zero the rest."""
    cdef Py_ssize_t t, j
    cdef floating m, z
    cdef floating* r
    for t in range(Tq):
        r = w + t * Tk
        m = r[0] * scale
        for j in range(L):
            r[j] = r[j] * scale
            if r[j] > m:
                m = r[j]
        z = 0
        for j in range(L):
            if floating is float:
                r[j] = expf(r[j] - m)
            else:
                r[j] = exp(r[j] - m)
            z = z + r[j]
        z = 1 / z
        for j in range(L):
            r[j] = r[j] * z
        for j in range(L, Tk):
            r[j] = 0


cdef void _forward_row(const Rows* d, Py_ssize_t b, Py_ssize_t L, const floating* q,
                       const floating* proj, const floating* values, floating* weights,
                       floating* context, floating* pack) noexcept nogil:
    cdef Py_ssize_t B = d.B, Tk = d.Tk
    cdef floating* w = weights + b * d.Tq * Tk
    # S = Q_b @ P_b^T: B operand (H, L), element (h, j) = proj[(j * B + b) * ldp + h].
    pack_panels(<int> d.H, <int> L, proj + b * d.ldp, 1, B * d.ldp, NULL, NULL, pack)
    _gemm(<int> d.Tq, <int> L, <int> d.H, q + b * d.ldq, B * d.ldq, 1, pack, <floating> 0,
          w, <int> Tk)
    _softmax_rows(d.Tq, L, Tk, <floating> d.scale, w)
    # C_b = W[:, :L] @ V_b: B operand (L, Hv), element (j, h) = values[(j * B + b) * ldv + h].
    pack_panels(<int> L, <int> d.Hv, values + b * d.ldv, B * d.ldv, 1, NULL, NULL, pack)
    _gemm(<int> d.Tq, <int> d.Hv, <int> L, w, Tk, 1, pack, <floating> 0,
          context + b * d.ldc, <int> (B * d.ldc))


cdef void _backward_row(const Rows* d, Py_ssize_t b, Py_ssize_t L, const floating* q,
                        const floating* proj, const floating* values, const floating* weights,
                        const floating* dcontext, floating* dq, floating* dproj,
                        floating* dvalues, floating* ds, floating* pack) noexcept nogil:
    """Accumulates row b's dq (Tq, B, H), dproj (Tk, B, H), dvalues (Tk, B, Hv)
    (contiguous; dproj and dvalues may be one array).  ``ds``: (Tq, Tk) scratch."""
    cdef Py_ssize_t B = d.B, Tq = d.Tq, Tk = d.Tk, H = d.H, Hv = d.Hv, t, j
    cdef const floating* w = weights + b * Tq * Tk
    cdef const floating* dc = dcontext + b * d.ldc
    cdef floating* r
    cdef floating sdot, scale = <floating> d.scale
    # dW = dC_b @ V_b^T: B operand (Hv, L), element (h, j) = values[(j * B + b) * ldv + h].
    pack_panels(<int> Hv, <int> L, values + b * d.ldv, 1, B * d.ldv, NULL, NULL, pack)
    _gemm(<int> Tq, <int> L, <int> Hv, dc, B * d.ldc, 1, pack, <floating> 0, ds, <int> Tk)
    # dS = scale * W * (dW - sum_j W dW): the softmax's backward, then the scale.
    for t in range(Tq):
        r = ds + t * Tk
        sdot = 0
        for j in range(L):
            sdot = sdot + w[t * Tk + j] * r[j]
        for j in range(L):
            r[j] = scale * (w[t * Tk + j] * (r[j] - sdot))
    # dQ_b += dS @ P_b: B operand (L, H), element (j, h) = proj[(j * B + b) * ldp + h].
    pack_panels(<int> L, <int> H, proj + b * d.ldp, B * d.ldp, 1, NULL, NULL, pack)
    _gemm(<int> Tq, <int> H, <int> L, ds, Tk, 1, pack, <floating> 1, dq + b * H, <int> (B * H))
    # dP_b += dS^T @ Q_b: A = dS^T (its (j, t) at ds[t * Tk + j]); B operand Q_b (Tq, H).
    pack_panels(<int> Tq, <int> H, q + b * d.ldq, B * d.ldq, 1, NULL, NULL, pack)
    _gemm(<int> L, <int> H, <int> Tq, ds, 1, Tk, pack, <floating> 1, dproj + b * H,
          <int> (B * H))
    # dV_b += W^T @ dC_b: A = W[:, :L]^T; B operand dC_b (Tq, Hv).
    pack_panels(<int> Tq, <int> Hv, dc, B * d.ldc, 1, NULL, NULL, pack)
    _gemm(<int> L, <int> Hv, <int> Tq, w, 1, Tk, pack, <floating> 1, dvalues + b * Hv,
          <int> (B * Hv))


cdef void _forward_all(const Rows* d, const Py_ssize_t* lengths, int nthreads,
                       const floating* q, const floating* proj, const floating* values,
                       floating* weights, floating* context, floating* scratch,
                       Py_ssize_t per_thread) noexcept nogil:
    cdef Py_ssize_t b
    if nthreads <= 1:
        for b in range(d.B):
            _forward_row(d, b, lengths[b], q, proj, values, weights, context, scratch)
        return
    for b in prange(d.B, num_threads=nthreads, schedule="static"):
        _forward_row(d, b, lengths[b], q, proj, values, weights, context,
                     scratch + omp_get_thread_num() * per_thread)


cdef void _backward_all(const Rows* d, const Py_ssize_t* lengths, int nthreads,
                        const floating* q, const floating* proj, const floating* values,
                        const floating* weights, const floating* dcontext, floating* dq,
                        floating* dproj, floating* dvalues, floating* scratch,
                        Py_ssize_t per_thread) noexcept nogil:
    cdef Py_ssize_t b, ds_size = d.Tq * d.Tk
    cdef floating* s
    if nthreads <= 1:
        for b in range(d.B):
            _backward_row(d, b, lengths[b], q, proj, values, weights, dcontext, dq, dproj,
                          dvalues, scratch, scratch + ds_size)
        return
    for b in prange(d.B, num_threads=nthreads, schedule="static"):
        s = scratch + omp_get_thread_num() * per_thread
        _backward_row(d, b, lengths[b], q, proj, values, weights, dcontext, dq, dproj,
                      dvalues, s, s + ds_size)


# -------------------------------------------------------------- Python entries
cdef inline void* _ptr(object a):
    return cnp.PyArray_DATA(<cnp.ndarray> a)


cdef Py_ssize_t _ld(a):
    """Elements between consecutive rows (t * B + b) of an evenly spaced
    (T, B, W) array; a length-1 axis's stride means nothing (numpy may set
    it to 0), so the other axis's is used."""
    if a.shape[1] > 1:
        return a.strides[1] // a.itemsize
    if a.shape[0] > 1:
        return a.strides[0] // a.itemsize
    return a.shape[2]


cdef Rows _rows(q, proj, values, context, double scale):
    cdef Rows d
    d.Tq, d.B, d.H = q.shape[0], q.shape[1], q.shape[2]
    d.Tk, d.Hv = values.shape[0], values.shape[2]
    d.ldq, d.ldp, d.ldv, d.ldc = _ld(q), _ld(proj), _ld(values), _ld(context)
    d.scale = scale
    return d


def scratch_size(Py_ssize_t Tq, Py_ssize_t Tk, Py_ssize_t H, Py_ssize_t Hv):
    """Values of scratch each thread needs: a (Tq, Tk) block and the largest
    packed operand."""
    return Tq * Tk + max(Tk * max(H, Hv), Tq * max(H, Hv))


def forward(q, proj, values, lengths, double scale, weights, context, scratch, int nthreads):
    """Fill ``weights`` (B, Tq, Tk) and ``context`` (Tq, B, Hv); ``scratch``:
    ``nthreads`` x :func:`scratch_size` values of the dtype."""
    cdef Rows d = _rows(q, proj, values, context, scale)
    cdef const Py_ssize_t* L = <const Py_ssize_t*> _ptr(lengths)
    cdef Py_ssize_t per = scratch_size(d.Tq, d.Tk, d.H, d.Hv)
    cdef void* pq = _ptr(q)
    cdef void* pp = _ptr(proj)
    cdef void* pv = _ptr(values)
    cdef void* pw = _ptr(weights)
    cdef void* pc = _ptr(context)
    cdef void* ps = _ptr(scratch)
    if q.dtype == np.float32:
        with nogil:
            _forward_all(&d, L, nthreads, <float*> pq, <float*> pp, <float*> pv, <float*> pw,
                         <float*> pc, <float*> ps, per)
    else:
        with nogil:
            _forward_all(&d, L, nthreads, <double*> pq, <double*> pp, <double*> pv,
                         <double*> pw, <double*> pc, <double*> ps, per)


def backward(q, proj, values, lengths, double scale, weights, dcontext, dq, dproj, dvalues,
             scratch, int nthreads):
    """Add the gradients of :func:`forward`'s context into ``dq`` (Tq, B, H),
    ``dproj`` (Tk, B, H) and ``dvalues`` (Tk, B, Hv), all C-contiguous
    (``dproj`` may be ``dvalues``: keys that are also the values)."""
    cdef Rows d = _rows(q, proj, values, dcontext, scale)
    cdef const Py_ssize_t* L = <const Py_ssize_t*> _ptr(lengths)
    cdef Py_ssize_t per = scratch_size(d.Tq, d.Tk, d.H, d.Hv)
    cdef void* pq = _ptr(q)
    cdef void* pp = _ptr(proj)
    cdef void* pv = _ptr(values)
    cdef void* pw = _ptr(weights)
    cdef void* pdc = _ptr(dcontext)
    cdef void* pdq = _ptr(dq)
    cdef void* pdp = _ptr(dproj)
    cdef void* pdv = _ptr(dvalues)
    cdef void* ps = _ptr(scratch)
    if q.dtype == np.float32:
        with nogil:
            _backward_all(&d, L, nthreads, <float*> pq, <float*> pp, <float*> pv, <float*> pw,
                          <float*> pdc, <float*> pdq, <float*> pdp, <float*> pdv,
                          <float*> ps, per)
    else:
        with nogil:
            _backward_all(&d, L, nthreads, <double*> pq, <double*> pp, <double*> pv,
                          <double*> pw, <double*> pdc, <double*> pdq, <double*> pdp,
                          <double*> pdv, <double*> ps, per)

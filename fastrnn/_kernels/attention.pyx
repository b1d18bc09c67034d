"""Fused scaled-dot-product attention over time-major sequences (Luong's
"dot" / "general" attention of a teacher-forced decoder).

For every batch row ``b`` (one OpenMP thread per row block, no barrier)::

    S = scale * Q_b @ P_b^T             (Tq, L_b)   scores over the valid keys
    W = softmax(S) per query            (Tq, Tk)    exactly 0 past L_b
    C_b = W @ V_b                       (Tq, Hv)

and the backward of it.  ``Q_b`` is row ``b`` of every query step: the arrays
are time-major ``(T, B, W)``, so ``Q_b``'s rows sit ``B * ld`` apart and no
batch-first copy is ever made.  The products are csrc/smallgemm.h's, on
the operands where they lie: the scores (and their gradient w.r.t. the
weights) as dot products of rows, the others on the step kernel's register
tiles reading B's rows in place (AVX2 when the CPU has it, no BLAS buffers
or locks, so every thread calls them at once; packing an operand per row
cost as much as its product).  A batched ``np.matmul`` of these small
matrices pays a BLAS call's set-up per row and product (measured ~7 us
each, 64 rows x 6 products per step of training); this is one call.

Layout: ``q`` (Tq, B, H), ``proj`` (Tk, B, H), ``values`` (Tk, B, Hv),
``context`` / ``dcontext`` (Tq, B, Hv) may each be a column slice of a wider
array (row stride ``ld``, read from the array's strides);
``weights`` (B, Tq, Tk) is C-contiguous.  ``lengths`` (B,) intp in [1, Tk].
The caller (``fastrnn.layers.attention``) validates all of it.
"""
cimport numpy as cnp
from cython.parallel cimport prange
from libc.math cimport exp
from cython cimport floating

from .openmp cimport omp_get_thread_num
from .activations cimport fr_expf
from .stepgemm cimport isa_code

cdef extern from "smallgemm.h" nogil:
    void fr_srows(int m, int n, int k, const float* A, Py_ssize_t rs, Py_ssize_t ps,
                  const float* B, int ldb, float beta, float* C, int ldc)
    void fr_drows(int m, int n, int k, const double* A, Py_ssize_t rs, Py_ssize_t ps,
                  const double* B, int ldb, double beta, double* C, int ldc)
    void fr_sdots(int m, int n, int k, const float* A, int lda, const float* Bt, int ldb,
                  float* C, int ldc)
    void fr_ddots(int m, int n, int k, const double* A, int lda, const double* Bt, int ldb,
                  double* C, int ldc)
    ctypedef struct fr_small_kernels:
        void (*srows)(int, int, int, const float*, Py_ssize_t, Py_ssize_t, const float*, int,
                      float, float*, int)
        void (*drows)(int, int, int, const double*, Py_ssize_t, Py_ssize_t, const double*, int,
                      double, double*, int)
        void (*sdots)(int, int, int, const float*, int, const float*, int, float*, int)
        void (*ddots)(int, int, int, const double*, int, const double*, int, double*, int)
    fr_small_kernels fr_small_kernels_for(int isa)
    int fr_smallgemm_use(int isa)

import numpy as np

from . import isa as _isa

cnp.import_array()
fr_smallgemm_use(isa_code(_isa))   # the products of the kernel build in use


cdef struct Rows:
    Py_ssize_t Tq, Tk, B, H, Hv
    Py_ssize_t ldq, ldp, ldv, ldc    # row strides (elements) of q, proj, values, context
    double scale


cdef inline void _product(int m, int n, int k, const floating* A, Py_ssize_t rs,
                          Py_ssize_t ps, const floating* B, Py_ssize_t ldb, floating beta,
                          floating* C, Py_ssize_t ldc) noexcept nogil:
    """C (m, n) = beta * C + A @ B, B's rows contiguous and ``ldb`` apart;
    A's (r, p) at ``A[r * rs + p * ps]``."""
    if floating is float:
        fr_srows(m, n, k, A, rs, ps, B, <int> ldb, beta, C, <int> ldc)
    else:
        fr_drows(m, n, k, A, rs, ps, B, <int> ldb, beta, C, <int> ldc)


cdef inline void _dots(int m, int n, int k, const floating* A, Py_ssize_t lda,
                       const floating* Bt, Py_ssize_t ldb, floating* C,
                       Py_ssize_t ldc) noexcept nogil:
    """C (m, n) = A @ Bt^T, the rows of A and Bt contiguous, lda / ldb apart."""
    if floating is float:
        fr_sdots(m, n, k, A, <int> lda, Bt, <int> ldb, C, <int> ldc)
    else:
        fr_ddots(m, n, k, A, <int> lda, Bt, <int> ldb, C, <int> ldc)


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
        for j in range(L):   # (a pass of its own: it vectorises)
            if floating is float:
                r[j] = fr_expf(r[j] - m)
            else:
                r[j] = exp(r[j] - m)
        z = 0
        for j in range(L):
            z = z + r[j]
        z = 1 / z
        for j in range(L):
            r[j] = r[j] * z
        for j in range(L, Tk):
            r[j] = 0


cdef void _forward_row(const Rows* d, Py_ssize_t b, Py_ssize_t L, const floating* q,
                       const floating* proj, const floating* values, floating* weights,
                       floating* context) noexcept nogil:
    cdef Py_ssize_t B = d.B, Tk = d.Tk
    cdef floating* w = weights + b * d.Tq * Tk
    # S = Q_b @ P_b^T: dot products of Q_b's rows with P_b's (both in place).
    _dots(<int> d.Tq, <int> L, <int> d.H, q + b * d.ldq, B * d.ldq, proj + b * d.ldp,
          B * d.ldp, w, Tk)
    _softmax_rows(d.Tq, L, Tk, <floating> d.scale, w)
    # C_b = W[:, :L] @ V_b, V_b's rows read in place.
    _product(<int> d.Tq, <int> d.Hv, <int> L, w, Tk, 1, values + b * d.ldv, B * d.ldv,
             <floating> 0, context + b * d.ldc, B * d.ldc)


cdef void _backward_row(const Rows* d, Py_ssize_t b, Py_ssize_t L, const floating* q,
                        const floating* proj, const floating* values, const floating* weights,
                        const floating* dcontext, floating* dq, floating* dproj,
                        floating* dvalues, floating* ds) noexcept nogil:
    """Accumulates row b's dq (Tq, B, H), dproj (Tk, B, H), dvalues (Tk, B, Hv)
    (contiguous; dproj and dvalues may be one array).  ``ds``: (Tq, Tk) scratch."""
    cdef Py_ssize_t B = d.B, Tq = d.Tq, Tk = d.Tk, H = d.H, Hv = d.Hv, t, j
    cdef const floating* w = weights + b * Tq * Tk
    cdef const floating* dc = dcontext + b * d.ldc
    cdef floating* r
    cdef floating sdot, scale = <floating> d.scale
    # dW = dC_b @ V_b^T: dot products of dC_b's rows with V_b's.
    _dots(<int> Tq, <int> L, <int> Hv, dc, B * d.ldc, values + b * d.ldv, B * d.ldv, ds, Tk)
    # dS = scale * W * (dW - sum_j W dW): the softmax's backward, then the scale.
    for t in range(Tq):
        r = ds + t * Tk
        sdot = 0
        for j in range(L):
            sdot = sdot + w[t * Tk + j] * r[j]
        for j in range(L):
            r[j] = scale * (w[t * Tk + j] * (r[j] - sdot))
    # dQ_b += dS @ P_b.
    _product(<int> Tq, <int> H, <int> L, ds, Tk, 1, proj + b * d.ldp, B * d.ldp, <floating> 1,
             dq + b * H, B * H)
    # dP_b += dS^T @ Q_b (A = dS^T: its (j, t) at ds[t * Tk + j]).
    _product(<int> L, <int> H, <int> Tq, ds, 1, Tk, q + b * d.ldq, B * d.ldq, <floating> 1,
             dproj + b * H, B * H)
    # dV_b += W^T @ dC_b (A = W[:, :L]^T).
    _product(<int> L, <int> Hv, <int> Tq, w, 1, Tk, dc, B * d.ldc, <floating> 1,
             dvalues + b * Hv, B * Hv)


cdef void _forward_all(const Rows* d, const Py_ssize_t* lengths, int nthreads, void** p,
                       floating tag) noexcept nogil:
    """:func:`forward` on the pointers ``p`` = (q, proj, values, weights,
    context); ``tag`` picks the dtype."""
    cdef const floating* q = <floating*> p[0]
    cdef const floating* proj = <floating*> p[1]
    cdef const floating* values = <floating*> p[2]
    cdef floating* weights = <floating*> p[3]
    cdef floating* context = <floating*> p[4]
    cdef Py_ssize_t b
    if nthreads <= 1:
        for b in range(d.B):
            _forward_row(d, b, lengths[b], q, proj, values, weights, context)
        return
    for b in prange(d.B, num_threads=nthreads, schedule="static"):
        _forward_row(d, b, lengths[b], q, proj, values, weights, context)


cdef void _backward_all(const Rows* d, const Py_ssize_t* lengths, int nthreads, void** p,
                        floating tag) noexcept nogil:
    """:func:`backward` on the pointers ``p`` = (q, proj, values, weights,
    dcontext, dq, dproj, dvalues, scratch of Tq * Tk values per thread)."""
    cdef const floating* q = <floating*> p[0]
    cdef const floating* proj = <floating*> p[1]
    cdef const floating* values = <floating*> p[2]
    cdef const floating* weights = <floating*> p[3]
    cdef const floating* dcontext = <floating*> p[4]
    cdef floating* dq = <floating*> p[5]
    cdef floating* dproj = <floating*> p[6]
    cdef floating* dvalues = <floating*> p[7]
    cdef floating* scratch = <floating*> p[8]
    cdef Py_ssize_t b, per_thread = d.Tq * d.Tk
    if nthreads <= 1:
        for b in range(d.B):
            _backward_row(d, b, lengths[b], q, proj, values, weights, dcontext, dq, dproj,
                          dvalues, scratch)
        return
    for b in prange(d.B, num_threads=nthreads, schedule="static"):
        _backward_row(d, b, lengths[b], q, proj, values, weights, dcontext, dq, dproj,
                      dvalues, scratch + omp_get_thread_num() * per_thread)


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


cdef void _pointers(tuple arrays, void** p):
    for i, a in enumerate(arrays):
        p[i] = _ptr(a)


def forward(q, proj, values, lengths, double scale, weights, context, int nthreads):
    """Fill ``weights`` (B, Tq, Tk) and ``context`` (Tq, B, Hv)."""
    cdef Rows d = _rows(q, proj, values, context, scale)
    cdef const Py_ssize_t* L = <const Py_ssize_t*> _ptr(lengths)
    cdef void* p[5]
    _pointers((q, proj, values, weights, context), p)
    if q.dtype == np.float32:
        with nogil:
            _forward_all(&d, L, nthreads, p, <float> 0)
    else:
        with nogil:
            _forward_all(&d, L, nthreads, p, <double> 0)


def backward(q, proj, values, lengths, double scale, weights, dcontext, dq, dproj, dvalues,
             int nthreads):
    """Add the gradients of :func:`forward`'s context into ``dq`` (Tq, B, H),
    ``dproj`` (Tk, B, H) and ``dvalues`` (Tk, B, Hv), all C-contiguous
    (``dproj`` may be ``dvalues``: keys that are also the values)."""
    cdef Rows d = _rows(q, proj, values, dcontext, scale)
    cdef const Py_ssize_t* L = <const Py_ssize_t*> _ptr(lengths)
    scratch = np.empty(nthreads * d.Tq * d.Tk, q.dtype)   # each thread's (Tq, Tk) block
    cdef void* p[9]
    _pointers((q, proj, values, weights, dcontext, dq, dproj, dvalues, scratch), p)
    if q.dtype == np.float32:
        with nogil:
            _backward_all(&d, L, nthreads, p, <float> 0)
    else:
        with nogil:
            _backward_all(&d, L, nthreads, p, <double> 0)


def small_product(A, B, C, double beta, bint dots=False, str kernels=None):
    """For tests, the products of csrc/smallgemm.h on 2-D arrays of one float
    dtype with unit-stride rows (any row stride; ``A`` may be a transpose):
    ``C = beta * C + A @ B`` reading B's rows in place, or with ``dots``
    ``C = A @ B.T`` (``B`` (n, k), C-ordered rows).  ``kernels`` names a
    build as for ``the recurrent builds' ``step_product````; None: the one in use."""
    cdef int m = C.shape[0], n = C.shape[1], k = A.shape[1]
    cdef Py_ssize_t rs = A.strides[0] // A.itemsize, ps = A.strides[1] // A.itemsize
    cdef Py_ssize_t ldb = B.strides[0] // B.itemsize, ldc = C.strides[0] // C.itemsize
    cdef void* pa = cnp.PyArray_DATA(A)
    cdef void* pb = cnp.PyArray_DATA(B)
    cdef void* pc = cnp.PyArray_DATA(C)
    cdef fr_small_kernels kern = fr_small_kernels_for(isa_code(kernels or _isa))
    if m <= 0 or n <= 0:
        return C
    if C.dtype == np.float32:
        if dots:
            kern.sdots(m, n, k, <float*> pa, <int> rs, <float*> pb, <int> ldb, <float*> pc,
                       <int> ldc)
        else:
            kern.srows(m, n, k, <float*> pa, rs, ps, <float*> pb, <int> ldb, <float> beta,
                       <float*> pc, <int> ldc)
    else:
        if dots:
            kern.ddots(m, n, k, <double*> pa, <int> rs, <double*> pb, <int> ldb, <double*> pc,
                       <int> ldc)
        else:
            kern.drows(m, n, k, <double*> pa, rs, ps, <double*> pb, <int> ldb, beta,
                       <double*> pc, <int> ldc)
    return C

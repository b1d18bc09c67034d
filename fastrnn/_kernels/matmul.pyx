"""Matrix products of the layers around the recurrent kernels (Linear,
attention projections), split over fastrnn's OpenMP threads, and the
column sums of the bias gradients (Linear's, GRU's ``b_hn``).

Each thread makes one single-threaded BLAS call on its block of output rows,
exactly as the recurrent kernels' after-loop gradients do.  A threaded BLAS
call instead would leave OpenBLAS workers spinning for ~0.1 s on the cores
the next recurrent layer's OpenMP threads need (fastrnn keeps BLAS at one
thread), so without this split these products ran on one core.

Every row of the result is computed by one call over the full inner
dimension, and the parts start at multiples of ROW_ALIGN rows: each row
then falls at the same place of BLAS's register tiles (whose edge tiles
sum in another order) whatever the number of parts, so the thread count
changes no bit of the result.
"""
cimport numpy as cnp
from cython.parallel cimport prange
from cython cimport floating
from libc.string cimport memset

from .blas cimport gemm, NoTrans, Trans, BLAS_Trans

import numpy as np

cnp.import_array()

# A multiple of every register tile width BLAS may use along these rows
# (OpenBLAS: 2 to 24; measured here: tiles of 6 rows, 32 would not do).
DEF ROW_ALIGN = 48


cdef void _matmul(BLAS_Trans ta, BLAS_Trans tb, int m, int n, int k,
                  const floating* A, int lda,           # IN  op(A) (m, k)
                  const floating* B, int ldb,           # IN  op(B) (k, n)
                  floating beta, floating* C, int ldc,  # IN/OUT (m, n)
                  int nparts) noexcept nogil:
    """C = op(A) @ op(B) + beta * C with C's rows in ``nparts`` blocks, one
    per OpenMP thread (a single part runs on the calling thread)."""
    cdef int part, r0, r1
    cdef int blocks = (m + ROW_ALIGN - 1) // ROW_ALIGN
    if nparts > blocks:
        nparts = blocks
    if nparts <= 1:
        gemm(ta, tb, m, n, k, <floating> 1, A, lda, B, ldb, beta, C, ldc)
        return
    for part in prange(nparts, num_threads=nparts, schedule="static", chunksize=1):
        r0 = min(m, part * blocks // nparts * ROW_ALIGN)
        r1 = min(m, (part + 1) * blocks // nparts * ROW_ALIGN)
        # Row r of op(A) starts at A + r * lda, or at column r of A when transposed.
        gemm(ta, tb, r1 - r0, n, k, <floating> 1, A + (r0 if ta == Trans else r0 * lda), lda,
             B, ldb, beta, C + r0 * ldc, ldc)


cdef inline int _ld(cnp.ndarray a):
    return <int> (a.strides[0] // a.itemsize)


def matmul(cnp.ndarray a, cnp.ndarray b, cnp.ndarray c, bint trans_a, bint trans_b,
           double beta, int nparts):
    """``c = op(a) @ op(b) + beta * c`` in place, split over ``nparts`` threads.

    The caller guarantees (``fastrnn.functional.matmul`` checks): 2-D arrays
    of one float dtype, unit stride along their last axis, a non-negative
    row stride, and shapes that agree.
    """
    cdef int m = <int> c.shape[0], n = <int> c.shape[1]
    cdef int k = <int> (a.shape[0] if trans_a else a.shape[1])
    cdef BLAS_Trans ta = Trans if trans_a else NoTrans
    cdef BLAS_Trans tb = Trans if trans_b else NoTrans
    cdef int lda = max(_ld(a), 1), ldb = max(_ld(b), 1), ldc = max(_ld(c), 1)
    if m == 0 or n == 0:
        return c
    if k == 0:   # BLAS skips the product but still scales by beta
        c *= beta
        return c
    if c.dtype == np.float32:
        with nogil:
            _matmul(ta, tb, m, n, k, <float*> cnp.PyArray_DATA(a), lda,
                    <float*> cnp.PyArray_DATA(b), ldb, <float> beta,
                    <float*> cnp.PyArray_DATA(c), ldc, nparts)
    else:
        with nogil:
            _matmul(ta, tb, m, n, k, <double*> cnp.PyArray_DATA(a), lda,
                    <double*> cnp.PyArray_DATA(b), ldb, beta,
                    <double*> cnp.PyArray_DATA(c), ldc, nparts)
    return c



def matmul_pair(tuple first, tuple second):
    """Two independent products at once, one per OpenMP thread, each a
    single full BLAS call (so each result is bit for bit the one-thread
    result): ``first`` and ``second`` are ``(a, b, c, trans_a, trans_b,
    beta)`` as the arguments of :func:`matmul`, of one float dtype."""
    cdef cnp.ndarray a, b, c
    cdef int m[2]
    cdef int n[2]
    cdef int k[2]
    cdef int lda[2]
    cdef int ldb[2]
    cdef int ldc[2]
    cdef BLAS_Trans ta[2]
    cdef BLAS_Trans tb[2]
    cdef double beta[2]
    cdef void* pa[2]
    cdef void* pb[2]
    cdef void* pc[2]
    cdef int i
    for i, (a, b, c, trans_a, trans_b, bt) in enumerate((first, second)):
        m[i], n[i] = <int> c.shape[0], <int> c.shape[1]
        k[i] = <int> (a.shape[0] if trans_a else a.shape[1])
        ta[i] = Trans if trans_a else NoTrans
        tb[i] = Trans if trans_b else NoTrans
        lda[i], ldb[i], ldc[i] = max(_ld(a), 1), max(_ld(b), 1), max(_ld(c), 1)
        beta[i] = bt
        pa[i], pb[i], pc[i] = cnp.PyArray_DATA(a), cnp.PyArray_DATA(b), cnp.PyArray_DATA(c)
    if first[2].dtype == np.float32:
        with nogil:
            for i in prange(2, num_threads=2, schedule="static", chunksize=1):
                gemm(ta[i], tb[i], m[i], n[i], k[i], <float> 1, <float*> pa[i], lda[i],
                     <float*> pb[i], ldb[i], <float> beta[i], <float*> pc[i], ldc[i])
    else:
        with nogil:
            for i in prange(2, num_threads=2, schedule="static", chunksize=1):
                gemm(ta[i], tb[i], m[i], n[i], k[i], <double> 1, <double*> pa[i], lda[i],
                     <double*> pb[i], ldb[i], beta[i], <double*> pc[i], ldc[i])


cdef void _column_sums(Py_ssize_t N, Py_ssize_t G, const floating* a,
                       double* out) noexcept nogil:
    cdef Py_ssize_t n, g
    memset(out, 0, G * sizeof(double))
    for n in range(N):
        for g in range(G):
            out[g] += a[n * G + g]


def column_sums(a, out):
    """``out[:] = a.sum(axis=0)`` for a C-contiguous float32 / float64
    ``(N, G)`` array, accumulated in the float64 ``out`` (G,): a float32
    sum over many rows would lose digits (the bias gradients)."""
    cdef Py_ssize_t N = a.shape[0], G = a.shape[1]
    cdef void* pa = cnp.PyArray_DATA(<cnp.ndarray> a)
    cdef double* o = <double*> cnp.PyArray_DATA(<cnp.ndarray> out)
    if a.dtype == np.float32:
        with nogil:
            _column_sums(N, G, <const float*> pa, o)
    else:
        with nogil:
            _column_sums(N, G, <const double*> pa, o)
    return out

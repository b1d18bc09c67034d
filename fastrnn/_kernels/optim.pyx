"""Fused optimizer updates over a flat parameter buffer, split over fastrnn's
OpenMP threads.

One pass reads each element's parameter, gradient and state once and
writes them once; numpy's array-by-array version makes a dozen passes with
temporaries.  Every operation is the one ``fastrnn.optim`` performs in numpy,
in the same order and in the parameters' dtype (each Python float scalar
rounded to that dtype first, as numpy does), and the module is compiled with
``-ffp-contract=off`` so that no multiply-add is fused: the results are the
numpy path's bit for bit, whatever the thread count (the elements are
independent).
"""
cimport numpy as cnp
from cython.parallel cimport prange
from cython cimport floating
from libc.math cimport sqrt, sqrtf

import numpy as np

cnp.import_array()


cdef void _adam(Py_ssize_t n, floating* p, const floating* g, floating* m, floating* v,  # IN/OUT
                floating decay, floating wd, floating w1, bint small_w1, floating keep,
                floating b2, floating c2, floating bc2, floating eps, floating step_size,
                int nthreads) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating gi, d
    for i in prange(n, num_threads=nthreads, schedule="static"):
        if decay != 1:
            p[i] = p[i] * decay                 # AdamW: p *= 1 - lr * weight_decay
        gi = g[i]
        if wd != 0:
            gi = gi + wd * p[i]                 # Adam: g + weight_decay * p
        if small_w1:                            # torch.lerp's two formulas
            m[i] = m[i] + w1 * (gi - m[i])
        else:
            m[i] = gi - (gi - m[i]) * keep
        v[i] = v[i] * b2
        v[i] = v[i] + (c2 * gi) * gi
        if floating is float:
            d = sqrtf(v[i])                     # rounded to float, as numpy's float32 sqrt
        else:
            d = sqrt(v[i])
        d = d / bc2
        d = d + eps
        p[i] = p[i] - (step_size * m[i]) / d


def adam(cnp.ndarray param, cnp.ndarray grad, cnp.ndarray exp_avg, cnp.ndarray exp_avg_sq,
         double decay, double weight_decay, double w1, double beta2, double c2, double bc2,
         double eps, double step_size, int nthreads):
    """One Adam / AdamW step in place over 1-D contiguous arrays of one float
    dtype (``fastrnn.optim`` checks them).  Scalars as ``optim.Adam._update``
    computes them: ``decay = 1 - lr * weight_decay`` (AdamW, else 1),
    ``weight_decay`` (Adam's coupled term, else 0), the lerp weight
    ``w1 = 1 - beta1``, ``beta2``, ``c2 = 1 - beta2``, ``bc2 = sqrt(1 -
    beta2 ** step)``, ``eps`` and ``step_size = lr / (1 - beta1 ** step)``."""
    cdef Py_ssize_t n = param.shape[0]
    cdef bint small = abs(w1) < 0.5
    if param.dtype == np.float32:
        with nogil:
            _adam(n, <float*> cnp.PyArray_DATA(param), <float*> cnp.PyArray_DATA(grad),
                  <float*> cnp.PyArray_DATA(exp_avg), <float*> cnp.PyArray_DATA(exp_avg_sq),
                  <float> decay, <float> weight_decay, <float> w1, small, <float> (1 - w1),
                  <float> beta2, <float> c2, <float> bc2, <float> eps, <float> step_size,
                  nthreads)
    else:
        with nogil:
            _adam(n, <double*> cnp.PyArray_DATA(param), <double*> cnp.PyArray_DATA(grad),
                  <double*> cnp.PyArray_DATA(exp_avg), <double*> cnp.PyArray_DATA(exp_avg_sq),
                  decay, weight_decay, w1, small, 1 - w1, beta2, c2, bc2, eps, step_size,
                  nthreads)


# Elements per partial sum of sum_squares: fixed, so the result does not
# depend on the thread count.
DEF BLOCK = 8192


cdef double _block_sum_squares(const floating* a, Py_ssize_t n0, Py_ssize_t n1) noexcept nogil:
    # Four running sums (i mod 4), so the adds of one chain do not wait on
    # each other's latency; a fixed order, so a fixed result.
    cdef Py_ssize_t i, n4 = n0 + (n1 - n0) // 4 * 4
    cdef double s0 = 0, s1 = 0, s2 = 0, s3 = 0, x0, x1, x2, x3
    for i in range(n0, n4, 4):
        x0, x1, x2, x3 = a[i], a[i + 1], a[i + 2], a[i + 3]
        s0 += x0 * x0
        s1 += x1 * x1
        s2 += x2 * x2
        s3 += x3 * x3
    for i in range(n4, n1):
        x0 = a[i]
        s0 += x0 * x0
    return (s0 + s1) + (s2 + s3)


def sum_squares(cnp.ndarray a, int nthreads):
    """``sum(a**2)`` in float64 over a 1-D contiguous float array, without a
    float64 copy: fixed blocks summed in parallel, then their sums in order
    (the same bits for any thread count)."""
    cdef Py_ssize_t n = a.shape[0], nb = (n + BLOCK - 1) // BLOCK, j
    cdef double[::1] parts = np.empty(max(nb, 1))
    cdef double total = 0
    cdef void* p = cnp.PyArray_DATA(a)
    if a.dtype == np.float32:
        with nogil:
            for j in prange(nb, num_threads=nthreads, schedule="static"):
                parts[j] = _block_sum_squares(<float*> p, j * BLOCK, min(n, (j + 1) * BLOCK))
    else:
        with nogil:
            for j in prange(nb, num_threads=nthreads, schedule="static"):
                parts[j] = _block_sum_squares(<double*> p, j * BLOCK, min(n, (j + 1) * BLOCK))
    for j in range(nb):
        total += parts[j]
    return total

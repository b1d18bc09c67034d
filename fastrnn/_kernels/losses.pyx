"""Softmax cross-entropy in one pass per row (``fastrnn.losses``).

numpy's version makes a dozen passes over the (N, C) logits with axis-1
reductions over a few classes each (measured ~340 us for 704 x 14; this is
one pass and one exp per element).  The arithmetic is float64 whatever the logits' dtype:
per row ``m = max``, ``z = sum exp(x - m)``, loss ``log z - (x_t - m)``,
gradient ``(exp(x - m) / z - onehot(t)) / count``, cast to the logits'
dtype on store.  The caller (``losses.cross_entropy``) validates.
"""
cimport numpy as cnp
from cython.parallel cimport prange
from libc.math cimport exp, log
from cython cimport floating

from .openmp cimport omp_get_thread_num

import numpy as np

cnp.import_array()


cdef void _row(Py_ssize_t C, const floating* r, Py_ssize_t t, double scale,
               floating* gr, double* ex, double* loss) noexcept nogil:
    """One counted row: its loss into ``loss``, its gradient into ``gr``."""
    cdef Py_ssize_t c
    cdef double m = r[0], z = 0, e
    for c in range(1, C):
        if r[c] > m:
            m = r[c]
    for c in range(C):
        ex[c] = exp(r[c] - m)
        z += ex[c]
    loss[0] = log(z) - (r[t] - m)
    for c in range(C):
        e = ex[c] / z
        if c == t:
            e -= 1
        gr[c] = <floating> (e * scale)


cdef double _rows(Py_ssize_t N, Py_ssize_t C, const floating* x,     # IN  (N, C)
                  const Py_ssize_t* t, Py_ssize_t ignore, bint has_ignore,  # IN  (N,)
                  double scale, floating* g,                          # OUT (N, C)
                  double* ex, double* losses, int nthreads) noexcept nogil:
    """Rows split over ``nthreads`` (``ex``: C scratch values per thread,
    ``losses``: N); the total is summed in row order afterwards, so it has
    the same bits for any thread count."""
    cdef Py_ssize_t n, c
    cdef double total = 0
    for n in prange(N, num_threads=nthreads, schedule="static"):
        if has_ignore and t[n] == ignore:
            for c in range(C):
                g[n * C + c] = 0
            losses[n] = 0
        else:
            _row(C, x + n * C, t[n], scale, g + n * C, ex + omp_get_thread_num() * C,
                 losses + n)
    for n in range(N):
        if not (has_ignore and t[n] == ignore):
            total += losses[n]
    return total


# Rows * classes below which one thread does it all (a parallel region's
# start-up costs more than it saves).
PARALLEL_MIN = 4096


def softmax_cross_entropy(cnp.ndarray logits, cnp.ndarray targets, object ignore_index,
                          cnp.ndarray grad, int nthreads=1):
    """Sum of the row losses over the counted rows and their count; fills
    ``grad`` (the mean's gradient).  ``logits`` / ``grad`` (N, C) C-contiguous
    float32 or float64, ``targets`` (N,) intp in [0, C) or ``ignore_index``;
    rows split over ``nthreads`` (the same result for any count)."""
    cdef Py_ssize_t N = logits.shape[0], C = logits.shape[1], n, count = 0
    cdef bint has_ignore = ignore_index is not None
    cdef Py_ssize_t ignore = ignore_index if has_ignore else 0
    cdef const Py_ssize_t* t = <const Py_ssize_t*> cnp.PyArray_DATA(targets)
    cdef void* px = cnp.PyArray_DATA(logits)
    cdef void* pg = cnp.PyArray_DATA(grad)
    cdef double total
    if N * C < PARALLEL_MIN:
        nthreads = 1
    nthreads = max(1, nthreads)
    cdef double[::1] ex = np.empty(nthreads * C)
    cdef double[::1] losses = np.empty(max(N, 1))
    for n in range(N):
        if not (has_ignore and t[n] == ignore):
            count += 1
    if count == 0:
        grad.fill(0)
        return 0.0, 0
    if logits.dtype == np.float32:
        with nogil:
            total = _rows(N, C, <float*> px, t, ignore, has_ignore, 1.0 / count, <float*> pg,
                          &ex[0], &losses[0], nthreads)
    else:
        with nogil:
            total = _rows(N, C, <double*> px, t, ignore, has_ignore, 1.0 / count, <double*> pg,
                          &ex[0], &losses[0], nthreads)
    return total, count

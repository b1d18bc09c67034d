"""tanh and its gradient in place, with the recurrent kernels' own tanh
(``activations.pxd``: vectorisable, float32's rational approximation), for
the layers around the recurrent ones (Seq2Seq's attentional head).  Built
once for the platform's baseline and shared by every recurrent build."""
cimport numpy as cnp
from cython cimport floating

from .activations cimport tanh

import numpy as np

cnp.import_array()


cdef inline void* _ptr(object a):
    return cnp.PyArray_DATA(<cnp.ndarray> a)


cdef void _tanh_inplace(Py_ssize_t n, floating* x) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        x[i] = tanh(x[i])


cdef void _tanh_grad_inplace(Py_ssize_t n, const floating* y, floating* dy) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating ONE = 1    # (a bare 1 would be the double 1.0: see cells.pxd)
    for i in range(n):
        dy[i] = dy[i] * (ONE - y[i] * y[i])


def tanh_inplace(x):
    """``x[:] = tanh(x)`` with the kernels' own tanh (vectorised, float32's
    rational approximation) on a C-contiguous float32 / float64 array."""
    cdef Py_ssize_t n = x.size
    cdef void* px = _ptr(x)
    if x.dtype == np.float32:
        with nogil:
            _tanh_inplace(n, <float*> px)
    else:
        with nogil:
            _tanh_inplace(n, <double*> px)
    return x


def tanh_grad_inplace(y, dy):
    """``dy *= 1 - y * y`` (tanh's backward from its output ``y``), in place,
    C-contiguous arrays of one float dtype and size."""
    cdef Py_ssize_t n = y.size
    cdef void* py = _ptr(y)
    cdef void* pd = _ptr(dy)
    if y.dtype == np.float32:
        with nogil:
            _tanh_grad_inplace(n, <const float*> py, <float*> pd)
    else:
        with nogil:
            _tanh_grad_inplace(n, <const double*> py, <double*> pd)
    return dy

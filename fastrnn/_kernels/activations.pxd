# Activations for the fused ``floating`` type: the float32 versions are the
# vectorisable approximations of csrc/activations.h, float64 uses libm.
from cython cimport floating

cdef extern from "activations.h" nogil:
    float fr_sigmoidf(float x)
    float fr_tanhf(float x)
    float fr_expf(float x)
    double fr_sigmoid(double x)
    double fr_tanh(double x)
    const char* fr_simd_flags()


cdef inline floating sigmoid(floating x) noexcept nogil:
    if floating is float:
        return fr_sigmoidf(x)
    else:
        return fr_sigmoid(x)


cdef inline floating tanh(floating x) noexcept nogil:
    if floating is float:
        return fr_tanhf(x)
    else:
        return fr_tanh(x)

# The step products of low-precision inference (csrc/lowpgemm.h): weights
# packed once as int8 (per-column scales) or bf16, the float32 rows of A
# converted at every product.  fastrnn._kernels picks the kernels with the
# step kernels' instruction set, once, at import.
from libc.stdint cimport uint8_t, uint16_t

cdef extern from "lowpgemm.h" nogil:
    enum:
        FR_PRECISION_NATIVE
        FR_PRECISION_INT8
        FR_PRECISION_BF16
    size_t fr_lowp_bytes(int precision, int k, int n)
    Py_ssize_t fr_lowp_row_bytes(int precision, int k)
    void fr_lowp_pack(int precision, int k, int n, const float* src, Py_ssize_t rs,
                      Py_ssize_t cs, const Py_ssize_t* cmap, uint8_t* blob)
    ctypedef struct fr_lowp_kernels:
        const char* q8name
    fr_lowp_kernels fr_lowp_kernels_for(int isa)
    void fr_lowp_use(int isa)
    const char* fr_lowp_int8_name()
    int fr_lowp_has_bf16()
    int fr_lowp_has_bf16_in(const fr_lowp_kernels* kern)
    void fr_lowp_step(int precision, int m, int n, int k, const float* A, Py_ssize_t lda,
                      const uint8_t* blob, float beta, float* C, int ldc, uint8_t* Q,
                      Py_ssize_t row_bytes, float* row_scales)
    void fr_lowp_rows(int precision, int m, int k, const float* A, Py_ssize_t lda, uint8_t* Q,
                      Py_ssize_t row_bytes, float* row_scales)
    void fr_lowp_product(int precision, int m, int n, int k, const uint8_t* Q,
                         Py_ssize_t row_bytes, const float* row_scales, const uint8_t* blob,
                         float beta, const float* bias, float* C, int ldc)
    void fr_lowp_step_with(const fr_lowp_kernels* kern, int precision, int m, int n, int k,
                           const float* A, Py_ssize_t lda, const uint8_t* blob, float beta,
                           const float* bias, float* C, int ldc, uint8_t* Q,
                           Py_ssize_t row_bytes, float* row_scales)

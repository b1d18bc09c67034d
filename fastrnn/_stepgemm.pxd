# The per-step product of the time loops (csrc/stepgemm.h): no packing, no
# buffers, no locks, so every OpenMP thread can call it on its batch rows.
from cython cimport floating

cdef extern from "stepgemm.h" nogil:
    void fr_sstep(int m, int n, int k, const float* A, int lda, const float* B, int ldb,
                  float beta, float* C, int ldc)
    void fr_dstep(int m, int n, int k, const double* A, int lda, const double* B, int ldb,
                  double beta, double* C, int ldc)
    void fr_stepgemm_init()
    const char* fr_stepgemm_isa()


cdef inline void step_gemm(int m, int n, int k, const floating* A, int lda,
                           const floating* B, int ldb, floating beta,
                           floating* C, int ldc) noexcept nogil:
    """C (m, n) = beta * C + A (m, k) @ B (k, n), row-major, beta 0 or 1."""
    if m <= 0 or n <= 0:
        return
    if floating is float:
        fr_sstep(m, n, k, A, lda, B, ldb, beta, C, ldc)
    else:
        fr_dstep(m, n, k, A, lda, B, ldb, beta, C, ldc)

# Row-major BLAS wrappers over scipy.linalg.cython_blas, for the fused
# ``floating`` type (float32 -> s*, float64 -> d*).
#
# BLAS is column-major: a row-major C = op(A) op(B) is the column-major
# C^T = op(B)^T op(A)^T, so the operands are swapped and m/n exchanged.
# Nothing is linked: scipy's BLAS is reached through its function pointers.
from cython cimport floating
from scipy.linalg.cython_blas cimport sgemm, dgemm


cdef enum BLAS_Trans:
    NoTrans = 110  # ord('n')
    Trans = 116    # ord('t')


cdef inline void gemm(BLAS_Trans ta, BLAS_Trans tb, int m, int n, int k,
                      floating alpha, const floating* A, int lda,
                      const floating* B, int ldb, floating beta,
                      floating* C, int ldc) noexcept nogil:
    """C (m, n) = alpha * op(A) @ op(B) + beta * C, all row-major.

    op(A) is (m, k), op(B) is (k, n); lda/ldb/ldc are row strides in elements.
    """
    cdef char ta_ = ta
    cdef char tb_ = tb
    if m <= 0 or n <= 0:
        return
    if floating is float:
        sgemm(&tb_, &ta_, &n, &m, &k, &alpha, <float*> B, &ldb,
              <float*> A, &lda, &beta, C, &ldc)
    else:
        dgemm(&tb_, &ta_, &n, &m, &k, &alpha, <double*> B, &ldb,
              <double*> A, &lda, &beta, C, &ldc)

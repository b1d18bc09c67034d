# The per-step product of the time loops (csrc/stepgemm.h): no packing, no
# buffers, no locks, so every OpenMP thread can call it on its batch rows.
from cython cimport floating

cdef extern from "stepgemm.h" nogil:
    void fr_sstep(int m, int n, int k, const float* A, Py_ssize_t rs, Py_ssize_t ps,
                  const float* Bp, float beta, float* C, int ldc)
    void fr_dstep(int m, int n, int k, const double* A, Py_ssize_t rs, Py_ssize_t ps,
                  const double* Bp, double beta, double* C, int ldc)
    void fr_spack(int k, int n, const float* src, Py_ssize_t rs, Py_ssize_t cs,
                  const Py_ssize_t* rmap, const Py_ssize_t* cmap, float* Bp)
    void fr_dpack(int k, int n, const double* src, Py_ssize_t rs, Py_ssize_t cs,
                  const Py_ssize_t* rmap, const Py_ssize_t* cmap, double* Bp)
    void fr_stepgemm_init()
    const char* fr_stepgemm_isa()
    int fr_cpu_has_avx2_fma()


cdef inline void step_gemm(int m, int n, int k, const floating* A, int lda,
                           const floating* Bp, floating beta,
                           floating* C, int ldc) noexcept nogil:
    """C (m, n) = beta * C + A (m, k) @ B (k, n), row-major, beta 0 or 1;
    ``Bp`` is B packed by ``pack_panels``."""
    if m <= 0 or n <= 0:
        return
    if floating is float:
        fr_sstep(m, n, k, A, lda, 1, Bp, beta, C, ldc)
    else:
        fr_dstep(m, n, k, A, lda, 1, Bp, beta, C, ldc)


cdef inline void pack_panels(int k, int n, const floating* src, Py_ssize_t rs, Py_ssize_t cs,
                             const Py_ssize_t* rmap, const Py_ssize_t* cmap,
                             floating* Bp) noexcept nogil:
    """Pack B (k, n) into the k x w column panels of step_gemm, where B's
    element (p, c) is ``src[rmap[p] * rs + cmap[c] * cs]`` (a NULL map is
    the identity): transposes and gate permutations cost no extra pass."""
    if floating is float:
        fr_spack(k, n, src, rs, cs, rmap, cmap, Bp)
    else:
        fr_dpack(k, n, src, rs, cs, rmap, cmap, Bp)

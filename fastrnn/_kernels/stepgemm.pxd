# The per-step product of the time loops (csrc/stepgemm.h): no packing, no
# buffers, no locks, so every OpenMP thread can call it on its batch rows.
# fastrnn._kernels picks the instruction set's build once, at import.
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
    ctypedef void (*fr_sstep_fn)(int, int, int, const float*, Py_ssize_t, Py_ssize_t,
                                 const float*, float, float*, int)
    ctypedef void (*fr_dstep_fn)(int, int, int, const double*, Py_ssize_t, Py_ssize_t,
                                 const double*, double, double*, int)
    ctypedef void (*fr_spack_fn)(int, int, const float*, Py_ssize_t, Py_ssize_t,
                                 const Py_ssize_t*, const Py_ssize_t*, float*)
    ctypedef void (*fr_dpack_fn)(int, int, const double*, Py_ssize_t, Py_ssize_t,
                                 const Py_ssize_t*, const Py_ssize_t*, double*)
    ctypedef struct fr_step_kernels:
        fr_sstep_fn sstep
        fr_dstep_fn dstep
        fr_spack_fn spack
        fr_dpack_fn dpack
        const char* name
        int unit_bytes
    enum:
        FR_ISA_BASELINE
        FR_ISA_AVX2
        FR_ISA_AVX512
        FR_ISA_AVX512_ON_AVX2
    fr_step_kernels fr_step_kernels_for(int isa)
    int fr_stepgemm_use(int isa)
    const char* fr_stepgemm_isa()
    int fr_stepgemm_unit_bytes()
    int fr_cpu_isa()
    int fr_cpu_runs(int isa)


cdef inline tuple isa_names():
    """The kernel builds' names in FR_ISA_* order (fastrnn._kernels's, and
    "avx512-on-avx2": the AVX-512 tiles compiled for AVX2, for tests)."""
    return ("baseline", "avx2", "avx512", "avx512-on-avx2")


cdef inline int isa_code(str name) except -1:
    """FR_ISA_* of a kernel build's name; ValueError for an unknown name, or
    one this CPU cannot run."""
    ISA_NAMES = isa_names()
    if name not in ISA_NAMES:
        raise ValueError(f"kernels must be one of {', '.join(ISA_NAMES)}, got {name!r}")
    cdef int code = ISA_NAMES.index(name)
    if not fr_cpu_runs(code):
        raise ValueError(f"this CPU cannot run the {name} kernels (it runs at most "
                         f"{ISA_NAMES[fr_cpu_isa()]})")
    return code

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

# The only place that touches OpenMP.  Without an OpenMP build the calls are
# stubs that describe a single thread, so the kernels compile either way
# (Cython's prange itself degrades to a serial loop without -fopenmp).
cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define FR_OPENMP_ENABLED 1
    #define FR_OPENMP_VERSION _OPENMP
    #else
    #define FR_OPENMP_ENABLED 0
    #define FR_OPENMP_VERSION 0
    static inline int omp_get_max_threads(void) { return 1; }
    static inline int omp_get_num_procs(void) { return 1; }
    static inline int omp_get_thread_num(void) { return 0; }
    static inline int omp_get_num_threads(void) { return 1; }
    #endif
    /* An orphaned barrier: it binds to the innermost enclosing parallel
     * region, so a kernel called inside Cython's `with parallel()` block can
     * synchronise its team (never call it inside prange: a barrier inside a
     * worksharing loop is not allowed).  A no-op in a team of one. */
    static inline void fr_barrier(void) {
    #ifdef _OPENMP
        #pragma omp barrier
    #endif
    }
    """
    bint FR_OPENMP_ENABLED
    int FR_OPENMP_VERSION
    int omp_get_max_threads() noexcept nogil
    int omp_get_num_procs() noexcept nogil
    int omp_get_thread_num() noexcept nogil
    int omp_get_num_threads() noexcept nogil
    void fr_barrier() noexcept nogil

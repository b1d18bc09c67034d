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
    /* Seconds of CPU time the calling thread has had, and of wall time, or
     * -1 where the platform lacks the clocks (a thread's share of its core
     * is then unknown). */
    #include <time.h>
    #if defined(CLOCK_THREAD_CPUTIME_ID) && defined(CLOCK_MONOTONIC)
    static inline double fr_clock(clockid_t id) {
        struct timespec t;
        return clock_gettime(id, &t) == 0 ? (double)t.tv_sec + 1e-9 * (double)t.tv_nsec : -1.0;
    }
    static inline double fr_thread_cpu_seconds(void) { return fr_clock(CLOCK_THREAD_CPUTIME_ID); }
    static inline double fr_wall_seconds(void) { return fr_clock(CLOCK_MONOTONIC); }
    #else
    static inline double fr_thread_cpu_seconds(void) { return -1.0; }
    static inline double fr_wall_seconds(void) { return -1.0; }
    #endif
    """
    bint FR_OPENMP_ENABLED
    int FR_OPENMP_VERSION
    int omp_get_max_threads() noexcept nogil
    int omp_get_num_procs() noexcept nogil
    int omp_get_thread_num() noexcept nogil
    int omp_get_num_threads() noexcept nogil
    double fr_thread_cpu_seconds() noexcept nogil
    double fr_wall_seconds() noexcept nogil


# The per-step barrier of the hidden-unit split (csrc/barrier.h says why it
# is not OpenMP's): one per team, initialised before the parallel region.
cdef extern from "barrier.h" nogil:
    ctypedef struct fr_team_barrier:
        pass
    void fr_team_barrier_init(fr_team_barrier* b, int team, int procs)
    void fr_team_barrier_wait(fr_team_barrier* b, int n)


cdef inline void core_share(double cpu0, double wall0, double* share) noexcept nogil:
    """``share[0]``: the share of a core the calling thread has had since
    ``fr_thread_cpu_seconds()`` was ``cpu0`` and ``fr_wall_seconds()``
    ``wall0`` (1: all of it; below: it waited for another thread or process
    on its core).  Left as it is when the clocks are missing or no time
    passed."""
    cdef double wall = fr_wall_seconds() - wall0
    cdef double cpu = fr_thread_cpu_seconds() - cpu0
    if cpu0 >= 0 and wall0 >= 0 and wall > 0:
        share[0] = min(1.0, cpu / wall)

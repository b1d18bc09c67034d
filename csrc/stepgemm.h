/*
 * The per-step matrix product of the recurrent loops:
 *
 *     C (m x n) = beta * C + A (m x k) @ B (k x n)      row-major, beta 0 or 1
 *
 * with m = the batch rows of one thread (small), n = the gate width, k = H.
 *
 * Why not BLAS here: the step product is called T times per layer on the
 * same weights, from several OpenMP threads at once.  A BLAS GEMM re-packs B
 * on every call (for m = 1 that costs more than the product), and
 * OpenBLAS's shared buffer pool serialises concurrent single-threaded calls
 * (measured: two threads ran 2.5x slower than one).  This kernel needs no
 * packing (B's rows are already contiguous: W_hh^T is transposed once per
 * call, W_hh itself is used as is in backward), no buffers and no locks.
 *
 * Register tile: MR = 4 rows of A x 2 vectors of B columns; the k loop
 * broadcasts A[r, k] and multiply-adds rows of B.  Column panels are the
 * outer loop so a k x 2-vector panel of B stays in L1 across row tiles.
 * x86-64: an AVX2+FMA build of the same code is picked at run time when the
 * CPU has it; elsewhere the portable build (SSE2 / NEON via GCC vectors).
 */
#ifndef FASTRNN_STEPGEMM_H
#define FASTRNN_STEPGEMM_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define FR_ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define FR_ALWAYS_INLINE static inline
#endif

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define FR_X86_DISPATCH 1
#else
#define FR_X86_DISPATCH 0
#endif

/* 32-byte vectors that may sit at any 4-byte (8-byte) boundary. */
typedef float fr_vf __attribute__((vector_size(32), aligned(4)));
typedef double fr_vd __attribute__((vector_size(32), aligned(8)));

/*
 * One generic body per scalar type; MR is a literal at every call site so
 * the compiler unrolls and keeps the accumulators in registers.
 */
#define FR_DEFINE_STEPGEMM(NAME, T, V, VL)                                          \
FR_ALWAYS_INLINE void NAME##_tile(int mr, int k, const T *A, ptrdiff_t lda,        \
                                  const T *B, ptrdiff_t ldb, T beta, T *C,          \
                                  ptrdiff_t ldc)                                    \
{                                                                                  \
    V acc[4][2];                                                                   \
    int r, p;                                                                      \
    for (r = 0; r < 4; r++) {                                                      \
        acc[r][0] = (V){0};                                                        \
        acc[r][1] = (V){0};                                                        \
    }                                                                              \
    for (p = 0; p < k; p++) {                                                      \
        const V b0 = *(const V *)(B + p * ldb);                                    \
        const V b1 = *(const V *)(B + p * ldb + VL);                               \
        for (r = 0; r < mr; r++) {                                                 \
            const T a = A[r * lda + p];                                            \
            acc[r][0] += a * b0;                                                   \
            acc[r][1] += a * b1;                                                   \
        }                                                                          \
    }                                                                              \
    for (r = 0; r < mr; r++) {                                                     \
        V *c0 = (V *)(C + r * ldc);                                                \
        V *c1 = (V *)(C + r * ldc + VL);                                           \
        if (beta != 0) {                                                           \
            *c0 += acc[r][0];                                                      \
            *c1 += acc[r][1];                                                      \
        } else {                                                                   \
            *c0 = acc[r][0];                                                       \
            *c1 = acc[r][1];                                                       \
        }                                                                          \
    }                                                                              \
}                                                                                  \
                                                                                   \
FR_ALWAYS_INLINE void NAME##_body(int m, int n, int k, const T *A, int lda,        \
                                  const T *B, int ldb, T beta, T *C, int ldc)       \
{                                                                                  \
    const int nr = 2 * VL;                                                         \
    int i, j, r, p;                                                                \
    for (j = 0; j + nr <= n; j += nr) {                                            \
        for (i = 0; i + 4 <= m; i += 4)                                            \
            NAME##_tile(4, k, A + (ptrdiff_t)i * lda, lda, B + j, ldb, beta,       \
                        C + (ptrdiff_t)i * ldc + j, ldc);                          \
        switch (m - i) {                                                           \
        case 3: NAME##_tile(3, k, A + (ptrdiff_t)i * lda, lda, B + j, ldb, beta,   \
                            C + (ptrdiff_t)i * ldc + j, ldc); break;               \
        case 2: NAME##_tile(2, k, A + (ptrdiff_t)i * lda, lda, B + j, ldb, beta,   \
                            C + (ptrdiff_t)i * ldc + j, ldc); break;               \
        case 1: NAME##_tile(1, k, A + (ptrdiff_t)i * lda, lda, B + j, ldb, beta,   \
                            C + (ptrdiff_t)i * ldc + j, ldc); break;               \
        default: break;                                                            \
        }                                                                          \
    }                                                                              \
    /* Columns past the last full panel: plain dot products. */                    \
    for (; j < n; j++) {                                                           \
        for (r = 0; r < m; r++) {                                                  \
            T s = 0;                                                               \
            for (p = 0; p < k; p++)                                                \
                s += A[(ptrdiff_t)r * lda + p] * B[(ptrdiff_t)p * ldb + j];        \
            C[(ptrdiff_t)r * ldc + j] = (beta != 0 ? C[(ptrdiff_t)r * ldc + j] : 0) + s; \
        }                                                                          \
    }                                                                              \
}                                                                                  \
                                                                                   \
static void NAME##_portable(int m, int n, int k, const T *A, int lda, const T *B,  \
                            int ldb, T beta, T *C, int ldc)                        \
{                                                                                  \
    NAME##_body(m, n, k, A, lda, B, ldb, beta, C, ldc);                            \
}

FR_DEFINE_STEPGEMM(fr_sstep, float, fr_vf, 8)
FR_DEFINE_STEPGEMM(fr_dstep, double, fr_vd, 4)

typedef void (*fr_sstep_fn)(int, int, int, const float *, int, const float *, int, float,
                            float *, int);
typedef void (*fr_dstep_fn)(int, int, int, const double *, int, const double *, int, double,
                            double *, int);

#if FR_X86_DISPATCH
__attribute__((target("avx2,fma"))) static void
fr_sstep_avx2(int m, int n, int k, const float *A, int lda, const float *B, int ldb,
              float beta, float *C, int ldc)
{
    fr_sstep_body(m, n, k, A, lda, B, ldb, beta, C, ldc);
}

__attribute__((target("avx2,fma"))) static void
fr_dstep_avx2(int m, int n, int k, const double *A, int lda, const double *B, int ldb,
              double beta, double *C, int ldc)
{
    fr_dstep_body(m, n, k, A, lda, B, ldb, beta, C, ldc);
}
#endif

static fr_sstep_fn fr_sstep_impl = fr_sstep_portable;
static fr_dstep_fn fr_dstep_impl = fr_dstep_portable;
static const char *fr_step_isa = "portable";

/* Pick the kernels for this CPU; called once when the module is imported.
 * FASTRNN_STEP_KERNEL=portable forces the portable build (to test it). */
static void fr_stepgemm_init(void)
{
    const char *force = getenv("FASTRNN_STEP_KERNEL");
    if (force != NULL && strcmp(force, "portable") == 0) {
        fr_step_isa = "portable";
        return;
    }
#if FR_X86_DISPATCH
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        fr_sstep_impl = fr_sstep_avx2;
        fr_dstep_impl = fr_dstep_avx2;
        fr_step_isa = "avx2+fma";
        return;
    }
#endif
    fr_step_isa = "portable";
}

static inline void fr_sstep(int m, int n, int k, const float *A, int lda, const float *B,
                            int ldb, float beta, float *C, int ldc)
{
    fr_sstep_impl(m, n, k, A, lda, B, ldb, beta, C, ldc);
}

static inline void fr_dstep(int m, int n, int k, const double *A, int lda, const double *B,
                            int ldb, double beta, double *C, int ldc)
{
    fr_dstep_impl(m, n, k, A, lda, B, ldb, beta, C, ldc);
}

static inline const char *fr_stepgemm_isa(void) { return fr_step_isa; }

#endif /* FASTRNN_STEPGEMM_H */

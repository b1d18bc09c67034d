/*
 * Small products on operands read where they lie (no packing), for the
 * attention kernels: per batch row a few products of about 11 x 16 x 128,
 * where packing an operand cost as much as the product itself (measured:
 * packing the 16 keys 0.9-1.3 us, each product 0.6-1.3 us).
 *
 *   fr_srows:  C (m x n) = beta * C + A (m x k) @ B (k x n), B's rows
 *              contiguous and ``ldb`` apart (a time-major sequence's rows
 *              for one batch row), A's (r, p) at A[r * rs + p * ps] -- the
 *              step kernel's register tiles (stepgemm.h) reading B in place;
 *   fr_sdots:  C (m x n) = A (m x k) @ Bt (n x k)^T, both with contiguous
 *              rows (lda / ldb apart): every entry a dot product along k,
 *              4 x 2 of them at a time in vector accumulators.
 *
 * (fr_drows / fr_ddots: the same for double.)  Each entry of C is summed
 * in one fixed order whatever the caller's threads.  AVX2 + FMA builds are
 * picked at run time like the step kernel's.
 */
#ifndef FASTRNN_SMALLGEMM_H
#define FASTRNN_SMALLGEMM_H

#include "stepgemm.h"

#define FR_DEFINE_SMALLGEMM(NAME, STEP, T, V, VL)                                   \
FR_ALWAYS_INLINE void NAME##_rows_body(int m, int n, int k, const T *A, ptrdiff_t rs, \
                                       ptrdiff_t ps, const T *B, int ldb, T beta,  \
                                       T *C, int ldc)                              \
{                                                                                  \
    int j;                                                                         \
    for (j = 0; j + 3 * VL <= n; j += 3 * VL)                                      \
        STEP##_panel(3, m, k, A, rs, ps, B + j, ldb, beta, C + j, ldc);            \
    for (; j + VL <= n; j += VL)                                                   \
        STEP##_panel(1, m, k, A, rs, ps, B + j, ldb, beta, C + j, ldc);            \
    for (; j < n; j++)                                                             \
        STEP##_column(m, k, A, rs, ps, B + j, ldb, beta, C + j, ldc);              \
}                                                                                  \
                                                                                   \
/* MR x NR dot products (literals at the call sites: the accumulators stay in      \
 * registers): C[r][c] = sum_p A[r * lda + p] * Bt[c * ldb + p]. */                \
FR_ALWAYS_INLINE void NAME##_dot_tile(int mr, int nr, int k, const T *A, int lda,  \
                                      const T *Bt, int ldb, T *C, int ldc)         \
{                                                                                  \
    V acc[4][2], b[2];                                                             \
    T s;                                                                           \
    int r, c, p, l;                                                                \
    for (r = 0; r < mr; r++)                                                       \
        for (c = 0; c < nr; c++)                                                   \
            acc[r][c] = (V){0};                                                    \
    for (p = 0; p + VL <= k; p += VL) {                                            \
        for (c = 0; c < nr; c++)                                                   \
            b[c] = *(const V *)(Bt + (ptrdiff_t)c * ldb + p);                      \
        for (r = 0; r < mr; r++) {                                                 \
            const V a = *(const V *)(A + (ptrdiff_t)r * lda + p);                  \
            for (c = 0; c < nr; c++)                                               \
                acc[r][c] += a * b[c];                                             \
        }                                                                          \
    }                                                                              \
    for (r = 0; r < mr; r++)                                                       \
        for (c = 0; c < nr; c++) {                                                 \
            s = 0;                                                                 \
            for (l = 0; l < VL; l++)                                               \
                s += acc[r][c][l];                                                 \
            for (l = p; l < k; l++)                                                \
                s += A[(ptrdiff_t)r * lda + l] * Bt[(ptrdiff_t)c * ldb + l];       \
            C[(ptrdiff_t)r * ldc + c] = s;                                         \
        }                                                                          \
}                                                                                  \
                                                                                   \
/* MR rows of C, every column: tiles of 2 columns, then the odd one. */            \
FR_ALWAYS_INLINE void NAME##_dot_rows(int mr, int n, int k, const T *A, int lda,   \
                                      const T *Bt, int ldb, T *C, int ldc)         \
{                                                                                  \
    int j;                                                                         \
    for (j = 0; j + 2 <= n; j += 2)                                                \
        NAME##_dot_tile(mr, 2, k, A, lda, Bt + (ptrdiff_t)j * ldb, ldb, C + j, ldc); \
    if (j < n)                                                                     \
        NAME##_dot_tile(mr, 1, k, A, lda, Bt + (ptrdiff_t)j * ldb, ldb, C + j, ldc); \
}                                                                                  \
                                                                                   \
FR_ALWAYS_INLINE void NAME##_dots_body(int m, int n, int k, const T *A, int lda,   \
                                       const T *Bt, int ldb, T *C, int ldc)        \
{                                                                                  \
    int i;                                                                         \
    for (i = 0; i + 4 <= m; i += 4)                                                \
        NAME##_dot_rows(4, n, k, A + (ptrdiff_t)i * lda, lda, Bt, ldb,             \
                        C + (ptrdiff_t)i * ldc, ldc);                              \
    for (; i < m; i++)                                                             \
        NAME##_dot_rows(1, n, k, A + (ptrdiff_t)i * lda, lda, Bt, ldb,             \
                        C + (ptrdiff_t)i * ldc, ldc);                              \
}                                                                                  \
static void NAME##_rows_portable(int m, int n, int k, const T *A, ptrdiff_t rs,      \
                                 ptrdiff_t ps, const T *B, int ldb, T beta, T *C,   \
                                 int ldc)                                            \
{                                                                                    \
    NAME##_rows_body(m, n, k, A, rs, ps, B, ldb, beta, C, ldc);                      \
}                                                                                    \
                                                                                     \
static void NAME##_dots_portable(int m, int n, int k, const T *A, int lda,           \
                                 const T *Bt, int ldb, T *C, int ldc)                \
{                                                                                    \
    NAME##_dots_body(m, n, k, A, lda, Bt, ldb, C, ldc);                              \
}

FR_DEFINE_SMALLGEMM(fr_ssmall, fr_sstep, float, fr_vf, 8)
FR_DEFINE_SMALLGEMM(fr_dsmall, fr_dstep, double, fr_vd, 4)

typedef void (*fr_srows_fn)(int, int, int, const float *, ptrdiff_t, ptrdiff_t, const float *,
                            int, float, float *, int);
typedef void (*fr_drows_fn)(int, int, int, const double *, ptrdiff_t, ptrdiff_t,
                            const double *, int, double, double *, int);
typedef void (*fr_sdots_fn)(int, int, int, const float *, int, const float *, int, float *, int);
typedef void (*fr_ddots_fn)(int, int, int, const double *, int, const double *, int, double *,
                            int);

#if FR_X86_DISPATCH
__attribute__((target("avx2,fma"))) static void
fr_ssmall_rows_avx2(int m, int n, int k, const float *A, ptrdiff_t rs, ptrdiff_t ps,
                    const float *B, int ldb, float beta, float *C, int ldc)
{
    fr_ssmall_rows_body(m, n, k, A, rs, ps, B, ldb, beta, C, ldc);
}

__attribute__((target("avx2,fma"))) static void
fr_dsmall_rows_avx2(int m, int n, int k, const double *A, ptrdiff_t rs, ptrdiff_t ps,
                    const double *B, int ldb, double beta, double *C, int ldc)
{
    fr_dsmall_rows_body(m, n, k, A, rs, ps, B, ldb, beta, C, ldc);
}

__attribute__((target("avx2,fma"))) static void
fr_ssmall_dots_avx2(int m, int n, int k, const float *A, int lda, const float *Bt, int ldb,
                    float *C, int ldc)
{
    fr_ssmall_dots_body(m, n, k, A, lda, Bt, ldb, C, ldc);
}

__attribute__((target("avx2,fma"))) static void
fr_dsmall_dots_avx2(int m, int n, int k, const double *A, int lda, const double *Bt, int ldb,
                    double *C, int ldc)
{
    fr_dsmall_dots_body(m, n, k, A, lda, Bt, ldb, C, ldc);
}
#endif

static fr_srows_fn fr_srows_impl = fr_ssmall_rows_portable;
static fr_drows_fn fr_drows_impl = fr_dsmall_rows_portable;
static fr_sdots_fn fr_sdots_impl = fr_ssmall_dots_portable;
static fr_ddots_fn fr_ddots_impl = fr_dsmall_dots_portable;

/* Pick this CPU's kernels, as fr_stepgemm_init does (which it calls). */
static void fr_smallgemm_init(void)
{
    fr_stepgemm_init();
#if FR_X86_DISPATCH
    if (strcmp(fr_step_isa, "avx2+fma") == 0) {
        fr_srows_impl = fr_ssmall_rows_avx2;
        fr_drows_impl = fr_dsmall_rows_avx2;
        fr_sdots_impl = fr_ssmall_dots_avx2;
        fr_ddots_impl = fr_dsmall_dots_avx2;
    }
#endif
}

static inline void fr_srows(int m, int n, int k, const float *A, ptrdiff_t rs, ptrdiff_t ps,
                            const float *B, int ldb, float beta, float *C, int ldc)
{
    if (m > 0 && n > 0)
        fr_srows_impl(m, n, k, A, rs, ps, B, ldb, beta, C, ldc);
}

static inline void fr_drows(int m, int n, int k, const double *A, ptrdiff_t rs, ptrdiff_t ps,
                            const double *B, int ldb, double beta, double *C, int ldc)
{
    if (m > 0 && n > 0)
        fr_drows_impl(m, n, k, A, rs, ps, B, ldb, beta, C, ldc);
}

static inline void fr_sdots(int m, int n, int k, const float *A, int lda, const float *Bt,
                            int ldb, float *C, int ldc)
{
    if (m > 0 && n > 0)
        fr_sdots_impl(m, n, k, A, lda, Bt, ldb, C, ldc);
}

static inline void fr_ddots(int m, int n, int k, const double *A, int lda, const double *Bt,
                            int ldb, double *C, int ldc)
{
    if (m > 0 && n > 0)
        fr_ddots_impl(m, n, k, A, lda, Bt, ldb, C, ldc);
}

#endif /* FASTRNN_SMALLGEMM_H */

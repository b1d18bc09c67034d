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
 * in one fixed order whatever the caller's threads.  One build per
 * instruction set, as for the step kernel; fr_smallgemm_use picks one.
 */
#ifndef FASTRNN_SMALLGEMM_H
#define FASTRNN_SMALLGEMM_H

#include "stepgemm.h"

#define FR_DEFINE_SMALLGEMM(NAME, STEP, T, V)                                       \
FR_ALWAYS_INLINE void NAME##_rows_body(int m, int n, int k, const T *A, ptrdiff_t rs, \
                                       ptrdiff_t ps, const T *B, int ldb, T beta,  \
                                       T *C, int ldc)                              \
{                                                                                  \
    int j;                                                                         \
    for (j = 0; j + STEP##_NV * STEP##_VL <= n; j += STEP##_NV * STEP##_VL)        \
        STEP##_panel(STEP##_NV, m, k, A, rs, ps, B + j, ldb, beta, C + j, ldc);    \
    for (; j + STEP##_VL <= n; j += STEP##_VL)                                     \
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
    for (p = 0; p + STEP##_VL <= k; p += STEP##_VL) {                              \
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
            for (l = 0; l < STEP##_VL; l++)                                        \
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
}

FR_DEFINE_SMALLGEMM(fr_sbsmall, fr_sbase, float, fr_vf16)
FR_DEFINE_SMALLGEMM(fr_dbsmall, fr_dbase, double, fr_vd16)
FR_DEFINE_SMALLGEMM(fr_ssmall, fr_snarrow, float, fr_vf)
FR_DEFINE_SMALLGEMM(fr_dsmall, fr_dnarrow, double, fr_vd)
FR_DEFINE_SMALLGEMM(fr_swsmall, fr_swide, float, fr_vf64)
FR_DEFINE_SMALLGEMM(fr_dwsmall, fr_dwide, double, fr_vd64)

typedef void (*fr_srows_fn)(int, int, int, const float *, ptrdiff_t, ptrdiff_t, const float *,
                            int, float, float *, int);
typedef void (*fr_drows_fn)(int, int, int, const double *, ptrdiff_t, ptrdiff_t,
                            const double *, int, double, double *, int);
typedef void (*fr_sdots_fn)(int, int, int, const float *, int, const float *, int, float *, int);
typedef void (*fr_ddots_fn)(int, int, int, const double *, int, const double *, int, double *,
                            int);

/* One compiled set of small products per (instruction set, geometry, scalar
 * type ``P``: s or d). */
#define FR_SMALL_ENTRIES_T(NAME, ATTR, GEOM, T, P)                                   \
ATTR static void NAME##_##P##rows(int m, int n, int k, const T *A, ptrdiff_t rs,     \
                                  ptrdiff_t ps, const T *B, int ldb, T beta, T *C,   \
                                  int ldc)                                           \
{                                                                                    \
    fr_##P##GEOM##_rows_body(m, n, k, A, rs, ps, B, ldb, beta, C, ldc);              \
}                                                                                    \
ATTR static void NAME##_##P##dots(int m, int n, int k, const T *A, int lda,          \
                                  const T *Bt, int ldb, T *C, int ldc)               \
{                                                                                    \
    fr_##P##GEOM##_dots_body(m, n, k, A, lda, Bt, ldb, C, ldc);                      \
}
#define FR_SMALL_ENTRIES(NAME, ATTR, GEOM)                                           \
    FR_SMALL_ENTRIES_T(NAME, ATTR, GEOM, float, s)                                   \
    FR_SMALL_ENTRIES_T(NAME, ATTR, GEOM, double, d)

FR_SMALL_ENTRIES(fr_small_baseline, , bsmall)
#if FR_X86_DISPATCH
FR_SMALL_ENTRIES(fr_small_avx2, FR_TARGET_AVX2, small)
FR_SMALL_ENTRIES(fr_small_avx512, FR_TARGET_AVX512, wsmall)
FR_SMALL_ENTRIES(fr_small_avx512_on_avx2, FR_TARGET_AVX2, wsmall)
#endif

/* The small products of one instruction set. */
typedef struct {
    fr_srows_fn srows;
    fr_drows_fn drows;
    fr_sdots_fn sdots;
    fr_ddots_fn ddots;
} fr_small_kernels;

#define FR_SMALL_KERNELS(NAME) {NAME##_srows, NAME##_drows, NAME##_sdots, NAME##_ddots}

/* The products of instruction set ``isa`` (FR_ISA_*), as
 * fr_step_kernels_for. */
static inline fr_small_kernels fr_small_kernels_for(int isa)
{
    static const fr_small_kernels table[] = {  /* in FR_ISA_* order */
        FR_SMALL_KERNELS(fr_small_baseline),
#if FR_X86_DISPATCH
        FR_SMALL_KERNELS(fr_small_avx2),
        FR_SMALL_KERNELS(fr_small_avx512),
        FR_SMALL_KERNELS(fr_small_avx512_on_avx2),
#endif
    };
    return (isa >= 0 && isa < (int)(sizeof table / sizeof table[0])) ? table[isa] : table[0];
}

/* The products in use: the baseline ones until fr_smallgemm_use. */
static fr_small_kernels fr_small = FR_SMALL_KERNELS(fr_small_baseline);

/* Use the products of instruction set ``isa``; -1 (and nothing changed)
 * when the CPU cannot run them. */
static inline int fr_smallgemm_use(int isa)
{
    if (!fr_cpu_runs(isa))
        return -1;
    fr_small = fr_small_kernels_for(isa);
    return 0;
}

static inline void fr_srows(int m, int n, int k, const float *A, ptrdiff_t rs, ptrdiff_t ps,
                            const float *B, int ldb, float beta, float *C, int ldc)
{
    if (m > 0 && n > 0)
        fr_small.srows(m, n, k, A, rs, ps, B, ldb, beta, C, ldc);
}

static inline void fr_drows(int m, int n, int k, const double *A, ptrdiff_t rs, ptrdiff_t ps,
                            const double *B, int ldb, double beta, double *C, int ldc)
{
    if (m > 0 && n > 0)
        fr_small.drows(m, n, k, A, rs, ps, B, ldb, beta, C, ldc);
}

static inline void fr_sdots(int m, int n, int k, const float *A, int lda, const float *Bt,
                            int ldb, float *C, int ldc)
{
    if (m > 0 && n > 0)
        fr_small.sdots(m, n, k, A, lda, Bt, ldb, C, ldc);
}

static inline void fr_ddots(int m, int n, int k, const double *A, int lda, const double *Bt,
                            int ldb, double *C, int ldc)
{
    if (m > 0 && n > 0)
        fr_small.ddots(m, n, k, A, lda, Bt, ldb, C, ldc);
}

#endif /* FASTRNN_SMALLGEMM_H */

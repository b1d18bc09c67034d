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
 * (measured: two threads ran 2.5x slower than one).  Here B (a weight
 * matrix) is packed once per layer call into column panels, each a
 * contiguous k x w block, so the k loop streams memory sequentially (rows
 * of an unpacked B sit a page apart, which defeats the prefetchers); the
 * kernel itself needs no buffers and no locks.
 *
 * Register tile: 4 rows of A x 3 vectors of B columns; the k loop
 * broadcasts A[r, k] and multiply-adds rows of B.  Column panels are the
 * outer loop so a k x 3-vector panel of B stays in cache across row tiles.
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
 * One generic body per scalar type.  A tile is MR <= 4 rows by NV <= 3
 * vectors of columns; MR and NV are literals at every call site so the
 * compiler unrolls the tile and keeps its accumulators in registers
 * (4 x 3 = 12 accumulators + 3 rows of B: 15 of AVX2's 16 registers;
 * measured the best of 4x2, 6x2, 4x3, 8x1, 3x4 here).
 */
#define FR_DEFINE_STEPGEMM(NAME, T, V, VL)                                          \
FR_ALWAYS_INLINE void NAME##_tile(int mr, int nv, int k, const T *A, ptrdiff_t rs, \
                                  ptrdiff_t ps, const T *B, ptrdiff_t ldb, T beta,  \
                                  T *C, ptrdiff_t ldc)                              \
{                                                                                  \
    V acc[4][3], b[3];                                                             \
    int r, v, p;                                                                   \
    for (r = 0; r < mr; r++)                                                       \
        for (v = 0; v < nv; v++)                                                   \
            acc[r][v] = (V){0};                                                    \
    for (p = 0; p < k; p++) {                                                      \
        for (v = 0; v < nv; v++)                                                   \
            b[v] = *(const V *)(B + p * ldb + v * VL);                             \
        for (r = 0; r < mr; r++) {                                                 \
            const T a = A[r * rs + p * ps];                                        \
            for (v = 0; v < nv; v++)                                               \
                acc[r][v] += a * b[v];                                             \
        }                                                                          \
    }                                                                              \
    for (r = 0; r < mr; r++)                                                       \
        for (v = 0; v < nv; v++) {                                                 \
            V *c = (V *)(C + r * ldc + v * VL);                                    \
            *c = (beta != 0) ? *c + acc[r][v] : acc[r][v];                         \
        }                                                                          \
}                                                                                  \
                                                                                   \
/* All row tiles of one column panel of NV vectors. */                             \
FR_ALWAYS_INLINE void NAME##_panel(int nv, int m, int k, const T *A, ptrdiff_t rs,  \
                                   ptrdiff_t ps, const T *B, int ldb, T beta, T *C, \
                                   int ldc)                                         \
{                                                                                  \
    int i;                                                                         \
    for (i = 0; i + 4 <= m; i += 4)                                                \
        NAME##_tile(4, nv, k, A + i * rs, rs, ps, B, ldb, beta,                    \
                    C + (ptrdiff_t)i * ldc, ldc);                                  \
    A += i * rs;                                                                   \
    C += (ptrdiff_t)i * ldc;                                                       \
    switch (m - i) {                                                               \
    case 3: NAME##_tile(3, nv, k, A, rs, ps, B, ldb, beta, C, ldc); break;         \
    case 2: NAME##_tile(2, nv, k, A, rs, ps, B, ldb, beta, C, ldc); break;         \
    case 1: NAME##_tile(1, nv, k, A, rs, ps, B, ldb, beta, C, ldc); break;         \
    default: break;                                                                \
    }                                                                              \
}                                                                                  \
                                                                                   \
/* One column of C: C[:, 0] = beta * C[:, 0] + A @ b, b's p-th value at            \
 * b[p * bs] (the columns past the last full vector of B). */                      \
FR_ALWAYS_INLINE void NAME##_column(int m, int k, const T *A, ptrdiff_t rs, ptrdiff_t ps, \
                                    const T *b, ptrdiff_t bs, T beta, T *C, int ldc) \
{                                                                                  \
    int r, p;                                                                      \
    for (r = 0; r < m; r++) {                                                      \
        T s = 0;                                                                   \
        for (p = 0; p < k; p++)                                                    \
            s += A[r * rs + p * ps] * b[(ptrdiff_t)p * bs];                        \
        C[(ptrdiff_t)r * ldc] = (beta != 0 ? C[(ptrdiff_t)r * ldc] : 0) + s;       \
    }                                                                              \
}                                                                                  \
FR_ALWAYS_INLINE void NAME##_body(int m, int n, int k, const T *A, ptrdiff_t rs,   \
                                  ptrdiff_t ps, const T *Bp, T beta, T *C, int ldc) \
{                                                                                  \
    /* Bp is B packed by NAME##_pack: the panel of columns [j, j + w) is a     \
     * contiguous k x w block at Bp + j * k (w = 3 VL, then VL, then the rest). */ \
    int j, w;                                                                      \
    for (j = 0; j + 3 * VL <= n; j += 3 * VL)                                      \
        NAME##_panel(3, m, k, A, rs, ps, Bp + (ptrdiff_t)j * k, 3 * VL, beta, C + j, ldc); \
    for (; j + VL <= n; j += VL)                                                   \
        NAME##_panel(1, m, k, A, rs, ps, Bp + (ptrdiff_t)j * k, VL, beta, C + j, ldc); \
    /* Columns past the last full vector: plain dot products. */                   \
    w = n - j;                                                                     \
    for (; j < n; j++)                                                             \
        NAME##_column(m, k, A, rs, ps, Bp + (ptrdiff_t)(n - w) * k + (j - (n - w)), w, \
                      beta, C + j, ldc);                                           \
}                                                                                  \
/* Pack B (k x n) into column panels for NAME##_body.  B's element (p, c)  \
 * is src[r(p) * rs + c'(c) * cs] with r, c' the index maps rmap / cmap     \
 * (NULL: identity), so a transposed and row- or column-permuted weight      \
 * matrix packs in one pass.  The loops follow whichever of B's rows or       \
 * columns is contiguous in src; the writes stay inside one k x w panel.     */ \
static void NAME##_pack(int k, int n, const T *src, ptrdiff_t rs, ptrdiff_t cs,    \
                        const ptrdiff_t *rmap, const ptrdiff_t *cmap, T *Bp)    \
{                                                                                  \
    int j = 0, w, p, q;                                                            \
    while (j < n) {                                                                \
        T *panel = Bp + (ptrdiff_t)j * k;                                          \
        w = (n - j >= 3 * VL) ? 3 * VL : (n - j >= VL) ? VL : n - j;               \
        if (cs == 1 && cmap == NULL) {  /* a panel row is contiguous in src */   \
            for (p = 0; p < k; p++)                                                \
                memcpy(panel + (ptrdiff_t)p * w, src + (rmap ? rmap[p] : p) * rs + j, \
                       (size_t)w * sizeof(T));                                     \
        } else if (cs == 1) {                                                      \
            for (p = 0; p < k; p++) {                                              \
                const T *row = src + (rmap ? rmap[p] : p) * rs;                    \
                for (q = 0; q < w; q++)                                            \
                    panel[p * w + q] = row[cmap[j + q]];                           \
            }                                                                      \
        } else {                                                                   \
            for (q = 0; q < w; q++) {                                              \
                const T *col = src + (cmap ? cmap[j + q] : j + q) * cs;            \
                for (p = 0; p < k; p++)                                            \
                    panel[p * w + q] = col[(rmap ? rmap[p] : p) * rs];             \
            }                                                                      \
        }                                                                          \
        j += w;                                                                    \
    }                                                                              \
}                                                                                  \
                                                                                   \
static void NAME##_portable(int m, int n, int k, const T *A, ptrdiff_t rs,         \
                            ptrdiff_t ps, const T *Bp, T beta, T *C, int ldc)      \
{                                                                                  \
    NAME##_body(m, n, k, A, rs, ps, Bp, beta, C, ldc);                             \
}

FR_DEFINE_STEPGEMM(fr_sstep, float, fr_vf, 8)
FR_DEFINE_STEPGEMM(fr_dstep, double, fr_vd, 4)

typedef void (*fr_sstep_fn)(int, int, int, const float *, ptrdiff_t, ptrdiff_t,
                            const float *, float, float *, int);
typedef void (*fr_dstep_fn)(int, int, int, const double *, ptrdiff_t, ptrdiff_t,
                            const double *, double, double *, int);

#if FR_X86_DISPATCH
__attribute__((target("avx2,fma"))) static void
fr_sstep_avx2(int m, int n, int k, const float *A, ptrdiff_t rs, ptrdiff_t ps,
              const float *Bp, float beta, float *C, int ldc)
{
    fr_sstep_body(m, n, k, A, rs, ps, Bp, beta, C, ldc);
}

__attribute__((target("avx2,fma"))) static void
fr_dstep_avx2(int m, int n, int k, const double *A, ptrdiff_t rs, ptrdiff_t ps,
              const double *Bp, double beta, double *C, int ldc)
{
    fr_dstep_body(m, n, k, A, rs, ps, Bp, beta, C, ldc);
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

/* C (m x n) = beta * C + A (m x k) @ B, B packed by fr_spack / fr_dpack.
 * A's element (r, p) is A[r * rs + p * ps]: (rs, ps) = (lda, 1) for a
 * row-major A, (1, lda) for the transpose of a row-major matrix. */
static inline void fr_sstep(int m, int n, int k, const float *A, ptrdiff_t rs, ptrdiff_t ps,
                            const float *Bp, float beta, float *C, int ldc)
{
    fr_sstep_impl(m, n, k, A, rs, ps, Bp, beta, C, ldc);
}

static inline void fr_dstep(int m, int n, int k, const double *A, ptrdiff_t rs,
                            ptrdiff_t ps, const double *Bp, double beta, double *C, int ldc)
{
    fr_dstep_impl(m, n, k, A, rs, ps, Bp, beta, C, ldc);
}

static inline void fr_spack(int k, int n, const float *src, ptrdiff_t rs, ptrdiff_t cs,
                            const ptrdiff_t *rmap, const ptrdiff_t *cmap, float *Bp)
{
    fr_sstep_pack(k, n, src, rs, cs, rmap, cmap, Bp);
}

static inline void fr_dpack(int k, int n, const double *src, ptrdiff_t rs, ptrdiff_t cs,
                            const ptrdiff_t *rmap, const ptrdiff_t *cmap, double *Bp)
{
    fr_dstep_pack(k, n, src, rs, cs, rmap, cmap, Bp);
}

static inline const char *fr_stepgemm_isa(void) { return fr_step_isa; }

/* Whether the CPU runs AVX2 + FMA code (0 off x86-64 / without GCC builtins). */
static inline int fr_cpu_has_avx2_fma(void)
{
#if FR_X86_DISPATCH
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

#endif /* FASTRNN_STEPGEMM_H */

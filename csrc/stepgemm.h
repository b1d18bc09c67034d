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
 * Register tile: MR rows of A x NV vectors of B columns; the k loop
 * broadcasts A[r, k] and multiply-adds rows of B.  Column panels are the
 * outer loop so a k x NV-vector panel of B stays in cache across row tiles.
 *
 * One width-generic source, instantiated per instruction set:
 *   baseline  16-byte GCC vectors (SSE2 / NEON: wider ones would be split
 *             element by element, measured 10x slower), tiles 4 x 3;
 *   avx2      32-byte vectors, compiled for AVX2 + FMA, tiles 4 x 3;
 *   avx512    64-byte vectors (16 floats), tiles 8 x 3 for AVX-512's 32
 *             registers (bench/step_tiles.c measures the candidates);
 *   avx512-on-avx2  the avx512 geometry compiled for AVX2 (GCC splits each
 *             64-byte vector in two): slower, for tests only, so that every
 *             x86 machine checks the wide tiles and their tails.
 * The packed layout depends on the panel width (NV x VL), so each
 * instruction set comes with its own packing; fr_stepgemm_use picks both.
 */
#ifndef FASTRNN_STEPGEMM_H
#define FASTRNN_STEPGEMM_H

#include <stddef.h>
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

/* Vectors that may sit at any 4-byte (8-byte) boundary: 16, 32 and 64 bytes. */
typedef float fr_vf16 __attribute__((vector_size(16), aligned(4)));
typedef double fr_vd16 __attribute__((vector_size(16), aligned(8)));
typedef float fr_vf __attribute__((vector_size(32), aligned(4)));
typedef double fr_vd __attribute__((vector_size(32), aligned(8)));
typedef float fr_vf64 __attribute__((vector_size(64), aligned(4)));
typedef double fr_vd64 __attribute__((vector_size(64), aligned(8)));

#define FR_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define FR_TARGET_AVX512 \
    __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))

/* The instruction sets, in the order of fr_cpu_isa's answer. */
enum { FR_ISA_BASELINE = 0, FR_ISA_AVX2 = 1, FR_ISA_AVX512 = 2, FR_ISA_AVX512_ON_AVX2 = 3 };

/* The interleaving shuffles of the packing's transposes: ZIP_LO(x, y) =
 * x0 y0 x1 y1 ... (the lower halves), ZIP_HI the upper halves, per vector
 * length.  __builtin_shufflevector is in clang and GCC >= 12; older
 * compilers pack element by element. */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12)
#define FR_HAVE_SHUFFLE 1
#define FR_ZIP_LO(x, y, VL) __builtin_shufflevector(x, y, FR_ZIP_LO_##VL)
#define FR_ZIP_HI(x, y, VL) __builtin_shufflevector(x, y, FR_ZIP_HI_##VL)
#else
#define FR_HAVE_SHUFFLE 0
#define FR_ZIP_LO(x, y, VL) (x)
#define FR_ZIP_HI(x, y, VL) (y)
#endif
#define FR_ZIP_LO_2 0, 2
#define FR_ZIP_HI_2 1, 3
#define FR_ZIP_LO_4 0, 4, 1, 5
#define FR_ZIP_HI_4 2, 6, 3, 7
#define FR_ZIP_LO_8 0, 8, 1, 9, 2, 10, 3, 11
#define FR_ZIP_HI_8 4, 12, 5, 13, 6, 14, 7, 15
#define FR_ZIP_LO_16 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23
#define FR_ZIP_HI_16 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31

/*
 * One generic body per scalar type and geometry.  A tile is mr <= MR rows
 * by nv <= NV vectors of VL columns; mr and nv are literals at every call
 * site so the compiler unrolls the tile and keeps its MR x NV accumulators
 * and NV rows of B in registers (4 x 3 + 3 = 15 of SSE2's and AVX2's 16;
 * 8 x 3 + 3 = 27 of AVX-512's 32).  Rows past the last full tile take a
 * tiles of 4 (when MR > 4), then one of 3, 2 or 1.
 */
#define FR_DEFINE_STEPGEMM(NAME, T, V, VL, MR, NV)                                  \
enum { NAME##_VL = VL, NAME##_NV = NV };                                           \
FR_ALWAYS_INLINE void NAME##_tile(int mr, int nv, int k, const T *A, ptrdiff_t rs, \
                                  ptrdiff_t ps, const T *B, ptrdiff_t ldb, T beta,  \
                                  T *C, ptrdiff_t ldc)                              \
{                                                                                  \
    V acc[MR][NV], b[NV];                                                          \
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
/* A tile of mr rows over np adjacent full panels (np * NV vectors, each     \
 * panel its own stream, ps_b = k * NV * VL apart), for mr < 3: a 1-row tile  \
 * of one panel keeps only NV multiply-add chains in flight, fewer than the   \
 * FMA latency times the FMA units can take (bench/step_tiles.c, m=1: AVX2    \
 * 46 -> 55 GF/s, baseline 27 -> 38; m=2 zmm 86 -> 93; zmm m=1 was already at \
 * the bandwidth of the cache B streams from).  Each sum still runs over p in \
 * order, so every element comes out bit for bit as the one-panel tile       \
 * computes it. */                                                              \
FR_ALWAYS_INLINE void NAME##_wide_tile(int mr, int np, int k, const T *A, ptrdiff_t rs, \
                                       ptrdiff_t ps, const T *B, ptrdiff_t ps_b, T beta, \
                                       T *C, ptrdiff_t ldc)                         \
{                                                                                  \
    V acc[2][3 * NV];                                                              \
    int r, v, p, q;                                                                \
    for (r = 0; r < mr; r++)                                                       \
        for (v = 0; v < np * NV; v++)                                              \
            acc[r][v] = (V){0};                                                    \
    for (p = 0; p < k; p++) {                                                      \
        for (r = 0; r < mr; r++) {                                                 \
            const T a = A[r * rs + p * ps];                                        \
            for (q = 0; q < np; q++)                                               \
                for (v = 0; v < NV; v++)                                           \
                    acc[r][q * NV + v] +=                                          \
                        a * *(const V *)(B + q * ps_b + p * (NV * VL) + v * VL);   \
        }                                                                          \
    }                                                                              \
    for (r = 0; r < mr; r++)                                                       \
        for (v = 0; v < np * NV; v++) {                                            \
            V *c = (V *)(C + r * ldc + v * VL);                                    \
            *c = (beta != 0) ? *c + acc[r][v] : acc[r][v];                         \
        }                                                                          \
}                                                                                  \
                                                                                   \
/* All row tiles of one column panel of nv vectors. */                             \
FR_ALWAYS_INLINE void NAME##_panel(int nv, int m, int k, const T *A, ptrdiff_t rs,  \
                                   ptrdiff_t ps, const T *B, int ldb, T beta, T *C, \
                                   int ldc)                                         \
{                                                                                  \
    int i;                                                                         \
    for (i = 0; i + MR <= m; i += MR)                                              \
        NAME##_tile(MR, nv, k, A + i * rs, rs, ps, B, ldb, beta,                   \
                    C + (ptrdiff_t)i * ldc, ldc);                                  \
    for (; MR > 4 && i + 4 <= m; i += 4)                                           \
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
                                                                                   \
/* The width of the panel that starts at column j of n: NV vectors, then one   \
 * vector, then the columns left over. */                                          \
FR_ALWAYS_INLINE int NAME##_width(int j, int n)                                    \
{                                                                                  \
    return (n - j >= NV * VL) ? NV * VL : (n - j >= VL) ? VL : n - j;              \
}                                                                                  \
                                                                                   \
FR_ALWAYS_INLINE void NAME##_body(int m, int n, int k, const T *A, ptrdiff_t rs,   \
                                  ptrdiff_t ps, const T *Bp, T beta, T *C, int ldc) \
{                                                                                  \
    /* Bp is B packed by NAME##_pack: the panel of columns [j, j + w) is a     \
     * contiguous k x w block at Bp + j * k, w = NAME##_width(j, n). */          \
    int j = 0, w;                                                                  \
    const ptrdiff_t ps_b = (ptrdiff_t)k * NV * VL;                                 \
    if (m == 1)                                                                    \
        for (; j + 3 * NV * VL <= n; j += 3 * NV * VL)                             \
            NAME##_wide_tile(1, 3, k, A, rs, ps, Bp + (ptrdiff_t)j * k, ps_b, beta, C + j, ldc); \
    else if (m == 2)                                                               \
        for (; j + 2 * NV * VL <= n; j += 2 * NV * VL)                             \
            NAME##_wide_tile(2, 2, k, A, rs, ps, Bp + (ptrdiff_t)j * k, ps_b, beta, C + j, ldc); \
    for (; j + NV * VL <= n; j += NV * VL)                                         \
        NAME##_panel(NV, m, k, A, rs, ps, Bp + (ptrdiff_t)j * k, NV * VL, beta, C + j, ldc); \
    for (; j + VL <= n; j += VL)                                                   \
        NAME##_panel(1, m, k, A, rs, ps, Bp + (ptrdiff_t)j * k, VL, beta, C + j, ldc); \
    /* Columns past the last full vector: plain dot products. */                   \
    w = n - j;                                                                     \
    for (; j < n; j++)                                                             \
        NAME##_column(m, k, A, rs, ps, Bp + (ptrdiff_t)(n - w) * k + (j - (n - w)), w, \
                      beta, C + j, ldc);                                           \
}                                                                                  \
                                                                                   \
/* Transpose the VL x VL block of src whose row i is the VL values at         \
 * rows[i] + p into VL rows of dst, ld apart: log2(VL) rounds of interleaving   \
 * row i with row i + VL/2 (the perfect shuffle), all in registers. */          \
FR_ALWAYS_INLINE void NAME##_transpose(const T *const *rows, int p, T *dst, ptrdiff_t ld) \
{                                                                                  \
    V r[VL], t[VL];                                                                \
    int i, round;                                                                  \
    for (i = 0; i < VL; i++)                                                       \
        r[i] = *(const V *)(rows[i] + p);                                          \
    for (round = 1; round < VL; round *= 2) {                                      \
        for (i = 0; i < VL / 2; i++) {                                             \
            t[2 * i] = FR_ZIP_LO(r[i], r[i + VL / 2], VL);                         \
            t[2 * i + 1] = FR_ZIP_HI(r[i], r[i + VL / 2], VL);                     \
        }                                                                          \
        for (i = 0; i < VL; i++)                                                   \
            r[i] = t[i];                                                           \
    }                                                                              \
    for (i = 0; i < VL; i++)                                                       \
        *(V *)(dst + i * ld) = r[i];                                               \
}                                                                                  \
                                                                                   \
/* Pack B (k x n) into column panels for NAME##_body.  B's element (p, c)  \
 * is src[r(p) * rs + c'(c) * cs] with r, c' the index maps rmap / cmap     \
 * (NULL: identity), so a transposed and row- or column-permuted weight      \
 * matrix packs in one pass.  The loops follow whichever of B's rows or       \
 * columns is contiguous in src; the writes stay inside one k x w panel.      \
 * A transposed weight matrix (B's columns contiguous) goes VL x VL block by  \
 * block through registers: element by element it cost 13 % of an LSTM      \
 * call at batch 1 (bench/pack_speed.py). */                                    \
FR_ALWAYS_INLINE void NAME##_pack(int k, int n, const T *src, ptrdiff_t rs, ptrdiff_t cs, \
                                  const ptrdiff_t *rmap, const ptrdiff_t *cmap, T *Bp) \
{                                                                                  \
    int j = 0, w, p, q, i;                                                         \
    const T *cols[VL];                                                             \
    while (j < n) {                                                                \
        T *panel = Bp + (ptrdiff_t)j * k;                                          \
        w = NAME##_width(j, n);                                                    \
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
            q = 0;                                                                 \
            if (FR_HAVE_SHUFFLE && rs == 1 && rmap == NULL) {                      \
                for (; q + VL <= w; q += VL) {                                     \
                    for (i = 0; i < VL; i++)                                       \
                        cols[i] = src + (cmap ? cmap[j + q + i] : j + q + i) * cs; \
                    for (p = 0; p + VL <= k; p += VL)                              \
                        NAME##_transpose(cols, p, panel + (ptrdiff_t)p * w + q, w); \
                    for (; p < k; p++)                                             \
                        for (i = 0; i < VL; i++)                                   \
                            panel[p * w + q + i] = cols[i][p];                     \
                }                                                                  \
            }                                                                      \
            for (; q < w; q++) {                                                   \
                const T *col = src + (cmap ? cmap[j + q] : j + q) * cs;            \
                for (p = 0; p < k; p++)                                            \
                    panel[p * w + q] = col[(rmap ? rmap[p] : p) * rs];             \
            }                                                                      \
        }                                                                          \
        j += w;                                                                    \
    }                                                                              \
}

/* The geometries: base (16-byte vectors, 4 x 3 tiles), narrow (32-byte
 * vectors, 4 x 3) and wide (64-byte vectors, 8 x 3). */
FR_DEFINE_STEPGEMM(fr_sbase, float, fr_vf16, 4, 4, 3)
FR_DEFINE_STEPGEMM(fr_dbase, double, fr_vd16, 2, 4, 3)
FR_DEFINE_STEPGEMM(fr_snarrow, float, fr_vf, 8, 4, 3)
FR_DEFINE_STEPGEMM(fr_dnarrow, double, fr_vd, 4, 4, 3)
FR_DEFINE_STEPGEMM(fr_swide, float, fr_vf64, 16, 8, 3)
FR_DEFINE_STEPGEMM(fr_dwide, double, fr_vd64, 8, 8, 3)

typedef void (*fr_sstep_fn)(int, int, int, const float *, ptrdiff_t, ptrdiff_t,
                            const float *, float, float *, int);
typedef void (*fr_dstep_fn)(int, int, int, const double *, ptrdiff_t, ptrdiff_t,
                            const double *, double, double *, int);
typedef void (*fr_spack_fn)(int, int, const float *, ptrdiff_t, ptrdiff_t, const ptrdiff_t *,
                            const ptrdiff_t *, float *);
typedef void (*fr_dpack_fn)(int, int, const double *, ptrdiff_t, ptrdiff_t, const ptrdiff_t *,
                            const ptrdiff_t *, double *);

/* One compiled step kernel and packing per (instruction set, geometry,
 * scalar type): fr_sstep_ISA / fr_spack_ISA (float), fr_dstep_ISA /
 * fr_dpack_ISA (double). */
#define FR_STEP_ENTRY(ISA, ATTR, S, GEOM, T)                                        \
ATTR static void fr_##S##step_##ISA(int m, int n, int k, const T *A, ptrdiff_t rs,  \
                                    ptrdiff_t ps, const T *Bp, T beta, T *C, int ldc) \
{                                                                                  \
    fr_##S##GEOM##_body(m, n, k, A, rs, ps, Bp, beta, C, ldc);                     \
}                                                                                  \
ATTR static void fr_##S##pack_##ISA(int k, int n, const T *src, ptrdiff_t rs,      \
                                    ptrdiff_t cs, const ptrdiff_t *rmap,           \
                                    const ptrdiff_t *cmap, T *Bp)                  \
{                                                                                  \
    fr_##S##GEOM##_pack(k, n, src, rs, cs, rmap, cmap, Bp);                        \
}

FR_STEP_ENTRY(baseline, , s, base, float)
FR_STEP_ENTRY(baseline, , d, base, double)
#if FR_X86_DISPATCH
FR_STEP_ENTRY(avx2, FR_TARGET_AVX2, s, narrow, float)
FR_STEP_ENTRY(avx2, FR_TARGET_AVX2, d, narrow, double)
FR_STEP_ENTRY(avx512, FR_TARGET_AVX512, s, wide, float)
FR_STEP_ENTRY(avx512, FR_TARGET_AVX512, d, wide, double)
FR_STEP_ENTRY(avx512_on_avx2, FR_TARGET_AVX2, s, wide, float)
FR_STEP_ENTRY(avx512_on_avx2, FR_TARGET_AVX2, d, wide, double)
#endif

/* A step kernel with its packing, its name, and the bytes of a unit block
 * of the hidden-unit split (unit_block of fastrnn/_kernels/recurrent.pxi): a whole number
 * of vectors, so that a thread's gate columns never end in a partial vector
 * (those columns would take the slow dot-product path), and about 100 bytes,
 * so that blocks are small enough to balance the threads' shares. */
typedef struct {
    fr_sstep_fn sstep;
    fr_dstep_fn dstep;
    fr_spack_fn spack;
    fr_dpack_fn dpack;
    const char *name;
    int unit_bytes;
} fr_step_kernels;

#define FR_STEP_KERNELS(ISA, NAME, UNIT_BYTES) \
    {fr_sstep_##ISA, fr_dstep_##ISA, fr_spack_##ISA, fr_dpack_##ISA, NAME, UNIT_BYTES}
#define FR_BASELINE_STEP_KERNELS FR_STEP_KERNELS(baseline, "baseline", 96)

/* The kernels of instruction set ``isa`` (FR_ISA_*); the baseline ones for
 * an instruction set this build has not got. */
static inline fr_step_kernels fr_step_kernels_for(int isa)
{
    static const fr_step_kernels table[] = {  /* in FR_ISA_* order */
        FR_BASELINE_STEP_KERNELS,
#if FR_X86_DISPATCH
        FR_STEP_KERNELS(avx2, "avx2", 96),
        FR_STEP_KERNELS(avx512, "avx512", 128),
        FR_STEP_KERNELS(avx512_on_avx2, "avx512-on-avx2", 128),
#endif
    };
    return (isa >= 0 && isa < (int)(sizeof table / sizeof table[0])) ? table[isa] : table[0];
}

/* The best instruction set this CPU (and its OS) runs: FR_ISA_AVX512 needs
 * AVX-512 F, VL, BW and DQ; FR_ISA_AVX2 needs AVX2 and FMA. */
static inline int fr_cpu_isa(void)
{
#if FR_X86_DISPATCH
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")))
        return FR_ISA_BASELINE;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
        return FR_ISA_AVX512;
    return FR_ISA_AVX2;
#else
    return FR_ISA_BASELINE;
#endif
}

/* Whether this CPU runs the kernels of ``isa``. */
static inline int fr_cpu_runs(int isa)
{
    int best = fr_cpu_isa();
    if (isa == FR_ISA_AVX512_ON_AVX2)
        return best >= FR_ISA_AVX2;
    return isa >= FR_ISA_BASELINE && isa <= best;
}

/* The kernels in use: the baseline ones until fr_stepgemm_use picks this CPU's
 * (fastrnn._kernels does, once, when fastrnn is imported). */
static fr_step_kernels fr_step = FR_BASELINE_STEP_KERNELS;

/* Use the kernels of ``isa``; returns -1 (and changes nothing) when the CPU
 * cannot run them. */
static inline int fr_stepgemm_use(int isa)
{
    if (!fr_cpu_runs(isa))
        return -1;
    fr_step = fr_step_kernels_for(isa);
    return 0;
}

/* C (m x n) = beta * C + A (m x k) @ B, B packed by fr_spack / fr_dpack.
 * A's element (r, p) is A[r * rs + p * ps]: (rs, ps) = (lda, 1) for a
 * row-major A, (1, lda) for the transpose of a row-major matrix. */
static inline void fr_sstep(int m, int n, int k, const float *A, ptrdiff_t rs, ptrdiff_t ps,
                            const float *Bp, float beta, float *C, int ldc)
{
    fr_step.sstep(m, n, k, A, rs, ps, Bp, beta, C, ldc);
}

static inline void fr_dstep(int m, int n, int k, const double *A, ptrdiff_t rs,
                            ptrdiff_t ps, const double *Bp, double beta, double *C, int ldc)
{
    fr_step.dstep(m, n, k, A, rs, ps, Bp, beta, C, ldc);
}

static inline void fr_spack(int k, int n, const float *src, ptrdiff_t rs, ptrdiff_t cs,
                            const ptrdiff_t *rmap, const ptrdiff_t *cmap, float *Bp)
{
    fr_step.spack(k, n, src, rs, cs, rmap, cmap, Bp);
}

static inline void fr_dpack(int k, int n, const double *src, ptrdiff_t rs, ptrdiff_t cs,
                            const ptrdiff_t *rmap, const ptrdiff_t *cmap, double *Bp)
{
    fr_step.dpack(k, n, src, rs, cs, rmap, cmap, Bp);
}

static inline const char *fr_stepgemm_isa(void) { return fr_step.name; }

static inline int fr_stepgemm_unit_bytes(void) { return fr_step.unit_bytes; }

#endif /* FASTRNN_STEPGEMM_H */

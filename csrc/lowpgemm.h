/*
 * The step products of low-precision inference (fastrnn.freeze(module,
 * precision="int8" | "bf16")):
 *
 *     C (m x n) = beta * C + A (m x k) @ B (k x n)      row-major, beta 0 or 1
 *
 * with A float32 rows (the inputs or the previous state of the step),
 * converted on the fly, and B a weight matrix stored once at low precision.
 *
 * int8, dynamic quantization (PyTorch's quantize_dynamic, ONNX Runtime's
 * DynamicQuantizeLSTM):
 *   B: symmetric per column (a gate unit: per output channel),
 *      q = rint(w * 127 / max|w_col|) in [-127, 127], scale = max|w_col| / 127;
 *   A: symmetric per row, computed at every product (the state changes each
 *      step), q = rint(a * 127 / max|a_row|), scale = max|a_row| / 127;
 *   the products summed exactly in int32, then
 *      C = beta * C + (float) acc * (row scale * column scale).
 * Every kernel computes the same int32 sums (integer arithmetic is exact),
 * so the instruction sets differ at most in how the last multiply-add rounds.
 * A row that holds an inf or a NaN gets a NaN scale: its outputs are NaN,
 * never the finite answer of a row quantized to zeros.  Rows (columns) whose largest
 * magnitude is below FR_Q8_TINY quantize to zeros (127 / max would overflow).
 *
 * The kernels:
 *   generic  portable C (any CPU);
 *   avx2     vpmaddubsw on |a| and sign(b, a), then vpmaddwd: both operands
 *            stay in [-127, 127], so the pairs' 16-bit sums cannot saturate
 *            (2 * 127 * 127 < 32767) -- no 7-bit "reduce_range" needed;
 *   vnni     AVX-512 VNNI vpdpbusd: unsigned A = q + 128, and the offset's
 *            share, 128 * (the column's sum of q), subtracted after the loop.
 *
 * bf16 (OpenVINO's default on CPUs with AVX-512 BF16): B rounded to bf16
 * once, A's rows rounded to bf16 at every product (round to nearest even),
 * float32 sums by vdpbf16ps.  Only on AVX-512 BF16: elsewhere fastrnn
 * refuses it (an emulation would be slower than float32).
 *
 * Packed layouts (one blob of bytes per weight matrix, FR_LP_PANEL = 16
 * columns per panel, the last panel padded with zero columns):
 *   int8:  float scale[np16] | int32 offset_sum[np16] | int8 panels, each
 *          [kp / 4][16][4] (kp = k rounded up to 4, zero-padded)
 *   bf16:  uint16 panels, each [kp / 2][16][2] (kp = k rounded up to 2)
 * with np16 = 16 * ceil(n / 16).  A panel's k-groups are 64 bytes apart, so
 * the k loop streams one panel sequentially, as csrc/stepgemm.h's do.
 */
#ifndef FASTRNN_LOWPGEMM_H
#define FASTRNN_LOWPGEMM_H

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "stepgemm.h"

#if FR_X86_DISPATCH
#include <immintrin.h>
#endif

enum { FR_PRECISION_NATIVE = 0, FR_PRECISION_INT8 = 1, FR_PRECISION_BF16 = 2 };
enum { FR_LP_PANEL = 16 };

#define FR_Q8_TINY 1e-30f

static inline int fr_lp_cols(int n) { return (n + FR_LP_PANEL - 1) / FR_LP_PANEL * FR_LP_PANEL; }
static inline int fr_q8_kp(int k) { return (k + 3) & ~3; }
static inline int fr_bf16_kp(int k) { return (k + 1) & ~1; }

/* Bytes of a packed k x n weight matrix. */
static inline size_t fr_lowp_bytes(int precision, int k, int n)
{
    size_t cols = (size_t)fr_lp_cols(n);
    if (precision == FR_PRECISION_INT8)
        return cols * 8 + cols * (size_t)fr_q8_kp(k);
    return cols * (size_t)fr_bf16_kp(k) * 2;
}

/* Bytes of one converted row of A of k values. */
static inline ptrdiff_t fr_lowp_row_bytes(int precision, int k)
{
    return precision == FR_PRECISION_INT8 ? fr_q8_kp(k) : 2 * (ptrdiff_t)fr_bf16_kp(k);
}

FR_ALWAYS_INLINE int32_t fr_load_i32(const void *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* rint(v) for |v| <= 127.5, round half to even, then clamped to [-127, 127]:
 * adding and subtracting 1.5 * 2^23 rounds in float32 arithmetic itself, so
 * the loops vectorise on SSE2 (no roundps there). */
FR_ALWAYS_INLINE int fr_q8_round(float v)
{
    float r = (v + 12582912.0f) - 12582912.0f;
    r = r > 127.0f ? 127.0f : r;
    r = r < -127.0f ? -127.0f : r;
    return (int)r;
}

/* float32 -> bf16, round to nearest even; NaN stays a (quiet) NaN. */
FR_ALWAYS_INLINE uint16_t fr_bf16_round(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40u);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* ------------------------------------------------------------------ packing */

/* Pack B (k x n), element (p, c) at src[p * rs + cmap(c) * cs] (cmap NULL:
 * the identity), as int8 with one scale per column.  The caller has checked
 * that every value is finite. */
static inline void fr_q8_pack(int k, int n, const float *src, ptrdiff_t rs, ptrdiff_t cs,
                              const ptrdiff_t *cmap, uint8_t *blob)
{
    const int cols = fr_lp_cols(n), kp = fr_q8_kp(k);
    float *scale = (float *)blob;
    int32_t *offset_sum = (int32_t *)(blob + (size_t)cols * 4);
    int8_t *panels = (int8_t *)(blob + (size_t)cols * 8);
    int c, p;
    memset(panels, 0, (size_t)cols * kp);
    for (c = 0; c < cols; c++) {
        float amax = 0, inv;
        int32_t sum = 0;
        int8_t *col = panels + (size_t)(c / FR_LP_PANEL) * kp * FR_LP_PANEL + (c % FR_LP_PANEL) * 4;
        const float *colp = c < n ? src + (cmap ? cmap[c] : c) * cs : NULL;
        if (c < n)
            for (p = 0; p < k; p++) {
                float v = fabsf(colp[p * rs]);
                amax = v > amax ? v : amax;
            }
        if (amax < FR_Q8_TINY) {
            scale[c] = 0;
            offset_sum[c] = 0;
            continue;
        }
        scale[c] = amax / 127.0f;
        inv = 127.0f / amax;
        for (p = 0; p < k; p++) {
            int q = fr_q8_round(colp[p * rs] * inv);
            col[(p / 4) * 4 * FR_LP_PANEL + p % 4] = (int8_t)q;
            sum += q;
        }
        offset_sum[c] = 128 * sum;
    }
}

/* Pack B (k x n) as bf16 panels (src and cmap as fr_q8_pack's). */
static inline void fr_bf16_pack(int k, int n, const float *src, ptrdiff_t rs, ptrdiff_t cs,
                                const ptrdiff_t *cmap, uint16_t *panels)
{
    const int cols = fr_lp_cols(n), kp = fr_bf16_kp(k);
    int c, p;
    memset(panels, 0, (size_t)cols * kp * 2);
    for (c = 0; c < n; c++) {
        uint16_t *col = panels + (size_t)(c / FR_LP_PANEL) * kp * FR_LP_PANEL
                        + (c % FR_LP_PANEL) * 2;
        for (p = 0; p < k; p++)
            col[(p / 2) * 2 * FR_LP_PANEL + p % 2] =
                fr_bf16_round(src[p * rs + (cmap ? cmap[c] : c) * cs]);
    }
}

/* Pack at ``precision`` (FR_PRECISION_INT8 or _BF16). */
static inline void fr_lowp_pack(int precision, int k, int n, const float *src, ptrdiff_t rs,
                                ptrdiff_t cs, const ptrdiff_t *cmap, uint8_t *blob)
{
    if (precision == FR_PRECISION_INT8)
        fr_q8_pack(k, n, src, rs, cs, cmap, blob);
    else
        fr_bf16_pack(k, n, src, rs, cs, cmap, (uint16_t *)blob);
}

/* ------------------------------------------------------- converting A's rows */

/* Quantize rows of A (m x k) into Q (row stride qs_bytes), each value q +
 * offset (0: int8, 128: the unsigned bytes of VNNI), k padded to a multiple
 * of 4 with zeros (+ offset); the rows' scales into scales. */
FR_ALWAYS_INLINE void fr_q8_rows_body(int m, int k, const float *A, ptrdiff_t lda, uint8_t *Q,
                                      ptrdiff_t qs_bytes, float *scales, int offset)
{
    const int kp = fr_q8_kp(k);
    int r, p;
    for (r = 0; r < m; r++) {
        const float *a = A + r * lda;
        uint8_t *q = Q + r * qs_bytes;
        float amax = 0, inv;
        int bad = 0;
        for (p = 0; p < k; p++) {
            float v = fabsf(a[p]);
            amax = v > amax ? v : amax;
            bad |= !(v <= FLT_MAX);
        }
        if (bad || amax < FR_Q8_TINY) {
            scales[r] = bad ? NAN : 0.0f;
            memset(q, offset, (size_t)kp);
            continue;
        }
        scales[r] = amax / 127.0f;
        inv = 127.0f / amax;
        for (p = 0; p < k; p++)
            q[p] = (uint8_t)(fr_q8_round(a[p] * inv) + offset);
        for (; p < kp; p++)
            q[p] = (uint8_t)offset;
    }
}

/* Round rows of A (m x k) to bf16 into Q (row stride qs_bytes), k padded to
 * even with a zero. */
FR_ALWAYS_INLINE void fr_bf16_rows_body(int m, int k, const float *A, ptrdiff_t lda, uint8_t *Q,
                                        ptrdiff_t qs_bytes)
{
    int r, p;
    for (r = 0; r < m; r++) {
        const float *a = A + r * lda;
        uint16_t *q = (uint16_t *)(Q + r * qs_bytes);
        for (p = 0; p < k; p++)
            q[p] = fr_bf16_round(a[p]);
        if (k & 1)
            q[k] = 0;
    }
}

/* --------------------------------------------------------- int8: the products */

/* The product is rounded before it is added: the compiler may not fuse the
 * two into one multiply-add in some kernels or tiles and not in others (a
 * row's result would then depend on the tile it fell in, hence on the
 * thread count and the rows beside it). */
#if FR_X86_DISPATCH
#define FR_KEEP_ROUNDED(v) __asm__("" : "+x"(v))
#define FR_KEEP_ROUNDED_VEC(v) __asm__("" : "+v"(v))
#else
#define FR_KEEP_ROUNDED(v) do { volatile float fr_kept_ = (v); (v) = fr_kept_; } while (0)
#endif

/* The dequantization of one result: every kernel does these operations in
 * this order, each rounded. */
FR_ALWAYS_INLINE void fr_q8_store(int32_t acc, float row_scale, float col_scale, float beta,
                                  const float *bias, float *c)
{
    float v = (float)acc * (row_scale * col_scale);
    FR_KEEP_ROUNDED(v);
    *c = bias ? *bias + v : beta != 0 ? *c + v : v;
}

/* Portable: one row at a time, 16 int32 sums per panel. */
static void fr_q8step_generic(int m, int n, int k, const uint8_t *Q, ptrdiff_t qs_bytes,
                              const float *row_scales, const uint8_t *blob, float beta,
                              const float *bias, float *C, int ldc)
{
    const int cols = fr_lp_cols(n), kp = fr_q8_kp(k);
    const float *scale = (const float *)blob;
    const int8_t *panels = (const int8_t *)(blob + (size_t)cols * 8);
    int r, j, c, p;
    for (j = 0; j < cols; j += FR_LP_PANEL) {
        const int8_t *P = panels + (size_t)j * kp;
        const int w = n - j < FR_LP_PANEL ? n - j : FR_LP_PANEL;
        for (r = 0; r < m; r++) {
            const int8_t *a = (const int8_t *)(Q + r * qs_bytes);
            int32_t acc[FR_LP_PANEL] = {0};
            for (p = 0; p < kp; p += 4) {
                const int8_t *b = P + p * FR_LP_PANEL;
                for (c = 0; c < FR_LP_PANEL; c++)
                    acc[c] += a[p] * b[4 * c] + a[p + 1] * b[4 * c + 1]
                              + a[p + 2] * b[4 * c + 2] + a[p + 3] * b[4 * c + 3];
            }
            for (c = 0; c < w; c++)
                fr_q8_store(acc[c], row_scales[r], scale[j + c], beta, bias ? bias + j + c : NULL,
                            C + (ptrdiff_t)r * ldc + j + c);
        }
    }
}

static void fr_q8rows_generic(int m, int k, const float *A, ptrdiff_t lda, uint8_t *Q,
                              ptrdiff_t qs_bytes, float *scales)
{
    fr_q8_rows_body(m, k, A, lda, Q, qs_bytes, scales, 0);
}

/*
 * The vector kernels share one loop nest: panel blocks of NV panels outside
 * (a k x 16 * NV block of B stays in L1 across the row tiles), row tiles of
 * MR rows inside; the tile's MR x NV accumulators stay in registers (mr and
 * nv are literals at every call site, so the compiler unrolls the tile).
 * Fewer than 3 rows take WIDE panels at a time instead, to keep enough
 * independent multiply-add chains in flight.
 */
#define FR_LP_CALL(TILE, mr, nv) \
    TILE(mr, nv, kq, Q + (ptrdiff_t)i * qs_bytes, qs_bytes, P, ps, row_scales + i, aux, j, n, \
         beta, bias ? bias + j : NULL, C + (ptrdiff_t)i * ldc + j, ldc)

#define FR_LP_ROWS(TILE, MR, nv)                                                     \
    do {                                                                             \
        for (i = 0; i + MR <= m; i += MR)                                            \
            FR_LP_CALL(TILE, MR, nv);                                                \
        switch (m - i) {                                                             \
        case 3: FR_LP_CALL(TILE, 3, nv); break;                                      \
        case 2: FR_LP_CALL(TILE, 2, nv); break;                                      \
        case 1: FR_LP_CALL(TILE, 1, nv); break;                                      \
        default: break;                                                              \
        }                                                                            \
    } while (0)

/* Tiles of mr rows by the `left` (< 8) panels left at the end of a row. */
#define FR_LP_TAIL(TILE, mr, left)                                                   \
    switch (left) {                                                                  \
    case 7: FR_LP_CALL(TILE, mr, 7); break;                                          \
    case 6: FR_LP_CALL(TILE, mr, 6); break;                                          \
    case 5: FR_LP_CALL(TILE, mr, 5); break;                                          \
    case 4: FR_LP_CALL(TILE, mr, 4); break;                                          \
    case 3: FR_LP_CALL(TILE, mr, 3); break;                                          \
    case 2: FR_LP_CALL(TILE, mr, 2); break;                                          \
    case 1: FR_LP_CALL(TILE, mr, 1); break;                                          \
    default: break;                                                                  \
    }

/* The loop nest over a blob whose panels start at P0, ps bytes apart. */
#define FR_LP_BODY(TILE, MR, NV, WIDE)                                               \
    do {                                                                             \
        const int np = fr_lp_cols(n) / FR_LP_PANEL;                                  \
        int i, jp;                                                                   \
        const int step = m < 3 ? WIDE : NV;                                          \
        for (jp = 0; jp < np; jp += step) {                                          \
            const int j = jp * FR_LP_PANEL, left = np - jp;                          \
            const uint8_t *P = P0 + (ptrdiff_t)jp * ps;                              \
            if (m < 3) {                                                             \
                for (i = 0; i < m; i++) {                                            \
                    if (left >= WIDE) FR_LP_CALL(TILE, 1, WIDE);                     \
                    else FR_LP_TAIL(TILE, 1, left);                                  \
                }                                                                    \
            } else if (left >= NV) {                                                 \
                FR_LP_ROWS(TILE, MR, NV);                                            \
            } else {                                                                 \
                switch (left) {                                                      \
                case 3: FR_LP_ROWS(TILE, MR, 3); break;                              \
                case 2: FR_LP_ROWS(TILE, MR, 2); break;                              \
                case 1: FR_LP_ROWS(TILE, MR, 1); break;                              \
                default: break;                                                      \
                }                                                                    \
            }                                                                        \
        }                                                                            \
    } while (0)

/* An int8 step function NAME (instruction set ATTR) running TILE over the
 * blob's panels (after its scales and offset sums): MR x NV tiles, WIDE
 * panels a row below 3 rows. */
#define FR_Q8_STEP(NAME, ATTR, TILE, MR, NV, WIDE)                                   \
ATTR static void NAME(int m, int n, int k, const uint8_t *Q, ptrdiff_t qs_bytes,      \
                      const float *row_scales, const uint8_t *blob, float beta,       \
                      const float *bias, float *C, int ldc)                           \
{                                                                                    \
    const int cols = fr_lp_cols(n), kq = fr_q8_kp(k) / 4;                            \
    const ptrdiff_t ps = (ptrdiff_t)kq * 64;                                         \
    const uint8_t *P0 = blob + (size_t)cols * 8;                                     \
    const void *aux = blob;                                                          \
    if (m <= 0 || n <= 0)                                                            \
        return;                                                                      \
    FR_LP_BODY(TILE, MR, NV, WIDE);                                                  \
}

#if FR_X86_DISPATCH

#define FR_TARGET_VNNI \
    __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx512vnni,avx2,fma")))
#define FR_TARGET_BF16 \
    __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx512bf16,avx2,fma")))

/* acc += a . b in place.  Through the intrinsics GCC 12 copied each
 * accumulator out and back around every vpdpbusd / vdpbf16ps (two register
 * moves per multiply-add), and with an array of accumulators in asm it kept
 * them in memory; the hot tiles (4 rows x 4 panels, 1 row x 8 panels) hold
 * theirs in named variables and multiply-add them in place
 * (bench/lowp_product.c). */
#define FR_DPBUSD(acc, a, b) __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b))
#define FR_DPBF16(acc, a, b) __asm__("vdpbf16ps %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b))

/* The k loop of a 4 x 4 tile (DOT: FR_DPBUSD or FR_DPBF16; T: the
 * accumulator type, ZERO its zero), its sums into acc[4][8]. */
#define FR_LP_K44(DOT, T, ZERO)                                                      \
    do {                                                                             \
        T c00 = ZERO, c01 = ZERO, c02 = ZERO, c03 = ZERO, c10 = ZERO, c11 = ZERO;    \
        T c12 = ZERO, c13 = ZERO, c20 = ZERO, c21 = ZERO, c22 = ZERO, c23 = ZERO;    \
        T c30 = ZERO, c31 = ZERO, c32 = ZERO, c33 = ZERO;                            \
        int p;                                                                       \
        for (p = 0; p < kq; p++) {                                                   \
            const __m512i b0 = _mm512_loadu_si512((const void *)(P + p * 64));      \
            const __m512i b1 = _mm512_loadu_si512((const void *)(P + ps + p * 64)); \
            const __m512i b2 = _mm512_loadu_si512((const void *)(P + 2 * ps + p * 64)); \
            const __m512i b3 = _mm512_loadu_si512((const void *)(P + 3 * ps + p * 64)); \
            __m512i a = _mm512_set1_epi32(fr_load_i32(Q + 4 * p));                   \
            DOT(c00, a, b0); DOT(c01, a, b1); DOT(c02, a, b2); DOT(c03, a, b3);      \
            a = _mm512_set1_epi32(fr_load_i32(Q + qs_bytes + 4 * p));                \
            DOT(c10, a, b0); DOT(c11, a, b1); DOT(c12, a, b2); DOT(c13, a, b3);      \
            a = _mm512_set1_epi32(fr_load_i32(Q + 2 * qs_bytes + 4 * p));            \
            DOT(c20, a, b0); DOT(c21, a, b1); DOT(c22, a, b2); DOT(c23, a, b3);      \
            a = _mm512_set1_epi32(fr_load_i32(Q + 3 * qs_bytes + 4 * p));            \
            DOT(c30, a, b0); DOT(c31, a, b1); DOT(c32, a, b2); DOT(c33, a, b3);      \
        }                                                                            \
        acc[0][0] = c00; acc[0][1] = c01; acc[0][2] = c02; acc[0][3] = c03;          \
        acc[1][0] = c10; acc[1][1] = c11; acc[1][2] = c12; acc[1][3] = c13;          \
        acc[2][0] = c20; acc[2][1] = c21; acc[2][2] = c22; acc[2][3] = c23;          \
        acc[3][0] = c30; acc[3][1] = c31; acc[3][2] = c32; acc[3][3] = c33;          \
    } while (0)

/* The k loop of any other mr x nv tile, into acc (ZERO: its zero; STEP:
 * the new acc[r][v] from it, the broadcast a and the panel vector b[v]). */
#define FR_LP_KTILE(ZERO, STEP)                                                      \
    do {                                                                             \
        for (r = 0; r < mr; r++)                                                     \
            for (v = 0; v < nv; v++)                                                 \
                acc[r][v] = ZERO;                                                    \
        for (p = 0; p < kq; p++) {                                                   \
            for (v = 0; v < nv; v++)                                                 \
                b[v] = _mm512_loadu_si512((const void *)(P + v * ps + p * 64));      \
            for (r = 0; r < mr; r++) {                                               \
                const __m512i a = _mm512_set1_epi32(fr_load_i32(Q + r * qs_bytes + 4 * p)); \
                for (v = 0; v < nv; v++)                                             \
                    acc[r][v] = STEP;                                                \
            }                                                                        \
        }                                                                            \
    } while (0)

/* The k loop of a 1 x 8 tile (one row across 8 panels). */
#define FR_LP_K18(DOT, T, ZERO)                                                      \
    do {                                                                             \
        T c0 = ZERO, c1 = ZERO, c2 = ZERO, c3 = ZERO, c4 = ZERO, c5 = ZERO;          \
        T c6 = ZERO, c7 = ZERO;                                                      \
        int p;                                                                       \
        for (p = 0; p < kq; p++) {                                                   \
            const __m512i a = _mm512_set1_epi32(fr_load_i32(Q + 4 * p));             \
            const uint8_t *B = P + p * 64;                                           \
            DOT(c0, a, _mm512_loadu_si512((const void *)B));                         \
            DOT(c1, a, _mm512_loadu_si512((const void *)(B + ps)));                  \
            DOT(c2, a, _mm512_loadu_si512((const void *)(B + 2 * ps)));              \
            DOT(c3, a, _mm512_loadu_si512((const void *)(B + 3 * ps)));              \
            DOT(c4, a, _mm512_loadu_si512((const void *)(B + 4 * ps)));              \
            DOT(c5, a, _mm512_loadu_si512((const void *)(B + 5 * ps)));              \
            DOT(c6, a, _mm512_loadu_si512((const void *)(B + 6 * ps)));              \
            DOT(c7, a, _mm512_loadu_si512((const void *)(B + 7 * ps)));              \
        }                                                                            \
        acc[0][0] = c0; acc[0][1] = c1; acc[0][2] = c2; acc[0][3] = c3;              \
        acc[0][4] = c4; acc[0][5] = c5; acc[0][6] = c6; acc[0][7] = c7;              \
    } while (0)

FR_ALWAYS_INLINE FR_TARGET_VNNI void fr_q8_vnni_k44(int kq, const uint8_t *Q, ptrdiff_t qs_bytes,
                                                    const uint8_t *P, ptrdiff_t ps,
                                                    __m512i acc[4][8])
{
    FR_LP_K44(FR_DPBUSD, __m512i, _mm512_setzero_si512());
}

FR_ALWAYS_INLINE FR_TARGET_VNNI void fr_q8_vnni_k18(int kq, const uint8_t *Q, const uint8_t *P,
                                                    ptrdiff_t ps, __m512i acc[4][8])
{
    FR_LP_K18(FR_DPBUSD, __m512i, _mm512_setzero_si512());
}

FR_ALWAYS_INLINE FR_TARGET_BF16 void fr_bf16_k44(int kq, const uint8_t *Q, ptrdiff_t qs_bytes,
                                                 const uint8_t *P, ptrdiff_t ps, __m512 acc[4][8])
{
    FR_LP_K44(FR_DPBF16, __m512, _mm512_setzero_ps());
}

FR_ALWAYS_INLINE FR_TARGET_BF16 void fr_bf16_k18(int kq, const uint8_t *Q, const uint8_t *P,
                                                 ptrdiff_t ps, __m512 acc[4][8])
{
    FR_LP_K18(FR_DPBF16, __m512, _mm512_setzero_ps());
}

/* A tile's last panel may end past column n: a mask of its valid columns. */
FR_ALWAYS_INLINE unsigned fr_lp_mask(int j, int n)
{
    int w = n - j;
    return w >= FR_LP_PANEL ? 0xffffu : w <= 0 ? 0u : (1u << w) - 1u;
}

/* ---- AVX2: |a| x sign(b, a) -> 16-bit pairs -> 32-bit sums */
FR_ALWAYS_INLINE FR_TARGET_AVX2 void
fr_q8_avx2_tile(int mr, int nv, int kq, const uint8_t *Q, ptrdiff_t qs_bytes, const uint8_t *P,
                ptrdiff_t ps, const float *row_scales, const void *aux, int j, int n,
                float beta, const float *bias, float *C, int ldc)
{
    __m256i acc[4][16], b[16];
    const __m256i ones = _mm256_set1_epi16(1);
    const float *scale = (const float *)aux;
    int r, v, p;
    for (r = 0; r < mr; r++)
        for (v = 0; v < 2 * nv; v++)
            acc[r][v] = _mm256_setzero_si256();
    for (p = 0; p < kq; p++) {
        for (v = 0; v < 2 * nv; v++)
            b[v] = _mm256_loadu_si256((const __m256i *)(P + (v / 2) * ps + p * 64 + (v % 2) * 32));
        for (r = 0; r < mr; r++) {
            const __m256i a = _mm256_set1_epi32(fr_load_i32(Q + r * qs_bytes + 4 * p));
            const __m256i abs_a = _mm256_abs_epi8(a);
            for (v = 0; v < 2 * nv; v++)
                acc[r][v] = _mm256_add_epi32(acc[r][v], _mm256_madd_epi16(
                    _mm256_maddubs_epi16(abs_a, _mm256_sign_epi8(b[v], a)), ones));
        }
    }
    for (r = 0; r < mr; r++)
        for (v = 0; v < 2 * nv; v++) {
            const int col = j + v * 8;
            int32_t sums[8];
            int c;
            _mm256_storeu_si256((__m256i *)sums, acc[r][v]);
            for (c = 0; c < 8 && col + c < n; c++)
                fr_q8_store(sums[c], row_scales[r], scale[col + c], beta,
                            bias ? bias + v * 8 + c : NULL, C + (ptrdiff_t)r * ldc + v * 8 + c);
        }
}

FR_Q8_STEP(fr_q8step_avx2, FR_TARGET_AVX2, fr_q8_avx2_tile, 4, 1, 2)

FR_TARGET_AVX2 static void fr_q8rows_avx2(int m, int k, const float *A, ptrdiff_t lda,
                                          uint8_t *Q, ptrdiff_t qs_bytes, float *scales)
{
    fr_q8_rows_body(m, k, A, lda, Q, qs_bytes, scales, 0);
}

/* ---- AVX-512 VNNI: vpdpbusd on (q + 128) and q_b */
FR_ALWAYS_INLINE FR_TARGET_VNNI void
fr_q8_vnni_tile(int mr, int nv, int kq, const uint8_t *Q, ptrdiff_t qs_bytes, const uint8_t *P,
                ptrdiff_t ps, const float *row_scales, const void *aux, int j, int n,
                float beta, const float *bias, float *C, int ldc)
{
    __m512i acc[4][8], b[8];
    const float *scale = (const float *)aux;
    const int32_t *offset_sum = (const int32_t *)((const uint8_t *)aux + (size_t)fr_lp_cols(n) * 4);
    int r, v, p;
    if (mr == 4 && nv == 4) {
        fr_q8_vnni_k44(kq, Q, qs_bytes, P, ps, acc);
    } else if (mr == 1 && nv == 8) {
        fr_q8_vnni_k18(kq, Q, P, ps, acc);
    } else {
        FR_LP_KTILE(_mm512_setzero_si512(), _mm512_dpbusd_epi32(acc[r][v], a, b[v]));
    }
    for (v = 0; v < nv; v++) {
        const int col = j + v * FR_LP_PANEL;
        const __mmask16 mask = (__mmask16)fr_lp_mask(col, n);
        const __m512 cs = _mm512_loadu_ps(scale + col);
        const __m512i off = _mm512_loadu_si512((const void *)(offset_sum + col));
        for (r = 0; r < mr; r++) {
            float *c = C + (ptrdiff_t)r * ldc + v * FR_LP_PANEL;
            __m512 s = _mm512_mul_ps(_mm512_set1_ps(row_scales[r]), cs);
            __m512 val = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][v], off)), s);
            FR_KEEP_ROUNDED_VEC(val);
            if (bias)
                val = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, bias + v * FR_LP_PANEL), val);
            else if (beta != 0)
                val = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, c), val);
            _mm512_mask_storeu_ps(c, mask, val);
        }
    }
}

FR_Q8_STEP(fr_q8step_vnni, FR_TARGET_VNNI, fr_q8_vnni_tile, 4, 4, 8)

/* fr_q8_rows_body(..., 128) in 16-float vectors: the same values (the
 * maximum is exact; vcvtps2dq rounds to nearest even, as fr_q8_round). */
FR_TARGET_VNNI static void fr_q8rows_vnni(int m, int k, const float *A, ptrdiff_t lda,
                                          uint8_t *Q, ptrdiff_t qs_bytes, float *scales)
{
    const int kp = fr_q8_kp(k);
    const __m512 big = _mm512_set1_ps(FLT_MAX);
    const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
    const __m512i offset = _mm512_set1_epi32(128);
    int r, p;
    for (r = 0; r < m; r++) {
        const float *a = A + r * lda;
        uint8_t *q = Q + r * qs_bytes;
        __m512 vmax = _mm512_setzero_ps();
        __mmask16 bad = 0;
        float amax;
        for (p = 0; p < k; p += 16) {
            const __mmask16 mask = (__mmask16)fr_lp_mask(p, k);
            const __m512 v = _mm512_abs_ps(_mm512_maskz_loadu_ps(mask, a + p));
            bad |= _mm512_cmp_ps_mask(v, big, _CMP_NLE_UQ);   /* inf, or NaN */
            vmax = _mm512_max_ps(vmax, v);
        }
        amax = _mm512_reduce_max_ps(vmax);
        if (bad || amax < FR_Q8_TINY) {
            scales[r] = bad ? NAN : 0.0f;
            memset(q, 128, (size_t)kp);
            continue;
        }
        scales[r] = amax / 127.0f;
        {
            const __m512 inv = _mm512_set1_ps(127.0f / amax);
            for (p = 0; p < k; p += 16) {
                const __mmask16 mask = (__mmask16)fr_lp_mask(p, k);
                __m512i v = _mm512_cvtps_epi32(
                    _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, a + p), inv));
                v = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(v, lo), hi), offset);
                _mm_mask_storeu_epi8(q + p, mask, _mm512_cvtepi32_epi8(v));
            }
        }
        for (p = k; p < kp; p++)
            q[p] = 128;
    }
}

/* ---- AVX-512 BF16: vdpbf16ps, float32 sums */
FR_ALWAYS_INLINE FR_TARGET_BF16 void
fr_bf16_tile(int mr, int nv, int kq, const uint8_t *Q, ptrdiff_t qs_bytes, const uint8_t *P,
             ptrdiff_t ps, const float *row_scales, const void *aux, int j, int n, float beta,
             const float *bias, float *C, int ldc)
{
    __m512 acc[4][8];
    __m512i b[8];
    int r, v, p;
    (void)row_scales;
    (void)aux;
    if (mr == 4 && nv == 4) {
        fr_bf16_k44(kq, Q, qs_bytes, P, ps, acc);
    } else if (mr == 1 && nv == 8) {
        fr_bf16_k18(kq, Q, P, ps, acc);
    } else {
        FR_LP_KTILE(_mm512_setzero_ps(), _mm512_dpbf16_ps(acc[r][v], (__m512bh)a, (__m512bh)b[v]));
    }
    for (v = 0; v < nv; v++) {
        const __mmask16 mask = (__mmask16)fr_lp_mask(j + v * FR_LP_PANEL, n);
        for (r = 0; r < mr; r++) {
            float *c = C + (ptrdiff_t)r * ldc + v * FR_LP_PANEL;
            __m512 val = acc[r][v];
            if (bias)
                val = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, bias + v * FR_LP_PANEL), val);
            else if (beta != 0)
                val = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, c), val);
            _mm512_mask_storeu_ps(c, mask, val);
        }
    }
}

FR_TARGET_BF16 static void fr_bf16step_avx512(int m, int n, int k, const uint8_t *Q,
                                              ptrdiff_t qs_bytes, const float *row_scales,
                                              const uint8_t *blob, float beta,
                                          const float *bias, float *C, int ldc)
{
    const int kq = fr_bf16_kp(k) / 2;
    const ptrdiff_t ps = (ptrdiff_t)kq * 64;
    const uint8_t *P0 = blob;
    const void *aux = NULL;
    if (m <= 0 || n <= 0)
        return;
    FR_LP_BODY(fr_bf16_tile, 4, 4, 8);
}

FR_TARGET_BF16 static void fr_bf16rows_avx512(int m, int k, const float *A, ptrdiff_t lda,
                                              uint8_t *Q, ptrdiff_t qs_bytes, float *scales)
{
    (void)scales;
    fr_bf16_rows_body(m, k, A, lda, Q, qs_bytes);
}

#endif /* FR_X86_DISPATCH */

/* ------------------------------------------------------------------ dispatch */

typedef void (*fr_lp_step_fn)(int, int, int, const uint8_t *, ptrdiff_t, const float *,
                              const uint8_t *, float, const float *, float *, int);
typedef void (*fr_lp_rows_fn)(int, int, const float *, ptrdiff_t, uint8_t *, ptrdiff_t, float *);

typedef struct {
    fr_lp_step_fn q8step;
    fr_lp_rows_fn q8rows;
    const char *q8name;
    fr_lp_step_fn bf16step;   /* NULL: no bf16 kernel for this CPU and build */
    fr_lp_rows_fn bf16rows;
} fr_lowp_kernels;

static fr_lowp_kernels fr_lowp = {fr_q8step_generic, fr_q8rows_generic, "generic", NULL, NULL};

/* The low-precision kernels that go with the step kernels of ``isa``
 * (FR_ISA_*): VNNI with the AVX-512 build where the CPU has it, the AVX2
 * int8 kernel with any other AVX2 build, bf16 with the AVX-512 build on CPUs
 * with AVX-512 BF16; the portable int8 kernel otherwise. */
static inline fr_lowp_kernels fr_lowp_kernels_for(int isa)
{
    fr_lowp_kernels k = {fr_q8step_generic, fr_q8rows_generic, "generic", NULL, NULL};
#if FR_X86_DISPATCH
    __builtin_cpu_init();
    if (isa == FR_ISA_AVX512 && __builtin_cpu_supports("avx512vnni")) {
        k.q8step = fr_q8step_vnni;
        k.q8rows = fr_q8rows_vnni;
        k.q8name = "avx512-vnni";
    } else if (isa == FR_ISA_AVX2 || isa == FR_ISA_AVX512 || isa == FR_ISA_AVX512_ON_AVX2) {
        k.q8step = fr_q8step_avx2;
        k.q8rows = fr_q8rows_avx2;
        k.q8name = "avx2";
    }
    if (isa == FR_ISA_AVX512 && __builtin_cpu_supports("avx512bf16")) {
        k.bf16step = fr_bf16step_avx512;
        k.bf16rows = fr_bf16rows_avx512;
    }
#else
    (void)isa;
#endif
    return k;
}

/* Use the low-precision kernels of ``isa`` (fastrnn._kernels: with the step
 * kernels, once, at import). */
static inline void fr_lowp_use(int isa) { fr_lowp = fr_lowp_kernels_for(isa); }

static inline const char *fr_lowp_int8_name(void) { return fr_lowp.q8name; }
static inline int fr_lowp_has_bf16(void) { return fr_lowp.bf16step != NULL; }
static inline int fr_lowp_has_bf16_in(const fr_lowp_kernels *k) { return k->bf16step != NULL; }

/* Convert rows of A (m x k) for a product at ``precision``: into Q (rows of
 * row_bytes, at least fr_lowp_row_bytes) and, for int8, row_scales (m). */
static inline void fr_lowp_rows(int precision, int m, int k, const float *A, ptrdiff_t lda,
                                uint8_t *Q, ptrdiff_t row_bytes, float *row_scales)
{
    if (precision == FR_PRECISION_INT8)
        fr_lowp.q8rows(m, k, A, lda, Q, row_bytes, row_scales);
    else
        fr_lowp.bf16rows(m, k, A, lda, Q, row_bytes, row_scales);
}

/* C (m x n) = beta * C + (rows converted by fr_lowp_rows) @ B; with ``bias``
 * (n values), C = bias + that product instead. */
static inline void fr_lowp_product(int precision, int m, int n, int k, const uint8_t *Q,
                                   ptrdiff_t row_bytes, const float *row_scales,
                                   const uint8_t *blob, float beta, const float *bias, float *C,
                                   int ldc)
{
    if (m <= 0 || n <= 0)
        return;
    if (precision == FR_PRECISION_INT8)
        fr_lowp.q8step(m, n, k, Q, row_bytes, row_scales, blob, beta, bias, C, ldc);
    else
        fr_lowp.bf16step(m, n, k, Q, row_bytes, row_scales, blob, beta, bias, C, ldc);
}

/* C (m x n) = beta * C + A (m x k) @ B (with ``bias``: bias + A @ B), B
 * packed at ``precision`` (int8: fr_q8_pack, bf16: fr_bf16_pack) by the
 * kernels ``kern``; Q (m rows of row_bytes, at least fr_lowp_row_bytes) and
 * row_scales (m) are the caller's scratch.  bf16 needs a kernel
 * (kern->bf16step not NULL). */
static inline void fr_lowp_step_with(const fr_lowp_kernels *kern, int precision, int m, int n,
                                     int k, const float *A, ptrdiff_t lda, const uint8_t *blob,
                                     float beta, const float *bias, float *C, int ldc,
                                     uint8_t *Q, ptrdiff_t row_bytes, float *row_scales)
{
    if (m <= 0 || n <= 0)
        return;
    if (precision == FR_PRECISION_INT8) {
        kern->q8rows(m, k, A, lda, Q, row_bytes, row_scales);
        kern->q8step(m, n, k, Q, row_bytes, row_scales, blob, beta, bias, C, ldc);
    } else {
        kern->bf16rows(m, k, A, lda, Q, row_bytes, row_scales);
        kern->bf16step(m, n, k, Q, row_bytes, row_scales, blob, beta, bias, C, ldc);
    }
}

/* The same with the kernels in use. */
static inline void fr_lowp_step(int precision, int m, int n, int k, const float *A,
                                ptrdiff_t lda, const uint8_t *blob, float beta, float *C,
                                int ldc, uint8_t *Q, ptrdiff_t row_bytes, float *row_scales)
{
    fr_lowp_step_with(&fr_lowp, precision, m, n, k, A, lda, blob, beta, NULL, C, ldc, Q,
                      row_bytes, row_scales);
}

#endif /* FASTRNN_LOWPGEMM_H */

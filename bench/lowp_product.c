/*
 * The low-precision step products (csrc/lowpgemm.h) against their
 * instruction's peak on this core, beside the float32 step kernel
 * (csrc/stepgemm.h): GMAC/s (multiply-adds per second) of
 *
 *   peak      a register-only loop of the kernel's instruction, 12
 *             independent chains (FMA, vpdpbusd, vdpbf16ps; AVX2 int8: the
 *             kernel's sign / maddubs / madd / add sequence on ymm);
 *   product   C (m x n) = A (m x k) @ B, one thread, weights packed once,
 *             A's rows converted at every call as the time loops do.
 *
 * Build and run (x86-64, GCC or Clang):
 *
 *   gcc -O3 -fno-math-errno -fno-trapping-math -Icsrc bench/lowp_product.c -o /tmp/lowp -lm
 *   /tmp/lowp            # default shapes: m = 1, 8, 64 with n = 1024, k = 256 (LSTM H = 256)
 *   /tmp/lowp 16 4096 1024
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lowpgemm.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

#define CHAINS 12
#define REPS 2000000

FR_TARGET_AVX512 static double peak_fma(void)
{
    __m512 acc[CHAINS], a = _mm512_set1_ps(1.0f), b = _mm512_set1_ps(1e-9f);
    double t0;
    long i;
    int c;
    for (c = 0; c < CHAINS; c++)
        acc[c] = _mm512_setzero_ps();
    t0 = now();
    for (i = 0; i < REPS; i++)
        for (c = 0; c < CHAINS; c++)
            acc[c] = _mm512_fmadd_ps(a, b, acc[c]);
    t0 = now() - t0;
    for (c = 1; c < CHAINS; c++)
        acc[0] = _mm512_add_ps(acc[0], acc[c]);
    if (_mm512_reduce_add_ps(acc[0]) == 42.0f)
        puts("");
    return (double)REPS * CHAINS * 16 / t0 * 1e-9;
}

FR_TARGET_VNNI static double peak_vnni(void)
{
    __m512i acc[CHAINS], a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(1);
    double t0;
    long i;
    int c;
    for (c = 0; c < CHAINS; c++)
        acc[c] = _mm512_setzero_si512();
    t0 = now();
    for (i = 0; i < REPS; i++)
        for (c = 0; c < CHAINS; c++)
            acc[c] = _mm512_dpbusd_epi32(acc[c], a, b);
    t0 = now() - t0;
    for (c = 1; c < CHAINS; c++)
        acc[0] = _mm512_add_epi32(acc[0], acc[c]);
    if (_mm512_reduce_add_epi32(acc[0]) == 42)
        puts("");
    return (double)REPS * CHAINS * 64 / t0 * 1e-9;
}

FR_TARGET_BF16 static double peak_bf16(void)
{
    __m512 acc[CHAINS];
    __m512i a = _mm512_set1_epi16(0x3f80), b = _mm512_set1_epi16(0x3000);
    double t0;
    long i;
    int c;
    for (c = 0; c < CHAINS; c++)
        acc[c] = _mm512_setzero_ps();
    t0 = now();
    for (i = 0; i < REPS; i++)
        for (c = 0; c < CHAINS; c++)
            acc[c] = _mm512_dpbf16_ps(acc[c], (__m512bh)a, (__m512bh)b);
    t0 = now() - t0;
    for (c = 1; c < CHAINS; c++)
        acc[0] = _mm512_add_ps(acc[0], acc[c]);
    if (_mm512_reduce_add_ps(acc[0]) == 42.0f)
        puts("");
    return (double)REPS * CHAINS * 32 / t0 * 1e-9;
}

FR_TARGET_AVX2 static double peak_avx2_int8(void)
{
    /* 6 chains, each with its own b (16 ymm registers: 6 sums, 6 b, a, |a|,
     * ones and a temporary), so no two chains share a sign or a maddubs. */
    __m256i acc[6], b[6], a = _mm256_set1_epi8(1);
    const __m256i ones = _mm256_set1_epi16(1);
    double t0;
    long i;
    int c;
    for (c = 0; c < 6; c++) {
        acc[c] = _mm256_setzero_si256();
        b[c] = _mm256_set1_epi8((char)(c + 1));
    }
    t0 = now();
    for (i = 0; i < REPS; i++) {
        __m256i abs_a;
        __asm__("" : "+x"(a));   /* a is opaque: nothing is hoisted out of the loop */
        abs_a = _mm256_abs_epi8(a);
        for (c = 0; c < 6; c++)
            acc[c] = _mm256_add_epi32(acc[c], _mm256_madd_epi16(
                _mm256_maddubs_epi16(abs_a, _mm256_sign_epi8(b[c], a)), ones));
    }
    t0 = now() - t0;
    for (c = 1; c < 6; c++)
        acc[0] = _mm256_add_epi32(acc[0], acc[c]);
    if (_mm256_extract_epi32(acc[0], 0) == 42)
        puts("");
    return (double)REPS * 6 * 32 / t0 * 1e-9;
}

typedef struct {
    const char *name;
    int isa, precision;
} variant;

static double product_rate(variant v, int m, int n, int k, const float *A, const float *W, float *C)
{
    const size_t bytes = v.precision == FR_PRECISION_NATIVE ? (size_t)n * k * 4
                                                             : fr_lowp_bytes(v.precision, k, n);
    void *B = aligned_alloc(64, (bytes + 63) / 64 * 64);
    const ptrdiff_t row_bytes = fr_lowp_row_bytes(FR_PRECISION_BF16, k);
    uint8_t *Q = malloc((size_t)row_bytes * m);
    float *scales = malloc(sizeof(float) * m);
    fr_step_kernels step = fr_step_kernels_for(v.isa);
    fr_lowp_kernels low = fr_lowp_kernels_for(v.isa);
    double best = 1e30;
    int reps = (int)(3e8 / ((double)m * n * k)) + 3, t, r;
    if (v.precision == FR_PRECISION_NATIVE)
        step.spack(k, n, W, 1, k, NULL, NULL, (float *)B);
    else if (v.precision == FR_PRECISION_INT8)
        fr_q8_pack(k, n, W, 1, k, NULL, (uint8_t *)B);
    else
        fr_bf16_pack(k, n, W, 1, k, NULL, (uint16_t *)B);
    for (t = 0; t < 7; t++) {
        double t0 = now();
        for (r = 0; r < reps; r++) {
            if (v.precision == FR_PRECISION_NATIVE)
                step.sstep(m, n, k, A, k, 1, (const float *)B, 0, C, n);
            else
                fr_lowp_step_with(&low, v.precision, m, n, k, A, k, (const uint8_t *)B, 0, NULL,
                                  C, n, Q, row_bytes, scales);
        }
        t0 = (now() - t0) / reps;
        best = t0 < best ? t0 : best;
    }
    free(B);
    free(Q);
    free(scales);
    return (double)m * n * k / best * 1e-9;
}

int main(int argc, char **argv)
{
    int shapes[3][3] = {{1, 1024, 256}, {8, 1024, 256}, {64, 1024, 256}}, nshapes = 3, s, i;
    variant all[] = {{"float32 avx512", FR_ISA_AVX512, FR_PRECISION_NATIVE},
                     {"int8 avx512-vnni", FR_ISA_AVX512, FR_PRECISION_INT8},
                     {"bf16 avx512-bf16", FR_ISA_AVX512, FR_PRECISION_BF16},
                     {"float32 avx2", FR_ISA_AVX2, FR_PRECISION_NATIVE},
                     {"int8 avx2", FR_ISA_AVX2, FR_PRECISION_INT8},
                     {"float32 baseline", FR_ISA_BASELINE, FR_PRECISION_NATIVE},
                     {"int8 portable", FR_ISA_BASELINE, FR_PRECISION_INT8}};
    __builtin_cpu_init();
    const int avx2 = fr_cpu_runs(FR_ISA_AVX2), avx512 = fr_cpu_runs(FR_ISA_AVX512);
    const int vnni = avx512 && __builtin_cpu_supports("avx512vnni");
    const int bf16 = avx512 && __builtin_cpu_supports("avx512bf16");
    if (argc == 4) {
        shapes[0][0] = atoi(argv[1]);
        shapes[0][1] = atoi(argv[2]);
        shapes[0][2] = atoi(argv[3]);
        nshapes = 1;
    }
    printf("instruction peaks, one core (GMAC/s):");
    if (avx512)
        printf(" fma zmm %.0f;", peak_fma());
    if (vnni)
        printf(" vpdpbusd zmm %.0f;", peak_vnni());
    if (bf16)
        printf(" vdpbf16ps zmm %.0f;", peak_bf16());
    if (avx2)
        printf(" avx2 int8 sequence %.0f;", peak_avx2_int8());
    printf("\n");
    for (s = 0; s < nshapes; s++) {
        const int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        float *A = malloc(sizeof(float) * m * k), *W = malloc(sizeof(float) * n * k);
        float *C = malloc(sizeof(float) * m * n);
        for (i = 0; i < m * k; i++)
            A[i] = (float)rand() / RAND_MAX - 0.5f;
        for (i = 0; i < n * k; i++)
            W[i] = (float)rand() / RAND_MAX - 0.5f;
        printf("m=%d n=%d k=%d:", m, n, k);
        for (i = 0; i < (int)(sizeof all / sizeof all[0]); i++) {
            variant v = all[i];
            if ((v.isa == FR_ISA_AVX512 && !avx512) || (v.isa == FR_ISA_AVX2 && !avx2)
                || (v.precision == FR_PRECISION_BF16 && !bf16)
                || (v.isa == FR_ISA_AVX512 && v.precision == FR_PRECISION_INT8 && !vnni))
                continue;
            printf("  %s %.0f", v.name, product_rate(v, m, n, k, A, W, C));
        }
        printf("\n");
        free(A);
        free(W);
        free(C);
    }
    return 0;
}

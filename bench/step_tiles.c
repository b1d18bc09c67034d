/*
 * Register tiles of the step kernel (csrc/stepgemm.h), measured on one core:
 * C (m x n) = A (m x k) @ B (k x n) with B packed, for the candidate tile
 * shapes of each instruction set, in GF/s (best of 5 rounds).  At m = 1 (batch
 * 1: a matrix-vector product, each value of B used once) it also prints the
 * GB/s of B streamed, beside a plain read of the same bytes from the same
 * cache level (the bandwidth that bounds it).
 *
 *   gcc -O3 -Icsrc bench/step_tiles.c -o /tmp/step_tiles && /tmp/step_tiles
 *   /tmp/step_tiles 16 1024 256      (one shape: m n k)
 *
 * Candidates that need AVX-512 are skipped on CPUs without it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "stepgemm.h"

/* Candidate geometries beside the library's (fr_sbase, fr_snarrow, fr_swide). */
FR_DEFINE_STEPGEMM(fr_scand_y8x3, float, fr_vf, 8, 8, 3)
FR_DEFINE_STEPGEMM(fr_scand_z6x4, float, fr_vf64, 16, 6, 4)
FR_DEFINE_STEPGEMM(fr_scand_z4x4, float, fr_vf64, 16, 4, 4)
FR_DEFINE_STEPGEMM(fr_scand_z12x2, float, fr_vf64, 16, 12, 2)
FR_DEFINE_STEPGEMM(fr_scand_z4x6, float, fr_vf64, 16, 4, 6)

FR_STEP_ENTRY(cand_y8x3, FR_TARGET_AVX512, s, cand_y8x3, float)
FR_STEP_ENTRY(cand_z6x4, FR_TARGET_AVX512, s, cand_z6x4, float)
FR_STEP_ENTRY(cand_z4x4, FR_TARGET_AVX512, s, cand_z4x4, float)
FR_STEP_ENTRY(cand_z12x2, FR_TARGET_AVX512, s, cand_z12x2, float)
FR_STEP_ENTRY(cand_z4x6, FR_TARGET_AVX512, s, cand_z4x6, float)

/* The sum of n floats, read with 8 accumulators: the read bandwidth. */
FR_TARGET_AVX2 static float read_all(const float *x, int n)
{
    fr_vf acc[8] = {{0}};
    int i, v;
    for (i = 0; i + 64 <= n; i += 64)
        for (v = 0; v < 8; v++)
            acc[v] += *(const fr_vf *)(x + i + 8 * v);
    for (v = 1; v < 8; v++)
        acc[0] += acc[v];
    return acc[0][0] + acc[0][7];
}

typedef struct {
    const char *name;
    int isa;
    fr_sstep_fn step;
    fr_spack_fn pack;
} candidate;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static void run(int m, int n, int k)
{
    const candidate cands[] = {
        {"baseline xmm 4x3 (library)", FR_ISA_BASELINE, fr_sstep_baseline, fr_spack_baseline},
        {"avx2     ymm 4x3 (library)", FR_ISA_AVX2, fr_sstep_avx2, fr_spack_avx2},
        {"avx512   ymm 8x3", FR_ISA_AVX512, fr_sstep_cand_y8x3, fr_spack_cand_y8x3},
        {"avx512   zmm 8x3 (library)", FR_ISA_AVX512, fr_sstep_avx512, fr_spack_avx512},
        {"avx512   zmm 6x4", FR_ISA_AVX512, fr_sstep_cand_z6x4, fr_spack_cand_z6x4},
        {"avx512   zmm 4x4", FR_ISA_AVX512, fr_sstep_cand_z4x4, fr_spack_cand_z4x4},
        {"avx512   zmm 12x2", FR_ISA_AVX512, fr_sstep_cand_z12x2, fr_spack_cand_z12x2},
        {"avx512   zmm 4x6", FR_ISA_AVX512, fr_sstep_cand_z4x6, fr_spack_cand_z4x6},
    };
    float *A = aligned_alloc(64, sizeof(float) * m * k + 64);
    float *B = aligned_alloc(64, sizeof(float) * k * n + 64);
    float *Bp = aligned_alloc(64, sizeof(float) * k * n + 64);
    float *C = aligned_alloc(64, sizeof(float) * m * n + 64);
    double flops = 2.0 * m * n * k;
    int reps = (int)(2e9 / flops) + 1, i, c, round;
    for (i = 0; i < m * k; i++) A[i] = (float)(i % 7) * 0.1f;
    for (i = 0; i < k * n; i++) B[i] = (float)(i % 5) * 0.1f;
    for (c = 0; c < (int)(sizeof cands / sizeof cands[0]); c++) {
        double best = 0;
        if (!fr_cpu_runs(cands[c].isa))
            continue;
        cands[c].pack(k, n, B, n, 1, NULL, NULL, Bp);
        for (round = 0; round < 5; round++) {
            double t0 = now(), t;
            for (i = 0; i < reps; i++)
                cands[c].step(m, n, k, A, k, 1, Bp, 0.0f, C, n);
            t = now() - t0;
            if (flops * reps / t / 1e9 > best)
                best = flops * reps / t / 1e9;
        }
        if (m == 1)
            printf("m=%-3d n=%-5d k=%-4d %-28s %6.1f GF/s %6.1f GB/s of B\n", m, n, k,
                   cands[c].name, best, best * sizeof(float) / 2.0);
        else
            printf("m=%-3d n=%-5d k=%-4d %-28s %6.1f GF/s\n", m, n, k, cands[c].name, best);
    }
    if (m == 1 && fr_cpu_runs(FR_ISA_AVX2)) {
        double best = 0;
        volatile float sink = 0;
        for (round = 0; round < 5; round++) {
            double t0 = now(), t;
            for (i = 0; i < reps; i++)
                sink += read_all(Bp, k * n);
            t = now() - t0;
            if (sizeof(float) * k * n * reps / t / 1e9 > best)
                best = sizeof(float) * k * n * reps / t / 1e9;
        }
        printf("m=%-3d n=%-5d k=%-4d %-28s %6.1f GB/s (%d KiB)\n", m, n, k,
               "read B, 8 ymm accumulators", best, (int)(sizeof(float) * k * n / 1024));
    }
    free(A); free(B); free(Bp); free(C);
}

int main(int argc, char **argv)
{
    static const int ms[] = {1, 4, 8, 16, 32};
    int i;
    if (argc == 4) {
        run(atoi(argv[1]), atoi(argv[2]), atoi(argv[3]));
        return 0;
    }
    for (i = 0; i < 5; i++)
        run(ms[i], 1024, 256);
    return 0;
}

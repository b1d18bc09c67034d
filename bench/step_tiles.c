/*
 * Register tiles of the step kernel (csrc/stepgemm.h), measured on one core:
 * C (m x n) = A (m x k) @ B (k x n) with B packed, for the candidate tile
 * shapes of each instruction set, in GF/s (best of 5 rounds).
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
FR_DEFINE_STEPGEMM(cand_y8x3, float, fr_vf, 8, 8, 3)
FR_DEFINE_STEPGEMM(cand_z6x4, float, fr_vf64, 16, 6, 4)
FR_DEFINE_STEPGEMM(cand_z4x4, float, fr_vf64, 16, 4, 4)
FR_DEFINE_STEPGEMM(cand_z12x2, float, fr_vf64, 16, 12, 2)
FR_DEFINE_STEPGEMM(cand_z4x6, float, fr_vf64, 16, 4, 6)

FR_STEP_ENTRY(cand_avx512_y8x3, FR_TARGET_AVX512, cand_y8x3, float)
FR_STEP_ENTRY(cand_avx512_z6x4, FR_TARGET_AVX512, cand_z6x4, float)
FR_STEP_ENTRY(cand_avx512_z4x4, FR_TARGET_AVX512, cand_z4x4, float)
FR_STEP_ENTRY(cand_avx512_z12x2, FR_TARGET_AVX512, cand_z12x2, float)
FR_STEP_ENTRY(cand_avx512_z4x6, FR_TARGET_AVX512, cand_z4x6, float)

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
        {"baseline xmm 4x3 (library)", FR_ISA_BASELINE, fr_sstep_baseline, fr_sbase_pack},
        {"avx2     ymm 4x3 (library)", FR_ISA_AVX2, fr_sstep_avx2, fr_snarrow_pack},
        {"avx512   ymm 8x3", FR_ISA_AVX512, cand_avx512_y8x3, cand_y8x3_pack},
        {"avx512   zmm 8x3 (library)", FR_ISA_AVX512, fr_sstep_avx512, fr_swide_pack},
        {"avx512   zmm 6x4", FR_ISA_AVX512, cand_avx512_z6x4, cand_z6x4_pack},
        {"avx512   zmm 4x4", FR_ISA_AVX512, cand_avx512_z4x4, cand_z4x4_pack},
        {"avx512   zmm 12x2", FR_ISA_AVX512, cand_avx512_z12x2, cand_z12x2_pack},
        {"avx512   zmm 4x6", FR_ISA_AVX512, cand_avx512_z4x6, cand_z4x6_pack},
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
        printf("m=%-3d n=%-5d k=%-4d %-28s %6.1f GF/s\n", m, n, k, cands[c].name, best);
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

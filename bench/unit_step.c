/*
 * One step of the hidden-unit split, taken apart (batch 1, LSTM-sized
 * product: the 4H gate columns shared by the threads, k = H):
 *
 *   1. the barrier that ends a step: OpenMP's `#pragma omp barrier` against
 *      the split's own (csrc/barrier.h), alone;
 *   2. a whole step -- product of the state by this thread's columns of the
 *      packed W_hh^T, its units of the new state written, barrier -- with the
 *      product reading the shared state where the other threads wrote it
 *      ("direct"), after a prefetch of its lines, or from this thread's copy
 *      made first ("copy", what the kernels do); and on a private state that
 *      no other thread writes ("private": the step without the exchange).
 *
 *   gcc -O3 -fopenmp -Icsrc bench/unit_step.c -o /tmp/unit_step && /tmp/unit_step [H] [threads]
 *
 * Microseconds per step, each the best of 4 rounds of 20000 steps.
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include "barrier.h"
#include "stepgemm.h"

enum { STEPS = 20000, ROUNDS = 4 };

static double barrier_us(int nt, int own)
{
    fr_team_barrier b;
    double best = 1e30;
    fr_team_barrier_init(&b, nt, omp_get_num_procs());
    for (int round = 0; round < ROUNDS; round++) {
        double t0 = omp_get_wtime();
#pragma omp parallel num_threads(nt)
        for (int s = 0; s < STEPS; s++) {
            if (own)
                fr_team_barrier_wait(&b, nt);
            else {
#pragma omp barrier
            }
        }
        double us = (omp_get_wtime() - t0) / STEPS * 1e6;
        best = us < best ? us : best;
    }
    return best;
}

int main(int argc, char **argv)
{
    int H = argc > 1 ? atoi(argv[1]) : 128, nt = argc > 2 ? atoi(argv[2]) : 2;
    int N = 4 * H, nc = N / nt, nu = H / nt;
    static const char *names[] = {"direct", "prefetch", "copy", "private"};
    float *W = aligned_alloc(64, sizeof(float) * N * H), *Bp = aligned_alloc(64, sizeof(float) * N * H);
    float *S = aligned_alloc(64, sizeof(float) * N), *h[2];
    fr_team_barrier b;
    if (N % nt || H % nt) {
        fprintf(stderr, "H and 4H must split evenly over %d threads\n", nt);
        return 1;
    }
    for (int i = 0; i < 2; i++) {
        h[i] = aligned_alloc(64, sizeof(float) * H);
        for (int u = 0; u < H; u++)
            h[i][u] = 0.01f;
    }
    for (int i = 0; i < N * H; i++)
        W[i] = (float)(rand() % 100) * 1e-4f;
    fr_stepgemm_use(fr_cpu_isa());
    for (int t = 0; t < nt; t++)
        fr_spack(H, nc, W + (size_t)t * nc * H, H, 1, NULL, NULL, Bp + (size_t)t * nc * H);
    printf("%d threads, H=%d, step kernel %s\n", nt, H, fr_stepgemm_isa());
    printf("barrier alone: omp %.3f us, csrc/barrier.h %.3f us\n", barrier_us(nt, 0),
           barrier_us(nt, 1));
    fr_team_barrier_init(&b, nt, omp_get_num_procs());
    for (int variant = 0; variant < 4; variant++) {
        double best = 1e30;
        for (int round = 0; round < ROUNDS; round++) {
            double t0 = omp_get_wtime();
#pragma omp parallel num_threads(nt)
            {
                int tid = omp_get_thread_num(), u0 = tid * nu;
                float *mine = aligned_alloc(64, sizeof(float) * H);
                for (int u = 0; u < H; u++)
                    mine[u] = 0.01f;
                for (int s = 0; s < STEPS; s++) {
                    const float *cur = h[s & 1], *a = cur;
                    float *nxt = h[(s + 1) & 1];
                    if (variant == 1)
                        for (int u = 0; u < H; u += 16)
                            __builtin_prefetch(cur + u);
                    if (variant == 2)
                        for (int u = 0; u < H; u++)
                            mine[u] = cur[u];
                    if (variant >= 2)
                        a = mine;
                    fr_sstep(1, nc, H, a, H, 1, Bp + (size_t)tid * nc * H, 0, S + tid * nc, N);
                    for (int u = 0; u < nu; u++)
                        (variant == 3 ? mine : nxt)[u0 + u] = 0.5f * S[tid * nc + u] + 0.001f;
                    fr_team_barrier_wait(&b, nt);
                }
                free(mine);
            }
            double us = (omp_get_wtime() - t0) / STEPS * 1e6;
            best = us < best ? us : best;
        }
        printf("step, %-8s %.3f us\n", names[variant], best);
    }
    return 0;
}

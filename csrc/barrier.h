/*
 * The barrier that ends each step of the hidden-unit split (one per step,
 * every member of the team).
 *
 * Why not `#pragma omp barrier`: libgomp's team barrier also serves the
 * task scheduler and costs several times more than a plain counter
 * (bench/unit_step.c measures both); at batch 1 a step's product takes only
 * 1-3 us, so the difference was 10-20 % of the loop.
 *
 * A central sense-reversing barrier: each member reads the generation, then
 * adds itself to the count; the last to arrive resets the count and
 * publishes the next generation, the others wait for it.  The release /
 * acquire pairs make every write before the barrier visible after it.  A
 * waiter spins with a pause for FR_BARRIER_SPINS rounds (a few us: longer
 * than a step's usual wait), then yields its core between checks: the
 * member it waits for may need that core to arrive -- after a pause the
 * scheduler can leave two members on one core for milliseconds, and with
 * 4096 spins every step then cost the whole spin (LSTM B=1: 11 ms a call
 * instead of 0.45).  A team larger than the machine's processors spins
 * only FR_BARRIER_SPINS_CROWDED rounds (as libgomp does then): some member
 * is always waiting for a core.
 */
#ifndef FASTRNN_BARRIER_H
#define FASTRNN_BARRIER_H

#include <stdatomic.h>

#if defined(_WIN32)
#include <windows.h>
#define FR_YIELD() SwitchToThread()
#else
#include <sched.h>
#define FR_YIELD() sched_yield()
#endif

#if defined(__x86_64__) || defined(__i386__)
#define FR_PAUSE() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define FR_PAUSE() __asm__ __volatile__("yield")
#else
#define FR_PAUSE() ((void)0)
#endif

#define FR_BARRIER_SPINS 128
#define FR_BARRIER_SPINS_CROWDED 64

typedef struct {
    _Atomic int arrived;
    char pad[60];             /* the two counters on separate cache lines */
    _Atomic int generation;
    int spins;
} fr_team_barrier;

/* A barrier for a team of ``team`` threads on a machine of ``procs``. */
static inline void fr_team_barrier_init(fr_team_barrier *b, int team, int procs)
{
    atomic_init(&b->arrived, 0);
    atomic_init(&b->generation, 0);
    b->spins = team <= procs ? FR_BARRIER_SPINS : FR_BARRIER_SPINS_CROWDED;
}

/* Wait until all ``n`` members of the team have arrived (n <= 1: return). */
static inline void fr_team_barrier_wait(fr_team_barrier *b, int n)
{
    int gen, spins = 0;
    if (n <= 1)
        return;
    gen = atomic_load_explicit(&b->generation, memory_order_acquire);
    if (atomic_fetch_add_explicit(&b->arrived, 1, memory_order_acq_rel) == n - 1) {
        atomic_store_explicit(&b->arrived, 0, memory_order_relaxed);
        atomic_store_explicit(&b->generation, gen + 1, memory_order_release);
        return;
    }
    while (atomic_load_explicit(&b->generation, memory_order_acquire) == gen) {
        if (spins < b->spins) {
            spins++;
            FR_PAUSE();
        } else {
            FR_YIELD();
        }
    }
}

#endif /* FASTRNN_BARRIER_H */

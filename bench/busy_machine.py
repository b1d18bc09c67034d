"""fastrnn on 1 and N threads when the machine is not idle.

    python bench/busy_machine.py [--shape B,T,I,H] [--cell lstm] [--rounds 9]

Three conditions, each timing one inference call of a layer on 1 thread and
on every core (alternating, median of ``--rounds`` blocks):

* ``idle``: nothing else runs;
* ``busy``: another process keeps one core busy (a spinning Python loop);
* ``after numpy``: each timed call comes right after a threaded numpy
  matrix product, whose OpenBLAS workers keep spinning for a while after it
  returns (on the cores fastrnn's threads need).

The target (issue "Performance III"): N threads never slower than 1 thread,
i.e. the ratio N / 1 at most 1.05 in every condition.  fastrnn's dynamic
threads (``set_num_threads(n, dynamic=True)``, the default) are what meets
it: pass ``--fixed`` to measure a fixed team of N instead.
"""
import argparse
import multiprocessing as mp
import os
import statistics
import time

import numpy as np

import fastrnn as fr


def _spin(stop):
    while not stop.is_set():
        pass


def _block(call, before, seconds=0.25):
    """Seconds per call over a block of ``seconds`` (``before()`` untimed
    ahead of each call's timing)."""
    total, n = 0.0, 0
    while total < seconds or n < 3:
        before()
        t0 = time.perf_counter()
        call()
        total += time.perf_counter() - t0
        n += 1
    return total / n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", default="16,100,256,256", help="B,T,I,H")
    ap.add_argument("--cell", default="lstm", choices=["lstm", "gru", "rnn"])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--fixed", action="store_true", help="dynamic=False: always N threads")
    args = ap.parse_args()
    B, T, I, H = (int(v) for v in args.shape.split(","))
    cores = len(os.sched_getaffinity(0))
    layer = {"lstm": fr.LSTM, "gru": fr.GRU, "rnn": fr.RNN}[args.cell](I, H, seed=0)
    x = np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32)
    a = np.random.default_rng(1).standard_normal((512, 512)).astype(np.float32)
    layer(x)

    def numpy_product():
        a @ a   # numpy's own threaded BLAS, as a user's code would call it

    conditions = [("idle", lambda: None), ("busy", lambda: None),
                  ("after numpy", numpy_product)]
    print(f"fastrnn {fr.__version__}; {args.cell} B={B} T={T} I={I} H={H}, inference; "
          f"{cores} cores; {'fixed' if args.fixed else 'dynamic'} threads")
    print(f"{'condition':12} | {'1 thread ms':>11} {f'{cores} threads ms':>13} {'ratio':>6}")
    for name, before in conditions:
        stop, spinner = None, None
        if name == "busy":
            stop = mp.get_context("spawn").Event()
            spinner = mp.get_context("spawn").Process(target=_spin, args=(stop,))
            spinner.start()
            time.sleep(0.5)
        times = {1: [], cores: []}
        try:
            for _ in range(args.rounds):
                for n in (1, cores):
                    fr.set_num_threads(n, dynamic=not args.fixed)
                    time.sleep(0.05)
                    times[n].append(_block(lambda: layer(x), before))
        finally:
            if spinner is not None:
                stop.set()
                spinner.join()
        one, many = (statistics.median(times[n]) * 1e3 for n in (1, cores))
        print(f"{name:12} | {one:11.2f} {many:13.2f} {many / one:6.2f}", flush=True)


if __name__ == "__main__":
    main()

"""Packing the weights for the step kernel, per kernel build, against copies.

    python bench/pack_speed.py [--shapes 512,128 1024,256 ...] [--rounds 7]

Every layer call packs W_ih and W_hh (PyTorch's (gates * H, I) layout) as
the step kernel's B operand, W^T in column panels: a transposing copy.  At
batch 1 that pass is a visible part of the call (perf: 13 % of an LSTM
forward, B=1, T=100, H=128, when it went element by element).  Prints, per
build and weight shape, the median time of ``_recurrent.pack(w,
transposed=True)`` and GB/s of weights packed, beside numpy's plain copy of
the same bytes and numpy's transposing copy (``ascontiguousarray(w.T)``),
one thread, with the CPU's instruction sets and the date.
"""
import argparse
import datetime
import time

import numpy as np

from kernel_builds import build_modules, cpu_line


def median_time(f, rounds, calls=20):
    f()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(calls):
            f()
        times.append((time.perf_counter() - t0) / calls)
    return float(np.median(times))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", nargs="*",
                    default=["384,128", "512,128", "1024,256", "768,256", "2048,512"])
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    builds, modules = build_modules()
    print(f"{datetime.date.today()}; {cpu_line()}; float32; one thread; medians of "
          f"{args.rounds} x 20 calls; GB/s = weight bytes / time")
    print(f"{'W shape':>11} | " + " | ".join(f"{b + ' pack':>19}" for b in builds)
          + " | numpy copy         | numpy w.T copy")
    for shape in args.shapes:
        rows, cols = (int(v) for v in shape.split(","))
        w = np.random.default_rng(0).standard_normal((rows, cols)).astype(np.float32)
        out = np.empty(w.size, np.float32)
        cells = []
        for module in modules:
            t = median_time(lambda m=module: m.pack(w, True, out=out), args.rounds)
            cells.append(t)
        flat = np.empty_like(w)
        cells.append(median_time(lambda: np.copyto(flat, w), args.rounds))
        cells.append(median_time(lambda: np.ascontiguousarray(w.T), args.rounds))
        print(f"{shape:>11} | " + " | ".join(
            f"{t * 1e6:7.1f} us {w.nbytes / t / 1e9:5.1f} GB/s" for t in cells), flush=True)


if __name__ == "__main__":
    main()

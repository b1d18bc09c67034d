"""The kernel builds this CPU runs (baseline, AVX2, AVX-512) side by side.

    python bench/kernel_builds.py [--shapes B,T,I,H ...] [--cells lstm,gru,rnn]
                                  [--modes infer,train] [--rounds 5]

One process, one layer per cell and shape; the builds alternate in blocks
(``fastrnn.benchmark.interleaved``) by switching the kernel module that
``fastrnn.functional`` calls, each with its own step kernel.  Prints medians
and each build's time over the AVX2 build's, with the CPU's instruction
sets and the date: paste the table into bench/RESULTS.md with the commit.
"""
import argparse
import datetime
import importlib

import numpy as np

import fastrnn as fr
from fastrnn import _kernels, benchmark
from fastrnn import functional as F
from fastrnn.benchmark import GRID, interleaved


def cpu_line():
    where = benchmark.machine()
    return f"{where['cpu']}; {' '.join(where['isa']) or 'no AVX2'}"


def build_modules():
    """The builds this CPU runs and their kernel modules, each switched to
    its own step kernel."""
    builds = _kernels.installed()
    modules = []
    for name in builds:
        module = importlib.import_module(_kernels.BUILDS[name])
        module.use_kernels(name)
        modules.append(module)
    return builds, modules


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", nargs="*", default=[",".join(map(str, s)) for s in GRID])
    ap.add_argument("--cells", default="lstm,gru,rnn")
    ap.add_argument("--modes", default="infer,train")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    # A fixed team, as `fastrnn bench` runs: dynamic threads would react to a
    # noisy moment and time some blocks on fewer threads.
    fr.set_num_threads(args.threads or fr.get_num_threads(), dynamic=False)
    builds, modules = build_modules()
    ref = builds.index("avx2") if "avx2" in builds else 0
    print(f"{datetime.date.today()}; {cpu_line()}; {fr.get_num_threads()} threads; float32; "
          f"medians of {args.rounds} blocks x 3 calls")
    head = " ".join(f"{b:>9}" for b in builds)
    print(f"{'cell':5} {'mode':5} {'B':>4} {'T':>4} {'H':>5} | ms: {head} | "
          f"over {builds[ref]}: " + " ".join(f"{b:>8}" for b in builds))
    picked = F._recurrent
    try:
        for (B, T, _, H), x, cell, layer in grid_layers(args.shapes, args.cells):
            dy = np.ones((T, B, H), np.float32)
            for mode in args.modes.split(","):
                def call(module, mode=mode, layer=layer):
                    def f():
                        F._recurrent = module
                        if mode == "infer":
                            layer(x)
                        else:
                            (y, _), backprop = layer.forward_train(x)
                            backprop(dy)
                    return f
                times = interleaved([call(m) for m in modules], args.rounds)
                ms = " ".join(f"{t * 1e3:9.3f}" for t in times)
                ratios = " ".join(f"{t / times[ref]:8.2f}" for t in times)
                print(f"{cell:5} {mode:5} {B:4d} {T:4d} {H:5d} | ms: {ms} | "
                      f"{' ' * len('over ' + builds[ref])}  {ratios}", flush=True)
    finally:
        F._recurrent = picked


def grid_layers(shapes, cells):
    """``((B, T, I, H), x, cell, layer)`` for each ``"B,T,I,H"`` shape and
    comma-separated cell name: a float32 time-major input and a fresh
    layer (seed 0), the same in every bench script."""
    for shape in shapes:
        B, T, I, H = (int(v) for v in shape.split(","))
        x = np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32)
        for cell in cells.split(","):
            yield (B, T, I, H), x, cell, {"lstm": fr.LSTM, "gru": fr.GRU, "rnn": fr.RNN}[cell](
                I, H, seed=0)


if __name__ == "__main__":
    main()

"""fastrnn's speed-up from more threads, for each cell and grid shape.

    python bench/thread_scaling.py [--threads 1 2] [--shapes B,T,I,H ...] [--cells lstm,gru]

Same process, same layer, the thread counts alternating in blocks
(``fastrnn.benchmark.interleaved``); prints medians and the speed-up of
each count over the first.  On a machine with more cores pass e.g.
``--threads 1 2 4 8 16``.
"""
import argparse

import numpy as np

import fastrnn as fr
from fastrnn.benchmark import GRID, interleaved


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--shapes", nargs="*", default=[",".join(map(str, s)) for s in GRID[:4]])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--cells", default="lstm,gru,rnn", help="comma-separated: lstm, gru, rnn")
    args = ap.parse_args()
    before = fr.get_num_threads()
    head = " ".join(f"{n:>3} thr ms" for n in args.threads)
    print(f"float32; medians over {args.rounds} rounds x 3 calls; speed-up vs "
          f"{args.threads[0]} thread(s)")
    print(f"{'cell':5} {'mode':5} {'B':>4} {'T':>4} {'H':>5} | {head} | speed-up")
    try:
        for shape in args.shapes:
            B, T, I, H = (int(v) for v in shape.split(","))
            x = np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32)
            cells = {"lstm": fr.LSTM, "gru": fr.GRU, "rnn": fr.RNN}
            for cls in (cells[c] for c in args.cells.split(",")):
                layer = cls(I, H, seed=0)
                for mode in ("infer", "train"):
                    def call(n, mode=mode, layer=layer):
                        def f():
                            fr.set_num_threads(n, dynamic=False)
                            if mode == "infer":
                                layer(x)
                            else:
                                (out, _), backprop = layer.forward_train(x)
                                backprop(np.ones_like(out))
                        return f

                    med = interleaved([call(n) for n in args.threads], args.rounds)
                    times = " ".join(f"{m * 1e3:10.2f}" for m in med)
                    ups = " ".join(f"{med[0] / m:.2f}x" for m in med[1:])
                    print(f"{cls.__name__.lower():5} {mode:5} {B:>4} {T:>4} {H:>5} | {times} | "
                          f"{ups}", flush=True)
    finally:
        fr.set_num_threads(before, dynamic=True)


if __name__ == "__main__":
    main()

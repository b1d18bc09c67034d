"""Both directions of a bidirectional layer: side by side in one kernel
launch (half the threads each) vs one after the other (all threads each).

    python bench/bidirectional_side_by_side.py [--shapes B,T,I,H ...]

fastrnn picks side by side only when the batch is smaller than 4 x the
thread count (``functional._plan``); this script forces each plan in turn
(both with the batch split, no hidden-unit split), in alternating blocks,
and prints medians and the ratio sequential / side by side (above 1: side
by side is faster).
"""
import argparse
import statistics
import time

import numpy as np

import fastrnn as fr
from fastrnn import functional as F


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", nargs="*", default=["1,100,128,128", "4,100,256,256",
                                                    "16,100,256,256"])
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()
    nt = fr.get_num_threads()
    plans = {
        "sequential": lambda problems: F._Plan([[p] for p in problems],
                                               max(1, min(nt, problems[0].B)), False),
        "side by side": lambda problems: F._Plan([problems], max(1, min(nt // 2, problems[0].B)),
                                                 False),
    }
    chosen = F._plan
    print(f"threads={nt}, float32, medians over {args.rounds} rounds")
    for shape in args.shapes:
        B, T, I, H = (int(v) for v in shape.split(","))
        for cls in (fr.LSTM, fr.GRU):
            layer = cls(I, H, bidirectional=True, seed=0)
            x = np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32)

            def train():
                (out, _), backprop = layer.forward_train(x)
                backprop(np.ones_like(out))

            inf = {k: [] for k in plans}
            tr = {k: [] for k in plans}
            try:
                for _ in range(args.rounds):
                    for name, plan in plans.items():
                        F._plan = plan
                        time.sleep(0.02)
                        layer(x)
                        for _ in range(3):
                            t0 = time.perf_counter()
                            layer(x)
                            inf[name].append(time.perf_counter() - t0)
                        t0 = time.perf_counter()
                        train()
                        tr[name].append(time.perf_counter() - t0)
            finally:
                F._plan = chosen
            m = {k: (statistics.median(inf[k]) * 1e3, statistics.median(tr[k]) * 1e3) for k in plans}
            s, p = m["sequential"], m["side by side"]
            print(f"{cls.__name__:4} B={B:<3} H={H:<4} infer seq {s[0]:7.2f} ms side {p[0]:7.2f} ms "
                  f"({s[0] / p[0]:.2f}x) | train seq {s[1]:7.2f} ms side {p[1]:7.2f} ms "
                  f"({s[1] / p[1]:.2f}x)", flush=True)


if __name__ == "__main__":
    main()

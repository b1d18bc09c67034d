"""Small batches: the hidden-unit split (each thread owns blocks of hidden
units of every row; one barrier per step) vs the batch split (each thread
its rows, no barrier).

    python bench/unit_split.py [--batches 1 2 4 8] [--hidden 256 ...] [--rounds 8]
    python bench/unit_split.py --batches 1 --hidden 32 48 64 96 128  (the
        smallest step worth splitting: functional.UNIT_SPLIT_MIN_MACS)

fastrnn splits the units when the batch split would give a thread fewer
than ``functional.UNIT_SPLIT_ROWS`` rows; this script forces each split in
turn (alternating blocks, same process) and prints medians and the ratio
units / batch (below 1: the unit split is faster), with each step's
recurrent multiply-adds (B * gates * H * H).
"""
import argparse
import datetime
import itertools

import numpy as np

import fastrnn as fr
from fastrnn import functional as F
from fastrnn.benchmark import interleaved

from kernel_builds import cpu_line


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, nargs="*", default=[1, 2, 4, 8])
    ap.add_argument("--hidden", type=int, nargs="*", default=[256])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=8)
    args = ap.parse_args()
    T = args.steps
    default = F.UNIT_SPLIT_ROWS, F.UNIT_SPLIT_MIN_MACS, F.UNIT_SPLIT_MIN_CALL_MACS
    F.UNIT_SPLIT_MIN_MACS = F.UNIT_SPLIT_MIN_CALL_MACS = 0
    # A fixed team: dynamic threads, having seen a noisy moment as crowding,
    # ran the forced split on one thread for seconds (units / batch read 1.0).
    threads = fr.get_num_threads()
    fr.set_num_threads(threads, dynamic=False)
    print(f"{datetime.date.today()}; {cpu_line()}; threads={fr.get_num_threads()}, float32, "
          f"T={T}, I=H, medians over {args.rounds} rounds x 3 calls")
    try:
        for B, H in itertools.product(args.batches, args.hidden):
            for cls, gates in ((fr.LSTM, 4), (fr.GRU, 3), (fr.RNN, 1)):
                layer = cls(H, H, seed=0)
                x = np.random.default_rng(0).standard_normal((T, B, H)).astype(np.float32)

                def call(rows, train):
                    def f():
                        F.UNIT_SPLIT_ROWS = rows
                        if train:
                            (out, _), backprop = layer.forward_train(x)
                            backprop(np.ones_like(out))
                        else:
                            layer(x)
                    return f

                row = []
                for train in (False, True):
                    batch, units = interleaved([call(0, train), call(1 << 30, train)], args.rounds)
                    row.append(f"{'train' if train else 'infer'} batch {batch * 1e3:7.2f} ms "
                               f"units {units * 1e3:7.2f} ms ({units / batch:.2f})")
                print(f"{cls.__name__:4} B={B:<3} H={H:<4} {B * gates * H * H:>7} MACs "
                      + " | ".join(row), flush=True)
    finally:
        F.UNIT_SPLIT_ROWS, F.UNIT_SPLIT_MIN_MACS, F.UNIT_SPLIT_MIN_CALL_MACS = default
        fr.set_num_threads(threads, dynamic=True)


if __name__ == "__main__":
    main()

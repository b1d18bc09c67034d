"""What training's copies of the caller's data cost (time and memory).

    python bench/kept_inputs.py [--shapes B,T,I,H ...] [--rounds 9]

``forward_train`` keeps private copies of what backprop reads and the caller
could change in between -- the first layer's input and every layer's
weights (``functional._DirectionCall.keep_for_backward``) -- so that a reused
input buffer or an optimizer step before backprop cannot give wrong
gradients.  This script times ``forward_train`` + ``backprop`` of a
one-layer LSTM (float32, full lengths) with those copies and with the
previous behaviour (references to the caller's arrays, no copies), in
alternating blocks in one process, and prints the medians, their ratio,
and the memory the copies hold between the forward and the backprop next
to the training workspace itself (gates, states before each step and cell
states: ``T*B*(4H + 2H)`` values).
"""
import argparse
import time

import numpy as np

import fastrnn as fr
from fastrnn import functional as F

_KEEP = F._DirectionCall.keep_for_backward


def _references(self, x_private, units, first=None):
    """The behaviour before the copies: the caller's arrays as they are (and
    W_hh packed for the backward, which it packed at backprop time)."""
    if first is not None:
        self.x, self.ids, self.emb = first.x, first.ids, first.emb
    if not units:
        self.w_hh_packed = self.packed_recurrent_weights(transposed=False)


def _step(layer, x, dout):
    (out, _), backprop = layer.forward_train(x)
    backprop(dout)


def _kept_bytes(layer, x):
    """What the copies hold from forward_train to backprop: the input and
    the weights (``keep_for_backward``)."""
    weights = sum(a.nbytes for name, a in layer.parameters().items() if name.startswith("weight"))
    return x.nbytes + weights


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", nargs="*", default=["1,100,128,128", "16,100,256,256",
                                                    "64,50,512,512"])
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"fastrnn {fr.__version__}, {fr.get_num_threads()} threads; LSTM float32, "
          f"forward_train + backprop")
    print(f"{'B,T,I,H':>16} | {'refs ms':>8} {'copies ms':>9} {'ratio':>6} | "
          f"{'copies MB':>9} {'workspace MB':>12}")
    for shape in args.shapes:
        B, T, I, H = (int(v) for v in shape.split(","))
        layer = fr.LSTM(I, H, seed=0)
        x = rng.standard_normal((T, B, I)).astype(np.float32)
        dout = np.ones((T, B, H), np.float32)
        t0 = time.perf_counter()
        _step(layer, x, dout)
        reps = max(3, int(0.2 / (time.perf_counter() - t0)))   # blocks of ~0.2 s
        times = {"refs": [], "copies": []}
        for _ in range(args.rounds):
            for variant, keep in (("refs", _references), ("copies", _KEEP)):
                F._DirectionCall.keep_for_backward = keep
                _step(layer, x, dout)
                time.sleep(0.05)
                t0 = time.perf_counter()
                for _ in range(reps):
                    _step(layer, x, dout)
                times[variant].append((time.perf_counter() - t0) / reps)
        F._DirectionCall.keep_for_backward = _KEEP
        refs, copies = (float(np.median(times[v])) * 1e3 for v in ("refs", "copies"))
        print(f"{shape:>16} | {refs:8.3f} {copies:9.3f} {copies / refs:6.3f} | "
              f"{_kept_bytes(layer, x) / 2**20:9.2f} {T * B * 6 * H * 4 / 2**20:12.2f}",
              flush=True)


if __name__ == "__main__":
    main()

"""Memory of one layer call, measured with tracemalloc (numpy reports its
allocations to it).

    python bench/memory.py

For each cell at (B, T, I, H) it prints, in MB:

* inference: the peak of memory allocated during ``recurrent`` beyond the
  arrays it returns (``out``, ``h_n``, ``c_n``), with the workspace pool
  empty (``cold``: everything the call needs) and warm (``warm``: what a
  call allocates in a loop), at T and 2T -- the internal arrays do not grow
  with T (nothing per step);
* training: the peak during ``recurrent_train`` + ``backprop`` beyond what
  they return (``out``, states, ``dx``, ``dh0``, ``dc0``; gradients go into
  preallocated arrays, as in a module), against the workspace the design
  needs -- the gates and the states before each step (``G*H + H`` per row,
  LSTM / GRU ``+ H`` for c or W_hn h) -- and their ratio.
"""
import argparse
import tracemalloc

import numpy as np

from fastrnn import _workspace
from fastrnn import functional as F

MB = 1 / 2**20


def _params(mode, I, H, rng):
    G = F.num_gates(mode)
    s = 1 / np.sqrt(H)
    return [rng.uniform(-s, s, shape).astype(np.float32)
            for shape in ((G * H, I), (G * H, H), (G * H,), (G * H,))]


def _peak(fn):
    """(peak bytes allocated during fn beyond what was live before, result)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    res = fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak, res


def inference(mode, B, T, I, H, rng, cold):
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    w = _params(mode, I, H, rng)
    F.recurrent(mode, x, *w)  # warm the pool (and imports)
    if cold:
        _workspace.clear()
    peak, (out, h, c) = _peak(lambda: F.recurrent(mode, x, *w))
    returned = out.nbytes + h.nbytes + (0 if c is None else c.nbytes)
    return peak - returned


def training(mode, B, T, I, H, rng):
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    w = _params(mode, I, H, rng)
    dout = np.ones((T, B, H), np.float32)
    grads = {k: np.zeros_like(a) for k, a in zip(("w_ih", "w_hh", "b_ih", "b_hh"), w)}
    _workspace.clear()

    def step():
        (out, h, c), backprop = F.recurrent_train(mode, x, *w)
        dx, dh0, dc0, _ = backprop(dout, grads=grads)
        return out, h, c, dx, dh0, dc0

    peak, res = _peak(step)
    returned = sum(a.nbytes for a in res if a is not None)
    G = F.num_gates(mode)
    per_row = G * H + H + (H if mode in ("lstm", "gru") else 0)
    workspace = T * B * per_row * 4
    return peak - returned, workspace


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", nargs="*", default=["1,100,256,256", "16,100,256,256",
                                                    "64,100,512,512"])
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'cell':5} {'B':>3} {'T':>4} {'H':>5} | infer extra MB: cold T, cold 2T, warm T | "
          f"train extra MB vs workspace MB (ratio)")
    for shape in args.shapes:
        B, T, I, H = (int(v) for v in shape.split(","))
        for mode in ("lstm", "gru", "rnn_tanh"):
            cold = inference(mode, B, T, I, H, rng, cold=True)
            cold2 = inference(mode, B, 2 * T, I, H, rng, cold=True)
            warm = inference(mode, B, T, I, H, rng, cold=False)
            extra, need = training(mode, B, T, I, H, rng)
            print(f"{mode[:4]:5} {B:>3} {T:>4} {H:>5} | {cold * MB:8.2f} {cold2 * MB:8.2f} "
                  f"{warm * MB:8.2f} | {extra * MB:8.2f} vs {need * MB:8.2f} "
                  f"({extra / need:.2f}x)", flush=True)


if __name__ == "__main__":
    main()

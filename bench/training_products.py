"""Training's after-loop products against the same products in numpy, and
against the machine's sgemm peak.

    python bench/training_products.py [--shapes B,T,I,H ...] [--cells lstm,gru,rnn]
                                      [--rounds 5] [--threads N]

After the backward time loop, a layer direction computes ``dx = dG @ W_ih``,
``dW_ih += dG^T x`` and ``dW_hh += dG^T h_prev`` over all T * B rows (and
the float64 bias sums), split over fastrnn's threads so that every bit is
the same for any thread count.  This script captures those jobs from one
real training step per cell and shape, then times, in alternating blocks
(one process, each block after a pause):

  fastrnn  ``functional._weight_grads`` on the captured jobs;
  numpy    the same three products (GRU: dW_hh's n rows from its own
           gradient) with numpy's threaded BLAS on as many threads.

and prints medians, GF/s and the share of the sgemm peak (numpy, 1024^3)
measured in the same run, with the CPU's instruction sets and the date.
"""
import argparse
import datetime

import numpy as np
from threadpoolctl import threadpool_limits

import fastrnn as fr
from fastrnn import functional as F
from fastrnn.benchmark import interleaved, sgemm_peak

from kernel_builds import cpu_line

SHAPES = ["16,100,256,256", "64,100,512,512"]


def captured_jobs(cell, B, T, I, H):
    """The weight-gradient jobs of one training step (copies of the arrays)."""
    layer = {"lstm": fr.LSTM, "gru": fr.GRU, "rnn": fr.RNN}[cell](I, H, seed=0)
    x = np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32)
    jobs = []
    run = F._weight_grads

    def capture(given):
        jobs.extend({k: v.copy() if isinstance(v, np.ndarray) else v for k, v in job.items()}
                    for job in given)
        run(given)

    F._weight_grads = capture
    try:
        (y, _), backprop = layer.forward_train(x)
        backprop(np.ones_like(y))
    finally:
        F._weight_grads = run
    return jobs


def numpy_products(job):
    dG, x, h, w_ih = job["dgx"], job["x"], job["hprev"], job["w_ih"]
    H = h.shape[1]
    dx, dw_ih = dG @ w_ih, dG.T @ x
    if job["dghn"] is None:
        return dx, dw_ih, dG.T @ h
    return dx, dw_ih, dG[:, :2 * H].T @ h, job["dghn"].T @ h


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", nargs="*", default=SHAPES)
    ap.add_argument("--cells", default="lstm,gru,rnn")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    fr.set_num_threads(args.threads or fr.get_num_threads(), dynamic=False)
    threads = fr.get_num_threads()
    with threadpool_limits(threads):
        peak = sgemm_peak()
    print(f"{datetime.date.today()}; {cpu_line()}; {threads} threads; float32; medians of "
          f"{args.rounds} blocks x 3 calls; sgemm peak (numpy, 1024^3) {peak:.0f} GF/s")
    print(f"{'cell':5} {'B':>4} {'T':>4} {'I':>5} {'H':>5} | {'fastrnn ms':>10} {'GF/s':>6} "
          f"{'peak':>5} | {'numpy ms':>9} {'GF/s':>6} {'peak':>5} | fastrnn / numpy")
    for shape in args.shapes:
        B, T, I, H = (int(v) for v in shape.split(","))
        for cell in args.cells.split(","):
            jobs = captured_jobs(cell, B, T, I, H)
            N, GH = jobs[0]["dgx"].shape
            flops = 2.0 * N * GH * (2 * I + H) * len(jobs)

            def numpy_all(jobs=jobs):
                with threadpool_limits(threads):
                    for job in jobs:
                        numpy_products(job)

            ours, theirs = interleaved([lambda jobs=jobs: F._weight_grads(jobs), numpy_all],
                                       args.rounds)
            print(f"{cell:5} {B:4d} {T:4d} {I:5d} {H:5d} | {ours * 1e3:10.2f} "
                  f"{flops / ours / 1e9:6.1f} {flops / ours / 1e9 / peak:5.0%} | "
                  f"{theirs * 1e3:9.2f} {flops / theirs / 1e9:6.1f} "
                  f"{flops / theirs / 1e9 / peak:5.0%} | {ours / theirs:.2f}", flush=True)


if __name__ == "__main__":
    main()

"""fastrnn vs torch.nn on the CPU, side by side in one process.

Same weights in both, outputs checked equal before timing, runs alternating
in blocks (see ``interleaved``) so that machine noise hits both alike;
prints medians and the ratio fastrnn / torch (below 1: fastrnn is faster).

    python bench/compare_torch.py                      # the default grid
    python bench/compare_torch.py --cells lstm --shapes 16,100,256,256 --rounds 9
"""
import argparse
import statistics
import time

import numpy as np

import fastrnn as fr

DEFAULT_SHAPES = ["1,100,128,128", "16,100,256,256", "64,100,512,512"]


def build(cell, I, H):
    import torch

    if cell == "lstm":
        return torch.nn.LSTM(I, H), fr.LSTM(I, H)
    if cell == "gru":
        return torch.nn.GRU(I, H), fr.GRU(I, H)
    return torch.nn.RNN(I, H), fr.RNN(I, H)


def interleaved(fns, rounds, per_round=3, settle=0.05):
    """Median seconds of each function, measured in alternating blocks.

    Each round runs every function in turn: a pause (so the other library's
    spinning OpenMP / BLAS worker threads go idle instead of competing for
    the cores), one untimed warm-up call, then ``per_round`` timed calls.
    Per-call interleaving (A B A B) would charge each library for the other's
    spin-waiting threads; alternating blocks keeps the comparison side by
    side in one process without that artefact.
    """
    times = [[] for _ in fns]
    for _ in range(rounds):
        for i, f in enumerate(fns):
            time.sleep(settle)
            f()
            for _ in range(per_round):
                t0 = time.perf_counter()
                f()
                times[i].append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def main():
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", default="lstm,gru,rnn")
    ap.add_argument("--shapes", nargs="*", default=DEFAULT_SHAPES, help="B,T,I,H")
    ap.add_argument("--rounds", type=int, default=5, help="alternating rounds (3 timed calls each)")
    ap.add_argument("--threads", type=int, default=fr.get_num_threads())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    fr.set_num_threads(args.threads)
    print(f"threads={args.threads}  torch {torch.__version__}  float32  medians of {3 * args.rounds} calls in alternating blocks")
    print(f"{'cell':5} {'B':>4} {'T':>4} {'I':>5} {'H':>5} | {'infer fr ms':>11} {'torch ms':>9} {'ratio':>6} "
          f"| {'train fr ms':>11} {'torch ms':>9} {'ratio':>6}")
    rng = np.random.default_rng(0)
    for cell in args.cells.split(","):
        for shape in args.shapes:
            B, T, I, H = (int(v) for v in shape.split(","))
            tm, fm = build(cell, I, H)
            fm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
            x = rng.standard_normal((T, B, I)).astype(np.float32)
            xt = torch.from_numpy(x)
            with torch.no_grad():
                ref = tm(xt)[0].numpy()
            got = fm(x)[0]
            err = np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-30)
            assert err < 1e-4, f"outputs differ ({err:.2e}); refusing to time"

            def torch_infer():
                with torch.no_grad():
                    tm(xt)

            def torch_train():
                xx = xt.clone().requires_grad_()
                out, _ = tm(xx)
                out.sum().backward()

            def fr_train():
                (out, _), backprop = fm.forward_train(x)
                backprop(np.ones_like(out))

            fi, ti = interleaved([lambda: fm(x), torch_infer], args.rounds)
            ft, tt = interleaved([fr_train, torch_train], args.rounds)
            print(f"{cell:5} {B:4d} {T:4d} {I:5d} {H:5d} | {fi * 1e3:11.2f} {ti * 1e3:9.2f} {fi / ti:6.2f} "
                  f"| {ft * 1e3:11.2f} {tt * 1e3:9.2f} {ft / tt:6.2f}", flush=True)


if __name__ == "__main__":
    main()

"""One streaming step (B rows, one input each) through fastrnn's frozen
stream and the other ways of taking one step, side by side.

    python bench/streaming_step.py [--hidden 128] [--batch 1] [--threads 1] [--rounds 7]

Per cell (LSTM, GRU, RNN with tanh), the median microseconds of one step,
each measured in blocks of calls, the systems alternating block by block
(``fastrnn.benchmark.interleaved``):

- ``fr stream.step``: ``fr.freeze(layer).stream(B).step(x_t)``;
- ``fr frozen cell``: ``fr.freeze(cell)(x_t, state)``;
- ``fr cell``: the unfrozen ``fr.LSTMCell`` etc., which validates and packs
  its weights on every call;
- ``fr layer T=1``: the unfrozen layer on a one-step sequence;
- ``torch cell``: ``torch.nn.LSTMCell`` etc. under ``no_grad``;
- ``ORT T=1``: an ONNX Runtime session of the one-layer model on one step.

The overhead line is the stream's step at I = H = 1 (Python and the call,
no arithmetic to speak of); the arithmetic is the step at H minus that.
All outputs are checked equal to fastrnn's before timing.

    python bench/streaming_step.py --split 128 256 512 1024 [--threads 2]

instead times the stream's step on the calling thread alone against the
same step on the kernels' threads, per hidden size (LSTM, B = --batch): where
the second wins is ``functional.STEP_SPLIT_MIN_MACS``.
"""
import argparse
import datetime
import time

import numpy as np

import fastrnn as fr
from fastrnn import benchmark

from kernel_builds import cpu_line

CALLS = 2000


def per_call(f, calls=CALLS):
    """A function timing ``calls`` calls of ``f``, returning seconds per call."""
    def block():
        t0 = time.perf_counter()
        for _ in range(calls):
            f()
        return (time.perf_counter() - t0) / calls
    return block


def median_us(fns, rounds):
    """Median microseconds per call of each function (interleaved blocks)."""
    results = [[] for _ in fns]

    def recorder(i, f):
        def g():
            results[i].append(f())
        return g

    benchmark.interleaved([recorder(i, per_call(f)) for i, f in enumerate(fns)], rounds,
                          per_round=1, settle=0.05)
    return [1e6 * float(np.median(r[1::2])) for r in results]


def systems(cell, B, I, H, threads):
    """name -> one-step function, all on the same weights; outputs checked."""
    import torch

    layer_cls = {"lstm": fr.LSTM, "gru": fr.GRU, "rnn": fr.RNN}[cell]
    cell_cls = {"lstm": fr.LSTMCell, "gru": fr.GRUCell, "rnn": fr.RNNCell}[cell]
    layer = layer_cls(I, H, seed=0)
    frcell = cell_cls(I, H, seed=0)
    frcell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((B, I)).astype(np.float32)
    x1 = x[None]
    state = frcell(x)           # a non-zero state to step from
    stream = fr.freeze(layer).stream(B)
    stream.state = np.stack([state[0] if cell == "lstm" else state]) if cell != "lstm" else \
        tuple(np.stack([s]) for s in state)
    frozen_cell = fr.freeze(frcell)

    torch.set_num_threads(threads)
    tcell = {"lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell, "rnn": torch.nn.RNNCell}[cell](
        I, H)
    tcell.load_state_dict({k: torch.from_numpy(v) for k, v in frcell.state_dict().items()})
    xt = torch.from_numpy(x)
    tstate = tuple(torch.from_numpy(s) for s in state) if cell == "lstm" else \
        torch.from_numpy(state)

    def torch_step():
        with torch.no_grad():
            return tcell(xt, tstate)

    ort_infer, _ = benchmark.onnxruntime_system(cell, layer, x1, threads)

    # Equal outputs first (from a zero state for the layer forms).
    ref = frcell(x, state)
    ref_h = ref[0] if cell == "lstm" else ref
    got = stream.step(x)
    np.testing.assert_array_equal(got, ref_h)
    np.testing.assert_array_equal(frozen_cell(x, state)[0] if cell == "lstm"
                                  else frozen_cell(x, state), ref_h)
    th = torch_step()
    np.testing.assert_allclose((th[0] if cell == "lstm" else th).numpy(), ref_h, atol=2e-6)
    np.testing.assert_allclose(ort_infer()[0], layer(x1)[0][0], atol=2e-6)

    return {
        "fr stream.step": lambda: stream.step(x),
        "fr frozen cell": lambda: frozen_cell(x, state),
        "fr cell": lambda: frcell(x, state),
        "fr layer T=1": lambda: layer(x1),
        "torch cell": torch_step,
        "ORT T=1": ort_infer,
    }


def split_table(hidden_sizes, B, rounds):
    """The step on one thread vs on the kernels' threads, per hidden size."""
    from fastrnn import functional as F

    default = F.STEP_SPLIT_MIN_MACS
    try:
        for H in hidden_sizes:
            frozen = fr.freeze(fr.LSTM(H, H, seed=0))
            x = np.random.default_rng(0).standard_normal((B, H)).astype(np.float32)
            streams = []
            for threshold in (1 << 62, 0):
                F.STEP_SPLIT_MIN_MACS = threshold
                streams.append(frozen.stream(B))
            one, team = median_us([lambda s=s: s.step(x) for s in streams], rounds)
            macs = B * 4 * H * 2 * H
            print(f"LSTM B={B:<3} H={H:<5} {macs:>9} MACs  one thread {one:9.2f} us  "
                  f"threads {team:9.2f} us  ({team / one:.2f})", flush=True)
    finally:
        F.STEP_SPLIT_MIN_MACS = default


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--cells", default="lstm,gru,rnn")
    ap.add_argument("--split", type=int, nargs="*", metavar="H")
    args = ap.parse_args()
    before = fr.get_num_threads()
    fr.set_num_threads(args.threads, dynamic=False)
    B, H = args.batch, args.hidden
    print(f"{datetime.date.today()}; {cpu_line()}; threads={args.threads}, float32, B={B}, "
          f"I=H{'' if args.split else f'={H}'}; microseconds per step, medians over "
          f"{args.rounds} blocks of {CALLS} calls")
    try:
        if args.split:
            split_table(args.split, B, args.rounds)
            return
        for cell in args.cells.split(","):
            fns = systems(cell, B, H, H, args.threads)
            tiny = fr.freeze({"lstm": fr.LSTM, "gru": fr.GRU, "rnn": fr.RNN}[cell](1, 1)).stream(B)
            x_tiny = np.zeros((B, 1), np.float32)
            names = list(fns) + ["overhead (I=H=1)"]
            times = median_us(list(fns.values()) + [lambda: tiny.step(x_tiny)], args.rounds)
            t = dict(zip(names, times))
            torch_us = t["torch cell"]
            print(f"{cell.upper():4} " + " | ".join(f"{n} {v:7.2f}" for n, v in t.items()))
            print(f"     stream: {t['fr stream.step'] / torch_us:.2f}x torch cell, "
                  f"{t['fr stream.step'] / t['fr cell']:.2f}x fr cell; overhead "
                  f"{t['overhead (I=H=1)']:.2f} us + arithmetic "
                  f"{t['fr stream.step'] - t['overhead (I=H=1)']:.2f} us", flush=True)
    finally:
        fr.set_num_threads(before, dynamic=True)


if __name__ == "__main__":
    main()

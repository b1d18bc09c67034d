"""Whole-sequence inference through a frozen layer (weights packed once)
against the same layer unfrozen (packed on every call), PyTorch, ONNX
Runtime and OpenVINO (f32, where installed).

    python bench/frozen_inference.py [--shapes 1,100,128,128 ...] [--threads 2] [--rounds 7]

One process, the same weights everywhere, outputs checked equal first, the
systems alternating in blocks after a pause (``fastrnn.benchmark.interleaved``);
medians in milliseconds and the ratio of the frozen layer to each.
"""
import argparse
import datetime
import os

import numpy as np

import fastrnn as fr
from fastrnn import benchmark

from kernel_builds import cpu_line, grid_layers

SHAPES = ["1,100,128,128", "1,100,256,256", "16,100,256,256"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", nargs="*", default=SHAPES)
    ap.add_argument("--threads", type=int, default=fr.get_num_threads())
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--cells", default="lstm,gru,rnn")
    args = ap.parse_args()
    avail = benchmark.available_systems()
    before = fr.get_num_threads()
    fr.set_num_threads(args.threads)
    print(f"{datetime.date.today()}; {cpu_line()}; kernels: "
          f"{os.environ.get('FASTRNN_KERNELS', 'the best build for this CPU')}; "
          f"threads={args.threads}, float32; medians over {args.rounds} rounds x 3 calls; "
          f"ratio = frozen / other")
    print(f"{'cell':4} {'B':>3} {'T':>4} {'H':>5} | {'frozen':>7} | {'layer':>7} ratio | "
          f"{'torch':>7} ratio | {'ORT':>7} ratio | {'OV f32':>7} ratio")
    try:
        for (B, T, _, H), x, cell, layer in grid_layers(args.shapes, args.cells):
            frozen = fr.freeze(layer)
            ref = layer(x)[0]
            np.testing.assert_array_equal(frozen(x)[0], ref)
            fns = {"frozen": lambda: frozen(x), "layer": lambda: layer(x)}
            if avail["torch"][0]:
                fns["torch"] = benchmark.torch_system(cell, layer, x, args.threads)[0]
            if avail["onnxruntime"][0]:
                fns["ORT"] = benchmark.onnxruntime_system(cell, layer, x, args.threads)[0]
            if avail["openvino"][0]:
                fns["OV"] = benchmark.openvino_system(cell, layer, x, args.threads)[0]
            for name in ("torch", "ORT", "OV"):
                if name in fns:
                    np.testing.assert_allclose(fns[name](), ref, atol=1e-5)
            t = dict(zip(fns, benchmark.interleaved(list(fns.values()), args.rounds)))
            f = t["frozen"]

            def col(name):
                return (f"{t[name] * 1e3:7.3f} {f / t[name]:5.2f}" if name in t
                        else f"{'-':>7} {'-':>5}")

            print(f"{cell:4} {B:>3} {T:>4} {H:>5} | {f * 1e3:7.3f} | {col('layer')} | "
                  f"{col('torch')} | {col('ORT')} | {col('OV')}", flush=True)
    finally:
        fr.set_num_threads(before)


if __name__ == "__main__":
    main()

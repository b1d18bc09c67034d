"""The ``fastrnn`` command: ``fastrnn bench`` (the side-by-side table),
``fastrnn demo dates|reverse`` (sequence-to-sequence demos) and
``fastrnn config`` (the build and runtime configuration)."""
import argparse
import importlib.util
import json
import os
import platform
import sys

from . import __version__, benchmark
from ._runtime import MAX_THREADS, get_num_threads, show_config
from ._validation import BLAS_INT_MAX, check_bytes, unwritable


def _shape(text):
    try:
        B, T, I, H = (int(v) for v in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected B,T,I,H (four integers), got {text!r}") from exc
    if min(B, T, I, H) < 1:
        raise argparse.ArgumentTypeError(f"B,T,I,H must be positive, got {text!r}")
    # Refused here, before a minute of setup: the kernels' 32-bit BLAS limit,
    # and arrays (float32, LSTM training, two systems) this machine cannot hold.
    if T * B * max(I, 4 * H) > BLAS_INT_MAX:
        raise argparse.ArgumentTypeError(
            f"B,T,I,H must keep T*B*max(I, 4*H) <= {BLAS_INT_MAX} (32-bit BLAS indexing), "
            f"got {text!r}")
    try:
        check_bytes(2 * 4 * (2 * T * B * I + 7 * T * B * H + 8 * H * (I + H)),
                    f"B,T,I,H = {text!r}")
    except MemoryError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return B, T, I, H


def _parser():
    ap = argparse.ArgumentParser(prog="fastrnn", description="fastrnn command line")
    ap.add_argument("--version", action="version", version=f"fastrnn {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bench", help="time fastrnn against PyTorch, ONNX Runtime, OpenVINO and "
                                     "the GEMM floor")
    b.add_argument("--quick", action="store_true", help="a small subset (under a minute)")
    b.add_argument("--cells", default=",".join(benchmark.CELLS),
                   help="comma-separated: lstm, gru, rnn (default: all)")
    b.add_argument("--mode", choices=("infer", "train", "both"), default="both")
    b.add_argument("--precision", choices=benchmark.PRECISIONS, default="float32",
                   help="int8 / bf16: the layer frozen at that precision against its float32 "
                        "self, PyTorch's and ONNX Runtime's dynamic int8 quantization, "
                        "OpenVINO's bf16 (inference; default float32: the main table)")
    b.add_argument("--shapes", nargs="+", type=_shape, help="B,T,I,H ... (default: the grid)")
    b.add_argument("--threads", type=int, default=None, help="threads for every system")
    b.add_argument("--rounds", type=int, default=None, help="alternating rounds (3 timed calls each)")
    b.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    b.add_argument("--plot", metavar="PATH", help="also write a PNG bar chart (needs matplotlib)")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    d = sub.add_parser("demo", help="train a small seq2seq model on generated data and show it")
    d.add_argument("name", choices=("dates", "reverse"),
                   help="dates: human dates to ISO with attention; reverse: attention vs "
                        "none as inputs grow")
    d.add_argument("--epochs", type=int, default=None, help="training epochs (default: the demo's)")
    d.add_argument("--n", type=int, default=None, help="training pairs (default: the demo's)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--out", default=".", help="folder for the PNG plots")
    d.add_argument("--no-plot", action="store_true", help="write no PNG")
    d.add_argument("--no-progress", action="store_true", help="no progress bar")
    sub.add_parser("config", help="print the build and runtime configuration")
    return ap


def _demo(args):
    from . import demos

    for name in ("epochs", "n"):
        value = getattr(args, name)
        if value is not None and value < 1:
            return _refuse("demo", f"--{name} must be >= 1, got {value}")
    if args.seed < 0:
        return _refuse("demo", f"--seed must be >= 0, got {args.seed}")
    if not args.no_plot:
        if not args.out:
            return _refuse("demo", "--out must be a folder, got ''")
        try:
            os.makedirs(args.out, exist_ok=True)
        except OSError as exc:
            return _refuse("demo", f"--out must be a folder that can be created, got "
                                   f"{args.out!r} ({exc.strerror or exc})")
        # The plots are written after minutes of training: every file the
        # demo will write is checked now.
        for name in demos.PLOT_FILES[args.name]:
            problem = unwritable(os.path.join(args.out, name))
            if problem:
                return _refuse("demo", f"--out must be a folder where the demo can write "
                                       f"{name}, got {args.out!r} ({problem})")
    sizes = {k: getattr(args, k) for k in ("epochs", "n") if getattr(args, k) is not None}
    try:
        getattr(demos, args.name)(out=args.out, seed=args.seed, progress=not args.no_progress,
                                  plots=not args.no_plot, **sizes)
    except MemoryError as exc:   # an absurd --n, refused before anything is generated
        return _refuse("demo", f"--n {args.n}: {exc}" if args.n is not None else str(exc))
    return 0


def _refuse(command, message):
    """A bad argument found after parsing: say so on stderr, exit status 2."""
    print(f"fastrnn {command}: {message}", file=sys.stderr)
    return 2


def _output_problem(option, path):
    """Why ``path`` cannot be written after the run (checked before it), or None."""
    if not path:
        return f"{option} must be a file path, got ''"
    problem = unwritable(path)
    if problem is None:
        return None
    if os.path.isdir(path):
        return f"{option} must be a file path, got the folder {path!r}"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"{option} must be in an existing folder, got {path!r} ({problem})"
    return f"{option} must be a file this process can write, got {path!r} ({problem})"


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.command == "config":
        show_config()
        return 0
    if args.command == "demo":
        return _demo(args)
    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    bad = [c for c in cells if c not in benchmark.CELLS]
    if bad or not cells:
        return _refuse("bench", f"--cells must name some of {benchmark.CELLS}, got {args.cells!r}")
    for name in ("threads", "rounds"):
        value = getattr(args, name)
        if value is not None and value < 1:
            return _refuse("bench", f"--{name} must be >= 1, got {value}")
    if args.threads is not None and args.threads > MAX_THREADS:
        return _refuse("bench", f"--threads must be <= {MAX_THREADS}, got {args.threads}")
    for option, path in (("--json", args.json), ("--plot", args.plot)):
        problem = path is not None and _output_problem(option, path)
        if problem:
            return _refuse("bench", problem)
    if args.plot is not None and importlib.util.find_spec("matplotlib") is None:
        # Asked for: refused now, not skipped after the whole run.
        return _refuse("bench", "--plot needs matplotlib, which is not installed "
                                "(pip install 'fastrnn[plot]')")
    if args.precision != "float32":
        if args.mode == "train":
            return _refuse("bench", f"--precision {args.precision} times inference only "
                                    "(frozen layers); drop --mode train")
        if args.plot is not None:
            return _refuse("bench", "--plot draws the float32 table only")
        if args.precision == "bf16":
            from .functional import check_precision
            try:
                check_precision("bf16", "float32", "layer")
            except ValueError as exc:
                return _refuse("bench", f"--precision bf16: {exc}")
    grid = args.shapes or (benchmark.QUICK_GRID if args.quick else benchmark.GRID)
    modes = ("infer", "train") if args.mode == "both" else (args.mode,)
    rounds = args.rounds or (2 if args.quick else 5)
    show_config()
    # The peak is sampled before and after the run and the higher kept: one
    # sample in a slow moment read 171 GFLOP/s where the run's own products
    # then reached 215 (bench/RESULTS.md), which flatters every "% of peak".
    where = benchmark.machine()
    print(f"{where['date']}; {where['cpu']} ({' '.join(where['isa']) or 'no AVX2'}; "
          f"{where['processors']} processors); kernels: {where['kernels']} build; "
          f"commit {where['commit'] or '(not a source checkout)'}")
    print("; ".join(f"{k} {v}" for k, v in where["versions"].items()))
    peak_before = benchmark.sgemm_peak()
    print(f"python {platform.python_version()} on {platform.machine()}; "
          f"sgemm peak (numpy BLAS, 1024^3): {peak_before:.0f} GFLOP/s")
    try:
        if args.precision != "float32":
            results = benchmark.run_precision(args.precision, cells, grid, args.threads, rounds,
                                              progress=not args.no_progress)
        else:
            results = benchmark.run(cells, grid, modes, args.threads, rounds,
                                    progress=not args.no_progress)
    except benchmark.MismatchError as exc:   # outputs differ: no time is reported
        print(f"fastrnn bench: {exc}", file=sys.stderr)
        return 1
    if args.precision != "float32":
        return _precision_report(args, results, where)
    peak = max(peak_before, benchmark.sgemm_peak())
    print(benchmark.format_table(results))
    print(f"sgemm peak, the higher of before and after the run: {peak:.0f} GFLOP/s")
    print("ratio = fastrnn time / other time (below 1: fastrnn is faster); "
          "floor = the matrix products alone; every system on a fixed team of threads")
    print("frozen = the layer after fastrnn.freeze (inference: weights packed once); "
          "/best = frozen time / the fastest other engine's")
    openvino_ran = any("openvino" in r for r in results)
    if openvino_ran:
        print(f"OV f32 = OpenVINO with INFERENCE_PRECISION_HINT={benchmark.OPENVINO_PRECISION} "
              f"(its default on AVX-512 BF16 / AMX CPUs is bf16); ORT and OpenVINO: inference only")
    if args.json:
        doc = {"fastrnn": __version__, "machine": where,
               "threads": args.threads or get_num_threads(),
               "sgemm_peak_gflops": round(peak, 1), "results": results}
        if openvino_ran:
            doc["openvino_precision"] = benchmark.OPENVINO_PRECISION
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
        print(f"wrote {args.json}")
    if args.plot:
        benchmark.plot(results, args.plot)
        print(f"wrote {args.plot}")
    return 0


def _precision_report(args, results, where):
    print(benchmark.format_precision_table(results))
    print(f"speedup = fastrnn float32 time / fastrnn {args.precision} time (both frozen); "
          "ratio = fastrnn time / other time (below 1: fastrnn is faster); "
          "err = largest absolute difference from the float32 layer's output")
    if args.precision == "int8":
        print("torch q = torch.ao.quantization.quantize_dynamic (qint8; no nn.RNN); "
              "ORT q = onnxruntime.quantization.quantize_dynamic (DynamicQuantizeLSTM; "
              "LSTM only)")
    else:
        print("OV bf16 = OpenVINO with INFERENCE_PRECISION_HINT=bf16")
    if args.json:
        doc = {"fastrnn": __version__, "machine": where, "precision": args.precision,
               "threads": args.threads or get_num_threads(), "results": results}
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

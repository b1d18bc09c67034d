"""Side-by-side timing of fastrnn against PyTorch, ONNX Runtime, OpenVINO and
the GEMM floor -- the engine behind ``fastrnn bench``.

Every comparison runs in one process with the same weights in every system,
outputs checked equal before anything is timed, and the systems alternating
in blocks (a pause so that the previous system's spinning worker threads go
idle, untimed calls for WARM_S, then timed calls); medians are reported with the
ratio fastrnn / other; inference also times the layer frozen
(:func:`fastrnn.freeze`: weights packed once, as an ONNX Runtime session or
an OpenVINO compiled model has them), beside the fastest other engine.
torch, onnx / onnxruntime, openvino, tqdm and
matplotlib are optional: what is missing is skipped and said so.  ONNX Runtime
and OpenVINO run the same ONNX model (inference only: neither trains it);
OpenVINO is compiled with its inference precision set to f32 (on CPUs with
AVX-512 BF16 or AMX its default is bf16, which would not be comparable).

:func:`run_precision` (``fastrnn bench --precision int8|bf16``) times the
frozen layer at a low precision against its float32 self and the other
engines' own low-precision paths -- PyTorch's ``quantize_dynamic`` and ONNX
Runtime's dynamically quantized model (``DynamicQuantizeLSTM``) for int8,
OpenVINO in bf16 -- and reports each one's error against float32.
"""
import statistics
import time

import numpy as np

from . import _runtime
from .layers.module import freeze
from .layers.recurrent import GRU, LSTM, RNN

GRID = [(1, 100, 128, 128), (1, 100, 256, 256), (16, 100, 256, 256), (64, 100, 512, 512),
        (128, 50, 1024, 1024)]
QUICK_GRID = [(1, 100, 128, 128), (16, 100, 256, 256)]
CELLS = ("lstm", "gru", "rnn")
# The other engines (the "best" the frozen layer is compared with).
ENGINES = ("torch", "onnxruntime", "openvino")
# The compared systems: result key -> the label of its ratio in the plot.
SYSTEMS = {"torch": "torch", "onnxruntime": "onnxruntime",
           "openvino": "OpenVINO (f32)", "floor": "floor"}
GATES = {"lstm": 4, "gru": 3, "rnn": 1}


# Pause before each block: long enough for the previous system's worker
# threads to stop spinning (OpenBLAS's spin for ~0.1 s after a call; a
# 0.05 s pause left them on the cores and measured fastrnn's RNN inference
# at B=16 at 8.7 ms instead of 5.2 ms).
SETTLE_S = 0.25
# After the pause, each system runs untimed for WARM_S (at least one call):
# its threads -- and on a VM their virtual CPUs -- wake up first.  Timed
# within a few milliseconds of a pause, fastrnn's batch-1 calls on 2 threads
# read 1.0-1.4x their steady time on the project's VM (its threads met a
# sleeping core at every step's barrier).
WARM_S = 0.02


def interleaved(fns, rounds, per_round=3, settle=SETTLE_S, warm=WARM_S):
    """Median seconds of each function, measured in alternating blocks (each
    after a pause of ``settle`` seconds and untimed calls for ``warm``)."""
    times = [[] for _ in fns]
    for _ in range(rounds):
        for i, f in enumerate(fns):
            time.sleep(settle)
            warm_until = time.perf_counter() + warm
            f()
            while time.perf_counter() < warm_until:
                f()
            for _ in range(per_round):
                t0 = time.perf_counter()
                f()
                times[i].append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def _layer(cell, I, H, seed=0):
    cls = {"lstm": LSTM, "gru": GRU, "rnn": RNN}[cell]
    return cls(I, H, seed=seed)


# ------------------------------------------------------------------- systems
def torch_system(cell, layer, x, threads):
    """PyTorch's layer with ``layer``'s weights on ``x`` (time-major float32):
    ``(infer, train)`` functions, torch set to ``threads`` threads."""
    import torch

    torch.set_num_threads(threads)
    module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell](
        layer.input_size, layer.hidden_size)
    module.load_state_dict({k: torch.from_numpy(v) for k, v in layer.state_dict().items()})
    xt = torch.from_numpy(x)

    def infer():
        with torch.no_grad():
            return module(xt)[0].numpy()

    def train():
        xx = xt.clone().requires_grad_()
        out, _ = module(xx)
        out.sum().backward()

    return infer, train


def _onnx_gate_order(cell, H, w):
    """PyTorch's gate blocks -> ONNX's (LSTM i f g o -> i o f c; GRU r z n -> z r h)."""
    order = {"lstm": [0, 3, 1, 2], "gru": [1, 0, 2], "rnn": [0]}[cell]
    return np.concatenate([w[k * H:(k + 1) * H] for k in order])


def _onnx_model(cell, layer, x):
    """The layer as a one-node ONNX model (input X, output Y of shape
    (T, 1, B, H)), run by both ONNX Runtime and OpenVINO."""
    from onnx import TensorProto, helper, numpy_helper

    H = layer.hidden_size
    sd = layer.state_dict()
    W = _onnx_gate_order(cell, H, sd["weight_ih_l0"])[None]
    R = _onnx_gate_order(cell, H, sd["weight_hh_l0"])[None]
    Bias = np.concatenate([_onnx_gate_order(cell, H, sd["bias_ih_l0"]),
                           _onnx_gate_order(cell, H, sd["bias_hh_l0"])])[None]
    op = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}[cell]
    attrs = {"hidden_size": H}
    if cell == "gru":
        attrs["linear_before_reset"] = 1  # PyTorch's reset_after=True
    node = helper.make_node(op, ["X", "W", "R", "B"], ["Y"], **attrs)
    graph = helper.make_graph(
        [node], f"fastrnn_{cell}",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.ascontiguousarray(a, dtype=np.float32), name)
         for name, a in (("W", W), ("R", R), ("B", Bias))])
    # IR version 8 (what opset 17 needs), not the installed onnx's newest:
    # an older onnxruntime refuses a newer IR ("Unsupported model IR version").
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def onnxruntime_system(cell, layer, x, threads):
    """An ONNX Runtime session of ``layer`` (one layer, one direction) on
    ``x``: ``(infer, None)``, ``infer()`` returning its (T, B, H) output."""
    return _onnxruntime_infer(_onnx_model(cell, layer, x), x, threads), None


def _onnxruntime_infer(model, x, threads):
    """A function running ``model`` (one input X) on ``x`` in an ONNX Runtime
    session of ``threads`` threads, returning its (T, B, H) output."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])

    def infer():
        return sess.run(None, {"X": x})[0][:, 0]

    return infer


# OpenVINO's CPU plugin settings: f32 arithmetic (its default on AVX-512 BF16
# / AMX CPUs is bf16), the benchmark's thread count, one stream (one
# synchronous request at a time, as every other system runs).
OPENVINO_PRECISION = "f32"


def _openvino_config(threads):
    return {"INFERENCE_PRECISION_HINT": OPENVINO_PRECISION,
            "INFERENCE_NUM_THREADS": int(threads),
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": 1}


def openvino_system(cell, layer, x, threads):
    """OpenVINO's CPU plugin on the same ONNX model as
    :func:`onnxruntime_system`, in f32: ``(infer, None)``."""
    import io

    import openvino as ov

    model = _onnx_model(cell, layer, x)
    core = ov.Core()
    compiled = core.compile_model(core.read_model(io.BytesIO(model.SerializeToString())),
                                  "CPU", _openvino_config(threads))
    # The hint is a request: the plugin says what it compiled for.
    precision = compiled.get_property("INFERENCE_PRECISION_HINT")
    if precision != ov.Type.f32:
        raise MismatchError(f"OpenVINO compiled for {precision}, not f32; not timing")
    request = compiled.create_infer_request()

    def infer():
        # Outputs copied out (as ONNX Runtime returns a new array each call).
        return request.infer({"X": x}, share_inputs=True)[0][:, 0]

    return infer, None


def _gemm_floor(cell, layer, x):
    """The products alone: the input GEMM of all steps plus T step GEMMs
    (numpy's BLAS), no activations -- how close the kernels are to the
    machine's matrix-product limit."""
    T, B, I = x.shape
    H, G = layer.hidden_size, GATES[cell]
    w_ih = np.ascontiguousarray(layer.state_dict()["weight_ih_l0"].T)
    w_hh = np.ascontiguousarray(layer.state_dict()["weight_hh_l0"].T)
    xw = np.empty((T * B, G * H), dtype=np.float32)
    h = np.zeros((B, H), dtype=np.float32)
    s = np.empty((B, G * H), dtype=np.float32)
    x2 = x.reshape(T * B, I)

    def floor():
        np.matmul(x2, w_ih, out=xw)
        for _ in range(T):
            np.matmul(h, w_hh, out=s)

    return floor


def sgemm_peak(n=1024, repeats=5):
    """GFLOP/s of a large float32 GEMM through numpy's BLAS."""
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    c = np.empty_like(a)
    np.matmul(a, a, out=c)
    best = min(_timed(lambda: np.matmul(a, a, out=c)) for _ in range(repeats))
    return 2 * n ** 3 / best / 1e9


def _timed(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


# The CPU features a benchmark table records (from /proc/cpuinfo's flags).
ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512vl", "avx512bw", "avx512dq", "avx512_vnni",
             "avx512_bf16", "amx_tile")


def machine():
    """Where a benchmark runs, to record beside its table: the date (UTC),
    the CPU model and its ISA flags (``ISA_FLAGS`` it has), the processors,
    the kernel build in use, the versions of Python, numpy, fastrnn and the
    other systems (without importing them), and the git commit when fastrnn
    runs from a source checkout (else None)."""
    import datetime
    import importlib.metadata
    import os
    import platform
    import subprocess

    from . import __version__
    from ._kernels import isa

    model, flags = platform.processor() or "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
    except OSError:   # not Linux: the platform's name only
        pass
    versions = {"python": platform.python_version(), "numpy": np.__version__,
                "fastrnn": __version__}
    for name in ("torch", "onnxruntime", "openvino"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    source = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    commit = None
    if os.path.isdir(os.path.join(source, ".git")):
        try:
            # e.g. "add2447", or "add2447-dirty" with uncommitted changes
            commit = subprocess.run(["git", "-C", source, "describe", "--always", "--dirty"],
                                    capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
            "cpu": model, "isa": [f for f in ISA_FLAGS if f in flags],
            "processors": os.cpu_count(), "kernels": isa, "versions": versions,
            "commit": commit or None}


def available_systems():
    """Which optional systems can run here: name -> (available, why not)."""
    out = {}
    for name, mods in (("torch", ("torch",)), ("onnxruntime", ("onnx", "onnxruntime")),
                       ("openvino", ("onnx", "openvino"))):
        try:
            for m in mods:
                __import__(m)
            out[name] = (True, "")
        except ImportError as exc:
            out[name] = (False, f"not installed ({exc.name})")
    return out


# ---------------------------------------------------------------- the run
def run(cells=CELLS, grid=GRID, modes=("infer", "train"), threads=None, rounds=5,
        progress=True, log=print):
    """Time every (cell, shape, mode) and return a list of result dicts.

    Each result has ``cell, B, T, I, H, mode`` and, in milliseconds,
    ``fastrnn`` and (where they ran) ``frozen`` (inference only: the layer
    frozen), ``torch``, ``onnxruntime``, ``openvino`` (inference only, f32),
    ``floor``, plus ``gflops`` (fastrnn's achieved rate on the products).
    """
    threads = threads or _runtime.get_num_threads()
    # A fixed team, as every other engine runs: dynamic threads would react
    # to the previous engine's threads still spinning at the start of a
    # block (bench/busy_machine.py measures that behaviour on its own).
    before = (_runtime.get_num_threads(), _runtime.dynamic_threads())
    _runtime.set_num_threads(threads, dynamic=False)
    avail = available_systems()
    for name, (ok, why) in avail.items():
        if not ok:
            log(f"skipping {name}: {why}")
    jobs = [(c, shape, m) for c in cells for shape in grid for m in modes]
    bar = _progress(len(jobs), progress)
    rng = np.random.default_rng(0)
    results = []
    try:
        for cell, (B, T, I, H), mode in jobs:
            layer = _layer(cell, I, H)
            x = rng.standard_normal((T, B, I)).astype(np.float32)
            ours = (lambda: layer(x)[0]) if mode == "infer" else _fr_train(layer, x)
            systems = {"fastrnn": ours}
            if mode == "infer":
                frozen = freeze(layer)
                if not np.array_equal(frozen(x)[0], layer(x)[0]):
                    raise MismatchError("the frozen layer disagrees with the layer; not timing")
                systems["frozen"] = lambda: frozen(x)[0]
            if avail["torch"][0]:
                t_infer, t_train = torch_system(cell, layer, x, threads)
                systems["torch"] = t_infer if mode == "infer" else t_train
                if mode == "infer":
                    _check_equal(layer(x)[0], t_infer(), "torch")
            if mode == "infer" and avail["onnxruntime"][0]:
                o_infer, _ = onnxruntime_system(cell, layer, x, threads)
                _check_equal(layer(x)[0], o_infer(), "onnxruntime")
                systems["onnxruntime"] = o_infer
            if mode == "infer" and avail["openvino"][0]:
                v_infer, _ = openvino_system(cell, layer, x, threads)
                _check_equal(layer(x)[0], v_infer(), "openvino")
                systems["openvino"] = v_infer
            if mode == "infer":
                systems["floor"] = _gemm_floor(cell, layer, x)
            names = list(systems)
            medians = interleaved([systems[n] for n in names], rounds)
            res = dict(cell=cell, B=B, T=T, I=I, H=H, mode=mode)
            res.update({n: m * 1e3 for n, m in zip(names, medians)})
            flops = 2 * T * B * GATES[cell] * H * (I + H) * (1 if mode == "infer" else 3)
            res["gflops"] = flops / (res["fastrnn"] / 1e3) / 1e9
            results.append(res)
            bar.update(1)
    finally:
        bar.close()
        _runtime.set_num_threads(before[0], dynamic=before[1])
    return results


# ------------------------------------------------------- low precision
#: The precisions ``fastrnn bench --precision`` compares (float32: run()).
PRECISIONS = ("float32", "int8", "bf16")


def torch_quantized_system(cell, layer, x, threads):
    """PyTorch's dynamic int8 quantization (``torch.ao.quantization.
    quantize_dynamic``, its default per-tensor qconfig) of ``layer``: an
    ``infer`` function, or None where torch has no quantized module
    (``nn.RNN``)."""
    import warnings

    import torch

    if cell == "rnn":
        return None
    torch.set_num_threads(threads)
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    module = cls(layer.input_size, layer.hidden_size)
    module.load_state_dict({k: torch.from_numpy(v) for k, v in layer.state_dict().items()})
    with warnings.catch_warnings():   # torch.ao says it will move to torchao
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        from torch.ao.quantization import quantize_dynamic
        # (the root module is not swapped: the layer goes in a container)
        quantized = quantize_dynamic(torch.nn.Sequential(module), {cls}, dtype=torch.qint8)[0]
        quantized(torch.from_numpy(x[:1]))   # its first call warns too
    if type(quantized) is cls:
        return None
    xt = torch.from_numpy(x)

    def infer():
        with torch.no_grad():
            return quantized(xt)[0].numpy()

    return infer


def onnxruntime_quantized_system(cell, layer, x, threads):
    """ONNX Runtime on the layer's ONNX model quantized by
    ``onnxruntime.quantization.quantize_dynamic`` (int8 weights): an
    ``infer`` function, or None where it leaves the node in float32 (it
    quantizes LSTM into DynamicQuantizeLSTM, not GRU or RNN)."""
    import logging
    import os
    import tempfile

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()   # the quantizer advises pre-processing on it, every call
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = os.path.join(tmp, "float.onnx"), os.path.join(tmp, "int8.onnx")
            onnx.save(_onnx_model(cell, layer, x), src)
            quantize_dynamic(src, dst, weight_type=QuantType.QInt8)
            model = onnx.load(dst)
    finally:
        root.setLevel(level)
    if not any(n.op_type.startswith("DynamicQuantize") for n in model.graph.node):
        return None
    return _onnxruntime_infer(model, x, threads)


def openvino_bf16_system(cell, layer, x, threads):
    """OpenVINO's CPU plugin on the layer's ONNX model in bf16 (its default
    on CPUs with AVX-512 BF16): an ``infer`` function, or None where it
    does not compile for bf16."""
    import io

    import openvino as ov

    core = ov.Core()
    compiled = core.compile_model(core.read_model(io.BytesIO(_onnx_model(cell, layer, x)
                                                             .SerializeToString())),
                                  "CPU", dict(_openvino_config(threads),
                                              INFERENCE_PRECISION_HINT="bf16"))
    if compiled.get_property("INFERENCE_PRECISION_HINT") != ov.Type.bf16:
        return None
    request = compiled.create_infer_request()

    def infer():
        return request.infer({"X": x}, share_inputs=True)[0][:, 0]

    return infer


def run_precision(precision, cells=CELLS, grid=GRID, threads=None, rounds=5, progress=True,
                  log=print):
    """Time the frozen layer at ``precision`` ("int8" or "bf16") against the
    frozen float32 layer and the other engines' paths at that precision, in
    the same interleaved blocks as :func:`run`.

    Each result has ``cell, B, T, I, H, precision``; in milliseconds
    ``float32`` (fastrnn's frozen layer), ``fastrnn`` (frozen at
    ``precision``) and where they ran ``torch`` / ``onnxruntime`` (int8) or
    ``openvino`` (bf16); and ``err_<system>``: each low-precision output's
    largest absolute difference from the float32 layer's.
    """
    if precision not in PRECISIONS[1:]:
        raise ValueError(f"precision must be one of {PRECISIONS[1:]}, got {precision!r}")
    threads = threads or _runtime.get_num_threads()
    before = (_runtime.get_num_threads(), _runtime.dynamic_threads())
    _runtime.set_num_threads(threads, dynamic=False)
    avail = available_systems()
    others = {"int8": (("torch", torch_quantized_system),
                       ("onnxruntime", onnxruntime_quantized_system)),
              "bf16": (("openvino", openvino_bf16_system),)}[precision]
    for name, _ in others:
        if not avail[name][0]:
            log(f"skipping {name}: {avail[name][1]}")
    jobs = [(c, shape) for c in cells for shape in grid]
    bar = _progress(len(jobs), progress)
    rng = np.random.default_rng(0)
    results = []
    try:
        for cell, (B, T, I, H) in jobs:
            layer = _layer(cell, I, H)
            x = rng.standard_normal((T, B, I)).astype(np.float32)
            exact, low = freeze(layer), freeze(layer, precision)
            want = exact(x)[0]
            systems = {"float32": lambda: exact(x)[0], "fastrnn": lambda: low(x)[0]}
            for name, make in others:
                infer = make(cell, layer, x, threads) if avail[name][0] else None
                if infer is not None:
                    systems[name] = infer
            res = dict(cell=cell, B=B, T=T, I=I, H=H, precision=precision)
            for name, f in systems.items():
                if name != "float32":
                    got = np.asarray(f())
                    if got.shape != want.shape:
                        raise MismatchError(f"{name} at {precision}: output shape {got.shape}, "
                                            f"float32's {want.shape}; not timing")
                    res[f"err_{name}"] = float(np.abs(got - want).max())
            names = list(systems)
            medians = interleaved([systems[n] for n in names], rounds)
            res.update({n: m * 1e3 for n, m in zip(names, medians)})
            results.append(res)
            bar.update(1)
    finally:
        bar.close()
        _runtime.set_num_threads(before[0], dynamic=before[1])
    return results


def format_precision_table(results):
    """:func:`run_precision`'s results as a text table: times, the speed-up
    over float32, each other engine's time with fastrnn's ratio to it, and
    each system's largest error against float32."""
    if not results:
        return ""
    p = results[0]["precision"]
    others = ("torch", "onnxruntime") if p == "int8" else ("openvino",)
    label = {"torch": "torch q", "onnxruntime": "ORT q", "openvino": "OV bf16"}
    head = (f"{'cell':5} {'B':>4} {'T':>4} {'I':>5} {'H':>5} | {'f32 ms':>8} {p + ' ms':>8} "
            f"{'speedup':>7} | " + " | ".join(f"{label[o] + ' ms':>10} {'ratio':>6}" for o in others)
            + f" | {'err ' + p:>9} " + " ".join(f"{'err ' + label[o]:>11}" for o in others))
    lines = [head, "-" * len(head)]
    for r in results:
        cols = []
        for o in others:
            cols.append(f"{r[o]:10.2f} {r['fastrnn'] / r[o]:6.2f}" if o in r
                        else f"{'-':>10} {'-':>6}")
        errs = " ".join(f"{r['err_' + o]:11.2e}" if "err_" + o in r else f"{'-':>11}"
                        for o in others)
        lines.append(f"{r['cell']:5} {r['B']:4d} {r['T']:4d} {r['I']:5d} {r['H']:5d} | "
                     f"{r['float32']:8.2f} {r['fastrnn']:8.2f} {r['float32'] / r['fastrnn']:7.2f} | "
                     + " | ".join(cols) + f" | {r['err_fastrnn']:9.2e} " + errs)
    return "\n".join(lines)


def _fr_train(layer, x):
    def train():
        (out, _), backprop = layer.forward_train(x)
        backprop(np.ones_like(out))
    return train


class MismatchError(AssertionError):
    """Another system's outputs differ from fastrnn's (or it did not compile
    for float32): nothing is timed, ``fastrnn bench`` exits with status 1."""


def _check_equal(ours, theirs, name):
    theirs = np.asarray(theirs)
    if theirs.shape != ours.shape:
        raise MismatchError(f"fastrnn and {name} disagree (output shape {theirs.shape}, "
                            f"fastrnn's {ours.shape}); not timing")
    err = np.abs(ours - theirs).max() / max(np.abs(theirs).max(), 1e-30)
    if not err < 1e-4:
        raise MismatchError(f"fastrnn and {name} disagree (relative error {err:.2e}); not timing")


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


def _progress(total, enabled):
    if not enabled:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, desc="fastrnn bench", unit="case", leave=False)


def format_table(results):
    """The results as a text table with ratios fastrnn / other (OpenVINO's
    column says its f32 precision), and the frozen layer's time with its
    ratio to the fastest other engine (``/best``)."""
    head = (f"{'cell':5} {'mode':5} {'B':>4} {'T':>4} {'I':>5} {'H':>5} | {'fastrnn ms':>10} "
            f"{'torch ms':>9} {'ratio':>6} | {'ORT ms':>8} {'ratio':>6} | "
            f"{'OV f32 ms':>9} {'ratio':>6} | {'floor ms':>8} {'ratio':>6} | {'GFLOP/s':>7} | "
            f"{'frozen ms':>9} {'/best':>6}")
    lines = [head, "-" * len(head)]

    def cols(r, key, width):
        if key not in r:
            return f"{'-':>{width}} {'-':>6}"
        return f"{r[key]:{width}.2f} {r['fastrnn'] / r[key]:6.2f}"

    def frozen(r):
        if "frozen" not in r:
            return f"{'-':>9} {'-':>6}"
        best = min((r[k] for k in ENGINES if k in r), default=None)
        return f"{r['frozen']:9.2f} " + (f"{r['frozen'] / best:6.2f}" if best else f"{'-':>6}")

    for r in results:
        lines.append(f"{r['cell']:5} {r['mode']:5} {r['B']:4d} {r['T']:4d} {r['I']:5d} {r['H']:5d} | "
                     f"{r['fastrnn']:10.2f} {cols(r, 'torch', 9)} | {cols(r, 'onnxruntime', 8)} | "
                     f"{cols(r, 'openvino', 9)} | {cols(r, 'floor', 8)} | {r['gflops']:7.1f} | "
                     f"{frozen(r)}")
    return "\n".join(lines)


def plot(results, path):
    """A PNG bar chart of the ratios (matplotlib needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['cell']} {r['mode']}\nB={r['B']} H={r['H']}" for r in results]
    others = [k for k in SYSTEMS if any(k in r for r in results)]
    fig, ax = plt.subplots(figsize=(max(6, len(results) * 0.9), 4))
    width = 0.8 / max(1, len(others))
    for i, key in enumerate(others):
        vals = [r["fastrnn"] / r[key] if key in r else 0 for r in results]
        ax.bar(np.arange(len(results)) + i * width, vals, width, label=f"fastrnn / {SYSTEMS[key]}")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks(np.arange(len(results)) + width * (len(others) - 1) / 2)
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_ylabel("time ratio (below 1: fastrnn faster)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)

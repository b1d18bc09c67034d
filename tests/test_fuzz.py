"""Property tests (hypothesis) of the recurrent layers and cells against the
pure-numpy reference (``reference.py``), finite differences and PyTorch.

Each example draws a whole problem: the cell (RNN tanh / relu, LSTM, GRU
with ``reset_after`` True / False), dtype, T in [1, 12], B in [1, 9],
input and hidden sizes in [1, 40] (biased towards the edges of the SIMD
widths and the 24-unit block), 1-2 layers, one direction or two with every
merge mode, time-major / batch-first / unbatched layout, bias or not,
ragged lengths (zeros, all-equal, full), given / defaulted / half-given
states, inputs presented as non-contiguous views (Fortran order,
transposed, every-other-step, negative strides) of other float dtypes or as
nested lists, 1-3 threads and each way of splitting them.

Properties:

* inference equals the reference (rtol 1e-4 in float32, 1e-9 in float64);
* ``forward_train`` returns exactly what inference returns;
* float64 gradients (input, states, every parameter tensor) equal central
  finite differences of the layer along random directions;
* float32 gradients equal the float64 gradients of the same problem;
* gradients equal PyTorch's where PyTorch has the same model (elementwise);
* 1 and N threads, batch or hidden-unit split, agree to rounding;
* cells equal the reference's ``cell_step`` and finite differences;
* malformed arguments raise ``ValueError`` / ``TypeError`` naming the
  argument (``RuntimeError`` for a second backprop), never crash;
* NaN / Inf in the input or state stays in its batch row (NaN propagates
  to that row's outputs and states), and garbage in the padding past a
  row's length (input or output gradient) changes nothing.

Profiles: ``ci`` (default; bounded, derandomised, under a minute) and
``long`` (``HYPOTHESIS_PROFILE=long``, ``FASTRNN_FUZZ_EXAMPLES`` examples
per property, default 2000, fresh random seeds each run; see
``tools/fuzz.sh``).  With ``FASTRNN_FUZZ_STATS=path`` the number of
examples each property ran is written there as JSON at the end.
"""
import collections
import contextlib
import itertools
import json
import os
import warnings
from dataclasses import dataclass, replace

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import fastrnn as fr  # noqa: E402
from fastrnn import functional as F  # noqa: E402

from helpers.running import torch_or_skip  # noqa: E402
from helpers.reference import cell_step, reference_forward  # noqa: E402
from helpers.layers import MERGE_MODES, make_cell, make_layer, state_list  # noqa: E402

# ------------------------------------------------------------------ profiles
_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True, database=None,
                          suppress_health_check=_HEALTH, print_blob=True)
settings.register_profile("long", max_examples=int(os.environ.get("FASTRNN_FUZZ_EXAMPLES", "2000")),
                          deadline=None, database=None, suppress_health_check=_HEALTH,
                          print_blob=True)
PROFILE = "long" if os.environ.get("HYPOTHESIS_PROFILE") == "long" else "ci"
# Applied per test (not load_profile), so other test modules keep their own settings.
FUZZ = settings(settings.get_profile(PROFILE))

# Examples each property ran (FASTRNN_FUZZ_STATS=path writes them as JSON).
_COUNTS = collections.Counter()


@pytest.fixture(scope="module", autouse=True)
def _write_counts():
    yield
    path = os.environ.get("FASTRNN_FUZZ_STATS")
    if path:
        with open(path, "w") as f:
            json.dump({"profile": PROFILE, "examples": dict(_COUNTS)}, f, indent=1)


def _count(name):
    _COUNTS[name] += 1


# ---------------------------------------------------------------- strategies
KINDS = ["rnn_tanh", "rnn_relu", "lstm", "gru", "gru_rb"]  # gru_rb: GRU reset_after=False
MODE_OF = {"rnn_tanh": ("rnn_tanh", True), "rnn_relu": ("rnn_relu", True), "lstm": ("lstm", True),
           "gru": ("gru", True), "gru_rb": ("gru", False)}
# Around the SIMD widths (4 doubles / 8 floats) and the 24-unit block.
EDGE_SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 23, 24, 25, 31, 32, 33, 39, 40]
VIEWS = ["c", "fortran", "transposed", "step", "inner_step", "reversed", "reversed_all", "list"]
SRC_DTYPES = ["float16", "float32", "float64"]
PLANS = ["auto", "batch", "units"]


def sizes(hi=40):
    return st.one_of(st.integers(1, hi), st.sampled_from([s for s in EDGE_SIZES if s <= hi]))


@dataclass
class Config:
    kind: str
    dtype: str
    T: int
    B: int
    I: int
    H: int
    num_layers: int
    direction: str          # "uni" or a merge mode
    layout: str             # time_major, batch_first, unbatched
    bias: bool
    lengths: object         # None or a list of B ints
    lengths_type: str
    states: str             # none, h, c, both (c / both only for LSTM)
    x_scale: float
    x_view: str
    x_src: str
    h_view: str
    h_src: str
    threads: int
    plan: str
    seed: int

    @property
    def lstm(self):
        return self.kind == "lstm"

    @property
    def D(self):
        return 1 if self.direction == "uni" else 2

    @property
    def W(self):
        return 2 * self.H if self.direction == "concat" else self.H


def lengths_strategy(T, B):
    return st.one_of(
        st.none(),
        st.lists(st.integers(0, T), min_size=B, max_size=B),            # ragged, zeros included
        st.integers(0, T).map(lambda v: [v] * B),                        # all equal (0 and T too)
        st.lists(st.sampled_from([0, T]), min_size=B, max_size=B),       # empty or full
    )


@st.composite
def configs(draw, dtype=None, kinds=KINDS, directions=None, layouts=None, x_scales=None,
            max_T=12, max_B=9, max_size=40, max_layers=2, min_length=0, threads=None, plans=PLANS):
    kind = draw(st.sampled_from(kinds))
    dtype = dtype or draw(st.sampled_from(["float32", "float64"]))
    T = draw(st.integers(1, max_T))
    layout = draw(st.sampled_from(layouts or ["time_major", "batch_first", "unbatched"]))
    B = 1 if layout == "unbatched" else draw(st.integers(1, max_B))
    I, H = draw(sizes(max_size)), draw(sizes(max_size))
    num_layers = draw(st.integers(1, max_layers))
    direction = draw(st.sampled_from(directions or ["uni"] + MERGE_MODES))
    lengths = draw(lengths_strategy(T, B))
    if lengths is not None and min_length:
        lengths = [max(v, min_length) for v in lengths]
    states = draw(st.sampled_from(["none", "h", "c", "both"]))
    if kind != "lstm":
        states = {"c": "none", "both": "h"}.get(states, states)
    return Config(
        kind=kind, dtype=dtype, T=T, B=B, I=I, H=H, num_layers=num_layers, direction=direction,
        layout=layout, bias=draw(st.booleans()), lengths=lengths,
        lengths_type=draw(st.sampled_from(["list", "int64", "int32", "uint8", "float64", "tuple"])),
        states=states, x_scale=draw(st.sampled_from(x_scales or [0.0, 0.1, 1.0, 4.0])),
        x_view=draw(st.sampled_from(VIEWS)), x_src=draw(st.sampled_from(SRC_DTYPES)),
        h_view=draw(st.sampled_from(VIEWS)), h_src=draw(st.sampled_from(SRC_DTYPES)),
        threads=draw(threads if threads is not None else st.integers(1, 3)),
        plan=draw(st.sampled_from(plans)), seed=draw(st.integers(0, 2**32 - 1)))


def sweep(dtype=None, kinds=KINDS, directions=("uni", *MERGE_MODES),
          layouts=("time_major", "batch_first", "unbatched"), min_length=0, threads=(1, 2, 3),
          x_scale=1.0):
    """One explicit Config per (cell, direction), the other fields cycled, so
    that even the short CI profile runs every cell with every merge mode
    (hypothesis' own draws cluster at 50 examples)."""
    out = []
    for n, (kind, direction) in enumerate(itertools.product(kinds, directions)):
        layout = layouts[n % len(layouts)]
        B = 1 if layout == "unbatched" else 4
        I, H = [(9, 25), (17, 7), (3, 33), (24, 8), (1, 1), (40, 17)][n % 6]
        lengths = [[5, 0, 3, 1], [2, 2, 2, 2], None, [1, 5, 5, 4]][n % 4]
        if lengths is not None:
            lengths = [max(v, min_length) for v in lengths[:B]]
        states = ["both", "h", "c", "none"][n % 4] if kind == "lstm" else ["h", "none"][n % 2]
        out.append(Config(
            kind=kind, dtype=dtype or ("float32", "float64")[n % 2], T=5, B=B, I=I, H=H,
            num_layers=1 + (n // 2) % 2, direction=direction, layout=layout, bias=n % 4 != 3,
            lengths=lengths, lengths_type=["list", "int64", "int32", "uint8", "float64", "tuple"][n % 6],
            states=states, x_scale=x_scale, x_view=VIEWS[n % len(VIEWS)], x_src=SRC_DTYPES[n % 3],
            h_view=VIEWS[(n + 3) % len(VIEWS)], h_src=SRC_DTYPES[(n + 1) % 3],
            threads=threads[n % len(threads)], plan=PLANS[n % 3], seed=n))
    return out


def with_sweep(cfgs, **cycled):
    """Add each Config of ``cfgs`` as an explicit example (other arguments
    cycled through the given lists)."""
    def decorate(test):
        for n, cfg in enumerate(cfgs):
            test = example(cfg=cfg, **{k: v[n % len(v)] for k, v in cycled.items()})(test)
        return test
    return decorate


# ------------------------------------------------------------------- helpers
def present(a, view, src):
    """``a``'s values as dtype ``src``, laid out as ``view`` (non-contiguous
    views with the same values, or nested lists)."""
    a = np.asarray(a).astype(src)
    if view == "c":
        return np.ascontiguousarray(a)
    if view == "fortran":
        return np.asfortranarray(a)
    if view == "transposed":                      # a transposed view of C data
        return np.ascontiguousarray(a.T).T
    if view == "step":                            # every other step of a bigger array
        big = np.full((2 * a.shape[0],) + a.shape[1:], np.nan, dtype=src)
        big[::2] = a
        return big[::2]
    if view == "inner_step":                      # every other feature
        big = np.full(a.shape[:-1] + (2 * a.shape[-1],), np.nan, dtype=src)
        big[..., ::2] = a
        return big[..., ::2]
    if view == "reversed":                        # negative stride on the first axis
        return np.ascontiguousarray(a[::-1])[::-1]
    if view == "reversed_all":                    # negative strides on every axis
        idx = (slice(None, None, -1),) * a.ndim
        return np.ascontiguousarray(a[idx])[idx]
    if view == "list":
        return a.tolist()
    raise AssertionError(view)


def present_lengths(lengths, how):
    if lengths is None:
        return None
    if how == "list":
        return list(lengths)
    if how == "tuple":
        return tuple(lengths)
    return np.asarray(lengths, dtype=how)


def logical(a, src, dtype):
    """The float64 values a layer of ``dtype`` sees for ``a`` passed as ``src``."""
    return np.asarray(a).astype(src).astype(dtype).astype(np.float64)


@contextlib.contextmanager
def running_with(threads, plan="auto"):
    """fr.set_num_threads(threads) and a forced thread split, restored after."""
    before = fr.get_num_threads()
    rows, macs, call_macs = F.UNIT_SPLIT_ROWS, F.UNIT_SPLIT_MIN_MACS, F.UNIT_SPLIT_MIN_CALL_MACS
    try:
        fr.set_num_threads(threads)
        if plan == "batch":
            F.UNIT_SPLIT_ROWS = 0
        elif plan == "units":
            F.UNIT_SPLIT_ROWS, F.UNIT_SPLIT_MIN_MACS, F.UNIT_SPLIT_MIN_CALL_MACS = 1 << 30, 0, 0
        yield
    finally:
        F.UNIT_SPLIT_ROWS, F.UNIT_SPLIT_MIN_MACS, F.UNIT_SPLIT_MIN_CALL_MACS = rows, macs, call_macs
        fr.set_num_threads(before)


class Problem:
    """A layer and its arguments built from a Config: ``x`` / ``hx`` /
    ``lengths`` as passed to the layer, and their float64 logical values
    (time-major ``x_tm`` (T, B, I), ``h0`` / ``c0`` (L*D, B, H) or None)."""

    def __init__(self, cfg):
        self.cfg = c = cfg
        rng = np.random.default_rng(c.seed)
        self.rng = rng
        kw = dict(num_layers=c.num_layers, bias=c.bias, batch_first=c.layout == "batch_first",
                  dtype=c.dtype, seed=int(rng.integers(2**31)))
        if c.D == 2:
            kw.update(bidirectional=True, merge_mode=c.direction)
        self.layer = make_layer(c.kind, c.I, c.H, **kw)
        x_tm = rng.standard_normal((c.T, c.B, c.I)) * c.x_scale
        self.x_tm = logical(x_tm, c.x_src, c.dtype)
        self.x = present(self.user(x_tm), c.x_view, c.x_src)
        LD = c.num_layers * c.D
        self.h0 = self.c0 = None
        parts = []
        for name in ("h", "c") if c.lstm else ("h",):
            if c.states in (name, "both"):
                s = rng.uniform(-1, 1, size=(LD, c.B, c.H))
                setattr(self, name + "0", logical(s, c.h_src, c.dtype))
                parts.append(present(self.user_state(s), c.h_view, c.h_src))
            else:
                parts.append(None)
        self.hx = (tuple(parts) if any(p is not None for p in parts) else None) if c.lstm else parts[0]
        self.lengths_arr = None if c.lengths is None else np.asarray(c.lengths, dtype=np.int64)
        self.lengths = present_lengths(c.lengths, c.lengths_type)
        if c.layout == "unbatched" and self.lengths is not None and c.lengths_type == "int64":
            self.lengths = int(c.lengths[0])      # a scalar length for an unbatched input

    # layouts ----------------------------------------------------------------
    def user(self, a_tm):
        """A time-major (T, B, ...) array in the layer's user layout."""
        if self.cfg.layout == "batch_first":
            return a_tm.transpose(1, 0, 2)
        if self.cfg.layout == "unbatched":
            return a_tm[:, 0]
        return a_tm

    def user_state(self, s):
        return s[:, 0] if self.cfg.layout == "unbatched" else s

    def tm(self, out):
        """The layer's output in time-major (T, B, W)."""
        out = np.asarray(out)
        if self.cfg.layout == "batch_first":
            return out.transpose(1, 0, 2)
        if self.cfg.layout == "unbatched":
            return out[:, None]
        return out

    def tm_state(self, s):
        return np.asarray(s)[:, None] if self.cfg.layout == "unbatched" else np.asarray(s)

    def states_tm(self, state):
        return [self.tm_state(s) for s in state_list(state)]

    # reference --------------------------------------------------------------
    def reference(self):
        """Float64 reference: (out (T, B, W), [h_n, c_n] each (L*D, B, H))."""
        c = self.cfg
        mode, reset_after = MODE_OF[c.kind]
        p = {k: v.astype(np.float64) for k, v in self.layer.state_dict().items()}
        layer_in = self.x_tm
        hs, cs = [], []
        for layer in range(c.num_layers):
            outs = []
            for d in range(c.D):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                i = layer * c.D + d
                out, h_n, c_n = reference_forward(
                    mode, layer_in, p["weight_ih" + sfx], p["weight_hh" + sfx],
                    p.get("bias_ih" + sfx), p.get("bias_hh" + sfx),
                    None if self.h0 is None else self.h0[i], None if self.c0 is None else self.c0[i],
                    self.lengths_arr, reverse=d == 1, reset_after=reset_after)
                outs.append(out)
                hs.append(h_n)
                cs.append(c_n)
            layer_in = reference_merge(c.direction, outs)
        states = [np.stack(hs)] + ([np.stack(cs)] if c.lstm else [])
        return layer_in, states


def reference_merge(mode, outs):
    if len(outs) == 1:
        return outs[0]
    f, b = outs
    return {"concat": lambda: np.concatenate(outs, axis=-1), "sum": lambda: f + b,
            "mean": lambda: (f + b) / 2, "max": lambda: np.maximum(f, b),
            "mul": lambda: f * b}[mode]()


def assert_close(actual, expected, dtype, what, f32=1e-4, f64=1e-9):
    """rtol ``f32`` / ``f64`` (float32 / float64), atol a small fraction of
    the largest magnitude (values near zero after cancellation)."""
    expected = np.asarray(expected, dtype=np.float64)
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    rtol = f32 if np.dtype(dtype) == np.float32 else f64
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=rtol,
                               atol=rtol * 0.1 * scale, err_msg=what)


def random_cotangents(rng, out, state, how):
    """dout and dstate for ``backprop`` (dstate None / full / half given)."""
    R = rng.standard_normal(np.shape(out))
    parts = [rng.standard_normal(np.shape(s)) for s in state_list(state)]
    if how == "none":
        return R, None
    if how == "half" and len(parts) == 2:
        parts[rng.integers(2)] = None
    return R, (tuple(parts) if isinstance(state, tuple) else parts[0])


def total_loss(out, state, R, Rs):
    """sum(out * R) + sum(state * Rs) over the given parts of Rs."""
    total = float(np.sum(np.asarray(out, dtype=np.float64) * R))
    if Rs is not None:
        for s, r in zip(state_list(state), state_list(Rs)):
            if r is not None:
                total += float(np.sum(np.asarray(s, dtype=np.float64) * r))
    return total


def directional_check(what, grad, f, base, v, scale_of_loss, eps=1e-6):
    """<grad, v> against finite differences of ``f(t)`` = loss at p + t v.

    Central differences first; if a relu / max kink lies between -eps and
    eps they are off, so then the second-order one-sided differences (from
    [0, 2 eps] or [-2 eps, 0], as accurate as central ones) may agree."""
    analytic = float(np.sum(np.asarray(grad, dtype=np.float64) * v))
    size = float(np.sum(np.abs(np.asarray(grad, dtype=np.float64) * v)))
    up, down = f(eps), f(-eps)
    central = (up - down) / (2 * eps)
    if abs(central - analytic) <= 1e-6 * size + 1e-8 * scale_of_loss:
        return
    one_sided = ((-3 * base + 4 * up - f(2 * eps)) / (2 * eps),
                 (3 * base - 4 * down + f(-2 * eps)) / (2 * eps))
    if any(abs(d - analytic) <= 1e-6 * size + 4e-8 * scale_of_loss for d in one_sided):
        return
    raise AssertionError(f"{what}: analytic directional derivative {analytic!r}, finite "
                         f"differences central {central!r}, one-sided {one_sided!r} "
                         f"(sum |g v| = {size!r}, loss scale {scale_of_loss!r})")


def check_parameters(params, grads, loss, base, rng, scale_of_loss):
    """:func:`directional_check` of every parameter along a random direction
    (each parameter moved in place and restored)."""
    assert set(grads) == set(params)
    for name in sorted(params):
        p = params[name]
        p0 = p.copy()
        v = rng.standard_normal(p.shape)

        def f(t):
            p[...] = p0 + t * v
            try:
                return loss()
            finally:
                p[...] = p0

        directional_check(name, grads[name], f, base, v, scale_of_loss)


# ----------------------------------------------------------------- properties
@FUZZ
@with_sweep(sweep())
@given(cfg=configs())
def test_inference_matches_reference(cfg):
    _count("inference_matches_reference")
    pb = Problem(cfg)
    with running_with(cfg.threads, cfg.plan):
        out, state = pb.layer(pb.x, pb.hx, lengths=pb.lengths)
    T, B, W = cfg.T, cfg.B, cfg.W
    LD = cfg.num_layers * cfg.D
    expect_out = {"batch_first": (B, T, W), "unbatched": (T, W)}.get(cfg.layout, (T, B, W))
    expect_st = (LD, cfg.H) if cfg.layout == "unbatched" else (LD, B, cfg.H)
    assert out.shape == expect_out and out.dtype == np.dtype(cfg.dtype)
    assert isinstance(state, tuple) == cfg.lstm
    for s in state_list(state):
        assert s.shape == expect_st and s.dtype == np.dtype(cfg.dtype)
    ref_out, ref_states = pb.reference()
    assert_close(pb.tm(out), ref_out, cfg.dtype, "out")
    for name, s, r in zip(("h_n", "c_n"), pb.states_tm(state), ref_states):
        assert_close(s, r, cfg.dtype, name)


@FUZZ
@with_sweep(sweep())
@given(cfg=configs())
def test_forward_train_equals_inference(cfg):
    _count("forward_train_equals_inference")
    pb = Problem(cfg)
    with running_with(cfg.threads, cfg.plan):
        out, state = pb.layer(pb.x, pb.hx, lengths=pb.lengths)
        (out_t, state_t), backprop = pb.layer.forward_train(pb.x, pb.hx, lengths=pb.lengths)
    np.testing.assert_array_equal(out_t, out)
    for a, b in zip(state_list(state_t), state_list(state)):
        np.testing.assert_array_equal(a, b)
    assert isinstance(state_t, tuple) == cfg.lstm


@FUZZ
@with_sweep(sweep(dtype="float64"), dstate=["full", "half", "none"], dout_view=VIEWS[:-1])
@given(cfg=configs(dtype="float64", x_scales=[0.1, 1.0, 3.0]),
       dstate=st.sampled_from(["none", "full", "half"]),
       dout_view=st.sampled_from(VIEWS[:-1]))
def test_gradients_match_finite_differences(cfg, dstate, dout_view):
    """float64: <grad, v> == finite differences of the layer along random v,
    for x, each given state and every parameter tensor separately."""
    _count("gradients_match_finite_differences")
    pb = Problem(cfg)
    layer, rng = pb.layer, pb.rng
    with running_with(cfg.threads, cfg.plan):
        layer.zero_grad()
        (out, state), backprop = layer.forward_train(pb.x, pb.hx, lengths=pb.lengths)
        R, Rs = random_cotangents(rng, out, state, dstate)
        dx, dhx = backprop(present(R, dout_view, "float64"), Rs)
        assert dx.shape == np.shape(pb.x) and dx.dtype == np.float64
        x0 = np.ascontiguousarray(pb.user(pb.x_tm))
        given_parts = [pb.h0, pb.c0][:2 if cfg.lstm else 1]
        states0 = [None if s is None else np.ascontiguousarray(pb.user_state(s))
                   for s in given_parts]

        def hx_of(parts):
            if cfg.lstm:
                return None if all(p is None for p in parts) else tuple(parts)
            return parts[0]

        def loss(x=x0, parts=states0):
            o, s = layer(x, hx_of(parts), lengths=pb.lengths)
            return total_loss(o, s, R, Rs)

        base = loss()
        o, s = layer(x0, hx_of(states0), lengths=pb.lengths)
        scale = float(np.sum(np.abs(o * R)))
        if Rs is not None:
            scale += sum(float(np.sum(np.abs(a * r))) for a, r in zip(state_list(s), state_list(Rs))
                         if r is not None)
        scale = max(scale, 1e-300)

        v = rng.standard_normal(x0.shape)
        directional_check("dx", dx, lambda t: loss(x=x0 + t * v), base, v, scale)
        for i, (s0, g) in enumerate(zip(states0, state_list(dhx))):
            name = ("dh0", "dc0")[i]
            assert g.shape == pb.user_state(np.zeros((cfg.num_layers * cfg.D, cfg.B, cfg.H))).shape
            if s0 is None:     # a defaulted state's gradient is zeros
                assert not np.any(g), name
                continue
            v = rng.standard_normal(s0.shape)
            directional_check(name, g, lambda t: loss(parts=[s0 + t * v if j == i else p
                                                             for j, p in enumerate(states0)]),
                              base, v, scale)
        check_parameters(layer.parameters(), layer.grads, loss, base, rng, scale)


@FUZZ
@with_sweep(sweep(dtype="float32"), dstate=["full", "half", "none"])
@given(cfg=configs(dtype="float32", x_scales=[0.1, 1.0, 3.0]),
       dstate=st.sampled_from(["none", "full", "half"]))
def test_float32_gradients_match_float64(cfg, dstate):
    """The same problem in float32 and float64 (float32-exact values) gives
    the same gradients to float32 accuracy."""
    _count("float32_gradients_match_float64")
    pb32 = Problem(cfg)
    l32 = pb32.layer
    l64 = make_layer(cfg.kind, cfg.I, cfg.H, num_layers=cfg.num_layers, bias=cfg.bias,
                     batch_first=cfg.layout == "batch_first", bidirectional=cfg.D == 2,
                     merge_mode="concat" if cfg.D == 1 else cfg.direction, dtype="float64")
    l64.load_state_dict(l32.state_dict())
    x64, hx64 = _clean_copy(pb32)                      # the float32-exact values, in float64
    with running_with(cfg.threads, cfg.plan):
        (o32, s32), bp32 = l32.forward_train(pb32.x, pb32.hx, lengths=pb32.lengths)
        (o64, s64), bp64 = l64.forward_train(x64, hx64, lengths=pb32.lengths)
        R, Rs = random_cotangents(pb32.rng, o32, s32, dstate)
        R = R.astype(np.float32).astype(np.float64)
        if Rs is not None:
            Rs = (tuple(None if r is None else r.astype(np.float32).astype(np.float64) for r in Rs)
                  if cfg.lstm else Rs.astype(np.float32).astype(np.float64))
        dx32, dh32 = bp32(R, Rs)
        dx64, dh64 = bp64(R, Rs)
    assert dx32.dtype == np.float32
    tol = dict(f32=2e-3)
    assert_close(o32, o64, "float32", "out", **tol)
    assert_close(dx32, dx64, "float32", "dx", **tol)
    for a, b in zip(state_list(dh32), state_list(dh64)):
        assert a.dtype == np.float32
        assert_close(a, b, "float32", "dhx", **tol)
    for name in l64.grads:
        assert_close(l32.grads[name], l64.grads[name], "float32", name, **tol)


@FUZZ
@with_sweep(sweep(dtype="float64", kinds=["rnn_tanh", "rnn_relu", "lstm", "gru"],
                  directions=["uni", "concat"], layouts=["time_major", "batch_first"],
                  min_length=1), dstate=["full", "none"])
@given(cfg=configs(dtype="float64", kinds=["rnn_tanh", "rnn_relu", "lstm", "gru"],
                   directions=["uni", "concat"], layouts=["time_major", "batch_first"],
                   x_scales=[0.1, 1.0, 3.0], min_length=1),
       dstate=st.sampled_from(["none", "full"]))
def test_gradients_match_torch(cfg, dstate):
    """Elementwise against PyTorch (packed sequences for ragged lengths),
    where PyTorch has the same model: concat / one direction, GRU
    reset_after=True, lengths >= 1."""
    _count("gradients_match_torch")
    torch = torch_or_skip()
    pb = Problem(cfg)
    layer = pb.layer
    mode, _ = MODE_OF[cfg.kind]
    kw = dict(num_layers=cfg.num_layers, bias=cfg.bias, bidirectional=cfg.D == 2)
    if mode.startswith("rnn"):
        mod = torch.nn.RNN(cfg.I, cfg.H, nonlinearity=mode[4:], **kw)
    else:
        mod = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[mode](cfg.I, cfg.H, **kw)
    mod = mod.double()
    mod.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in layer.state_dict().items()})

    with running_with(cfg.threads, cfg.plan):
        layer.zero_grad()
        (out, state), backprop = layer.forward_train(pb.x, pb.hx, lengths=pb.lengths)
        R, Rs = random_cotangents(pb.rng, out, state, "none" if dstate == "none" else "full")
        dx, dhx = backprop(R, Rs)

    xt = torch.tensor(pb.x_tm, requires_grad=True)
    given_states = [s for s in (pb.h0, pb.c0) if s is not None] if cfg.lstm else \
        ([pb.h0] if pb.h0 is not None else [])
    h_t = [None if s is None else torch.tensor(s, requires_grad=True)
           for s in ((pb.h0, pb.c0) if cfg.lstm else (pb.h0,))]
    LD, B, H = cfg.num_layers * cfg.D, cfg.B, cfg.H
    full = [t if t is not None else torch.zeros(LD, B, H, dtype=torch.float64) for t in h_t]
    hx_t = None if not given_states else (tuple(full) if cfg.lstm else full[0])
    inp = xt
    if pb.lengths_arr is not None:
        inp = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(pb.lengths_arr),
                                                      enforce_sorted=False)
    out_t, st_t = mod(inp, hx_t)
    if pb.lengths_arr is not None:
        out_t, _ = torch.nn.utils.rnn.pad_packed_sequence(out_t, total_length=cfg.T)
    st_t = list(st_t) if cfg.lstm else [st_t]
    loss = (out_t * torch.from_numpy(pb.tm(R).copy())).sum()
    if Rs is not None:
        for s, r in zip(st_t, state_list(Rs)):
            loss = loss + (s * torch.from_numpy(pb.tm_state(r).copy())).sum()
    loss.backward()

    tol = dict(f64=1e-9)
    assert_close(pb.tm(out), out_t.detach().numpy(), "float64", "out", **tol)
    for name, a, b in zip(("h_n", "c_n"), pb.states_tm(state), st_t):
        assert_close(a, b.detach().numpy(), "float64", name, **tol)
    assert_close(pb.tm(dx), xt.grad.numpy(), "float64", "dx", **tol)
    for name, g, t in zip(("dh0", "dc0"), pb.states_tm(dhx), h_t):
        if t is None:
            assert not np.any(g), name
        else:
            assert_close(g, t.grad.numpy(), "float64", name, **tol)
    for name, p in mod.named_parameters():
        assert_close(layer.grads[name], p.grad.numpy(), "float64", name, **tol)


@FUZZ
@with_sweep(sweep(threads=(2, 3)), dstate=["full", "half", "none"])
@given(cfg=configs(threads=st.integers(2, 3)), dstate=st.sampled_from(["none", "full", "half"]))
def test_thread_counts_agree(cfg, dstate):
    """1 thread against 2-3 threads with each split: outputs, states and
    every gradient agree to rounding."""
    _count("thread_counts_agree")
    results = []
    for threads, plan in ((1, "auto"), (cfg.threads, cfg.plan)):
        pb = Problem(cfg)
        with running_with(threads, plan):
            (out, state), backprop = pb.layer.forward_train(pb.x, pb.hx, lengths=pb.lengths)
            inf_out, _ = pb.layer(pb.x, pb.hx, lengths=pb.lengths)
            R, Rs = random_cotangents(pb.rng, out, state, dstate)
            dx, dhx = backprop(R, Rs)
        results.append([out, inf_out] + state_list(state) + [dx] + state_list(dhx) +
                       [pb.layer.grads[k] for k in sorted(pb.layer.grads)])
    for i, (a, b) in enumerate(zip(*results)):
        assert_close(b, a, cfg.dtype, f"result {i}", f32=1e-5, f64=1e-12)


@st.composite
def cell_configs(draw):
    return dict(kind=draw(st.sampled_from(KINDS)), dtype=draw(st.sampled_from(["float32", "float64"])),
                batched=draw(st.booleans()), B=draw(st.integers(1, 9)), I=draw(sizes()),
                H=draw(sizes()), bias=draw(st.booleans()),
                states=draw(st.sampled_from(["none", "h", "c", "both"])),
                view=draw(st.sampled_from(VIEWS)), src=draw(st.sampled_from(SRC_DTYPES)),
                threads=draw(st.integers(1, 3)), seed=draw(st.integers(0, 2**32 - 1)))


@FUZZ
@given(c=cell_configs())
def test_cells_match_reference_and_finite_differences(c):
    _count("cells_match_reference_and_finite_differences")
    rng = np.random.default_rng(c["seed"])
    lstm = c["kind"] == "lstm"
    mode, reset_after = MODE_OF[c["kind"]]
    cell = make_cell(c["kind"], c["I"], c["H"], bias=c["bias"], dtype=c["dtype"],
                     seed=int(rng.integers(2**31)))
    B = c["B"] if c["batched"] else 1
    x = rng.standard_normal((B, c["I"]))
    hs = [rng.uniform(-1, 1, (B, c["H"])) for _ in range(2)]
    names = ("h", "c") if lstm else ("h",)
    given_ = [c["states"] in (n, "both") for n in names]

    def shaped(a):
        return a if c["batched"] else a[0]

    parts = [present(shaped(h), c["view"], c["src"]) if g else None for h, g in zip(hs, given_)]
    state = (tuple(parts) if any(given_) else None) if lstm else parts[0]
    with running_with(c["threads"]):
        new = cell(present(shaped(x), c["view"], c["src"]), state)
        new_t, backprop = cell.forward_train(present(shaped(x), c["view"], c["src"]), state)
    for a, b in zip(state_list(new), state_list(new_t)):
        np.testing.assert_array_equal(a, b)
    p = {k: v.astype(np.float64) for k, v in cell.state_dict().items()}
    xl = logical(x, c["src"], c["dtype"])
    hl = [logical(h, c["src"], c["dtype"]) if g else np.zeros((B, c["H"])) for h, g in zip(hs, given_)]
    hl += [np.zeros((B, c["H"]))] * (2 - len(hl))
    for b in range(B):
        zeros = np.zeros(p["weight_ih"].shape[0])
        h_ref, c_ref = cell_step(mode, xl[b], hl[0][b], hl[1][b], p["weight_ih"], p["weight_hh"],
                                 p.get("bias_ih", zeros), p.get("bias_hh", zeros), reset_after)
        got = [np.atleast_2d(s)[b] for s in state_list(new)]
        assert_close(got[0], h_ref, c["dtype"], "h")
        if lstm:
            assert_close(got[1], c_ref, c["dtype"], "c")
    # gradients: float64 by finite differences along random directions
    Rs = [rng.standard_normal(np.shape(s)) for s in state_list(new_t)]
    with running_with(c["threads"]):
        dx, dprev = backprop(tuple(Rs) if lstm else Rs[0])
    assert np.shape(dx) == np.shape(shaped(x))
    for g, giv in zip(state_list(dprev), given_):
        if not giv:
            assert not np.any(g)
    if c["dtype"] != "float64":
        return
    x0 = np.ascontiguousarray(shaped(xl))
    s0 = [np.ascontiguousarray(shaped(h)) if g else None for h, g in zip(hl, given_)]

    def loss(xv=x0, sv=s0):
        st_ = (tuple(sv) if any(v is not None for v in sv) else None) if lstm else sv[0]
        return total_loss(0.0, cell(xv, st_), 0.0, tuple(Rs) if lstm else Rs[0])

    base = loss()
    scale = sum(float(np.sum(np.abs(s * r))) for s, r in zip(state_list(new), Rs)) + 1e-300
    v = rng.standard_normal(x0.shape)
    directional_check("dx", dx, lambda t: loss(xv=x0 + t * v), base, v, scale)
    for i, g in enumerate(state_list(dprev)):
        if s0[i] is None:
            continue
        v = rng.standard_normal(s0[i].shape)
        directional_check(names[i], g, lambda t: loss(sv=[s + t * v if j == i else s
                                                          for j, s in enumerate(s0)]), base, v, scale)
    check_parameters(cell.parameters(), cell.grads, loss, base, rng, scale)


# ------------------------------------------------------------ invalid inputs
CORRUPTIONS = ["x_ndim", "x_features", "x_empty", "x_type", "lengths_range", "lengths_shape",
               "lengths_type", "state_shape", "state_type", "hx_structure", "dout_shape",
               "dstate_shape", "backprop_twice"]


@FUZZ
@given(cfg=configs(max_T=5, max_B=4, max_size=6, threads=st.integers(1, 2),
                   layouts=["time_major", "batch_first"]),
       corruption=st.sampled_from(CORRUPTIONS), train=st.booleans(), data=st.data())
def test_invalid_inputs_raise_cleanly(cfg, corruption, train, data):
    """Each malformed argument raises ValueError or TypeError naming it (or
    RuntimeError for a second backprop); nothing crashes and the layer
    still works afterwards."""
    _count("invalid_inputs_raise_cleanly")
    pb = Problem(cfg)
    layer = pb.layer
    T, B, I, H = cfg.T, cfg.B, cfg.I, cfg.H
    LD = cfg.num_layers * cfg.D
    args = dict(x=pb.x, hx=pb.hx, lengths=pb.lengths)
    exc, names = (ValueError, TypeError), None
    if corruption == "x_ndim":
        ndim = data.draw(st.sampled_from([0, 1, 4, 5]))
        lead = data.draw(st.lists(st.integers(1, 3), min_size=max(ndim - 1, 0),
                                  max_size=max(ndim - 1, 0)))
        args["x"] = np.zeros(()) if ndim == 0 else np.zeros(tuple(lead) + (I,))
        exc, names = ValueError, ["x"]
    elif corruption == "x_features":
        k = data.draw(st.integers(0, 50).filter(lambda k: k != I))
        shape = (B, T, k) if cfg.layout == "batch_first" else (T, B, k)
        args["x"] = np.ones(shape)
        exc, names = ValueError, ["x", "input_size"]
    elif corruption == "x_empty":
        # no time steps (a batch of no rows is valid: tests/functional/test_empty_batch.py)
        shape = (B, 0, I) if cfg.layout == "batch_first" else (0, B, I)
        args.update(x=np.zeros(shape), hx=None, lengths=None)
        exc, names = ValueError, ["x"]
    elif corruption == "x_type":
        args["x"] = data.draw(st.sampled_from([
            np.zeros((T, B, I), dtype=np.complex128), np.full((T, B, I), "a"), "abc", None,
            np.empty((T, B, I), dtype=object), [[[1.0] * I]] + [[[1.0] * (I + 1)]],
            {"x": 1}, np.zeros((T, B, I), dtype="datetime64[s]")]))
        exc, names = TypeError, ["x"]
    elif corruption == "lengths_range":
        bad = list(pb.lengths_arr if pb.lengths_arr is not None else [T] * B)
        bad[data.draw(st.integers(0, B - 1))] = data.draw(st.one_of(st.integers(-2**40, -1),
                                                                    st.integers(T + 1, 2**40)))
        args["lengths"] = np.asarray(bad, dtype=np.int64)
        exc, names = ValueError, ["lengths"]
    elif corruption == "lengths_shape":
        n = data.draw(st.integers(0, 12).filter(lambda n: n != B))
        args["lengths"] = data.draw(st.sampled_from([[T] * n, np.full((B, 1), T), np.full((1, B), T),
                                                     T])) if n else np.full((B, 2), 1)
        exc, names = ValueError, ["lengths"]
    elif corruption == "lengths_type":
        bad = data.draw(st.sampled_from([0.5, np.nan, np.inf, "a", True, 1 + 1j, None]))
        lens = [min(1, T)] * B
        lens[data.draw(st.integers(0, B - 1))] = bad
        args["lengths"] = np.array(lens) if bad is not None else lens
        if bad is True:
            args["lengths"] = np.ones(B, dtype=bool)
        exc, names = TypeError, ["lengths"]
    elif corruption in ("state_shape", "state_type"):
        which = data.draw(st.integers(0, 1 if cfg.lstm else 0))
        shape = [LD, B, H]
        if corruption == "state_shape":
            how = data.draw(st.sampled_from(["dim", "drop", "add"]))
            if how == "dim":
                axis = data.draw(st.integers(0, 2))
                shape[axis] = data.draw(st.integers(0, 9).filter(lambda n: n != shape[axis]))
            elif how == "drop":
                del shape[data.draw(st.integers(0, 2))]
            else:
                shape.append(1)
            bad = np.zeros(shape)
            exc = ValueError
        else:
            bad = np.zeros(shape, dtype=data.draw(st.sampled_from([np.complex64, object, "U1"])))
            exc = TypeError
        names = [("h0", "c0")[which]]
        if cfg.lstm:
            parts = [np.zeros((LD, B, H)), np.zeros((LD, B, H))]
            parts[which] = bad
            args["hx"] = tuple(parts)
        else:
            args["hx"] = bad
    elif corruption == "hx_structure":
        good = np.zeros((LD, B, H))
        if cfg.lstm:
            args["hx"] = data.draw(st.sampled_from([good, (good,), (good, good, good), "hc", 3]))
            exc, names = TypeError, ["hx"]
        else:
            args["hx"] = data.draw(st.sampled_from([(good, good), "h", object()]))
            names = ["h0", "hx"]
    elif corruption in ("dout_shape", "dstate_shape", "backprop_twice"):
        (out, state), backprop = layer.forward_train(**args)
        if corruption == "backprop_twice":
            backprop(np.zeros(out.shape))
            with pytest.raises(RuntimeError):
                backprop(np.zeros(out.shape))
            return
        if corruption == "dout_shape":
            shape = list(out.shape)
            axis = data.draw(st.integers(0, 2))
            shape[axis] += data.draw(st.sampled_from([-1, 1, 5])) if shape[axis] > 1 else 1
            bad_args = (np.zeros(shape),)
            exc, names = ValueError, ["dout"]
        else:
            bad = np.zeros((LD + 1, B, H))
            bad_args = (np.zeros(out.shape), (bad, None) if cfg.lstm else bad)
            exc, names = ValueError, ["dh_n"]
        with pytest.raises(exc) as info:
            backprop(*bad_args)
        assert any(n in str(info.value) for n in names), str(info.value)
        return

    with running_with(cfg.threads):
        with pytest.raises(exc) as info:
            if train:
                layer.forward_train(**args)
            else:
                layer(**args)
    assert names is None or any(n in str(info.value) for n in names), str(info.value)
    # the layer is still usable
    layer(pb.x, pb.hx, lengths=pb.lengths)


# ------------------------------------------------------- non-finite values
NONFINITE = [np.nan, np.inf, -np.inf, 1e300, -1e300]


def _clean_copy(pb):
    """A Problem with contiguous float64 user-layout arrays and the same layer."""
    x = np.array(pb.user(pb.x_tm))
    parts = [None if s is None else np.array(pb.user_state(s)) for s in (pb.h0, pb.c0)]
    hx = (tuple(parts) if any(p is not None for p in parts) else None) if pb.cfg.lstm else parts[0]
    return x, hx


@FUZZ
@given(cfg=configs(x_scales=[1.0]), value=st.sampled_from(NONFINITE), where=st.sampled_from(["x", "h"]),
       data=st.data())
def test_nonfinite_values_stay_in_their_row(cfg, value, where, data):
    """NaN / Inf / huge values in one batch row of x (a valid step) or of a
    state: other rows are unchanged; a NaN reaches that row's outputs at
    the step it enters and all of the row's final states."""
    _count("nonfinite_values_stay_in_their_row")
    if where == "x" and cfg.lengths is not None and max(cfg.lengths) == 0:
        cfg = replace(cfg, lengths=None)
    if where == "h" and cfg.states == "none":
        cfg = replace(cfg, states="h")
    pb = Problem(cfg)
    x, hx = _clean_copy(pb)
    lens = pb.lengths_arr if pb.lengths_arr is not None else np.full(cfg.B, cfg.T)
    xb = np.array(pb.user(pb.x_tm))
    t = None
    if where == "x":
        b = data.draw(st.sampled_from([r for r in range(cfg.B) if lens[r] > 0]))
        t = data.draw(st.integers(0, int(lens[b]) - 1))
        i = data.draw(st.integers(0, cfg.I - 1))
        x_tm = pb.x_tm.copy()
        x_tm[t, b, i] = value
        xb = np.array(pb.user(x_tm))
        hbad = hx
    else:
        b = data.draw(st.integers(0, cfg.B - 1))
        k = data.draw(st.integers(0, cfg.num_layers * cfg.D - 1))
        j = data.draw(st.integers(0, cfg.H - 1))
        parts = [None if s is None else s.copy() for s in (pb.h0, pb.c0)]
        which = data.draw(st.sampled_from([n for n, s in enumerate(parts) if s is not None]))
        parts[which][k, b, j] = value
        parts = [None if s is None else np.array(pb.user_state(s)) for s in parts]
        hbad = tuple(parts) if cfg.lstm else parts[0]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        with running_with(cfg.threads, cfg.plan):
            out_c, st_c = pb.layer(x, hx, lengths=pb.lengths)
            out_b, st_b = pb.layer(xb, hbad, lengths=pb.lengths)
            (out_t, st_t), backprop = pb.layer.forward_train(xb, hbad, lengths=pb.lengths)
            dx, dhx = backprop(np.ones(out_t.shape))
            (_, _), backprop_c = pb.layer.forward_train(x, hx, lengths=pb.lengths)
            dx_c, dhx_c = backprop_c(np.ones(out_t.shape))
    assert out_b.shape == out_c.shape and dx.shape == np.shape(xb)
    np.testing.assert_array_equal(out_t, out_b)
    others = [r for r in range(cfg.B) if r != b]
    oc, ob = pb.tm(out_c), pb.tm(out_b)
    assert_close(ob[:, others], oc[:, others], cfg.dtype, "other rows' out", f32=1e-6, f64=1e-13)
    for sc, sb in zip(pb.states_tm(st_c), pb.states_tm(st_b)):
        assert_close(sb[:, others], sc[:, others], cfg.dtype, "other rows' state", f32=1e-6,
                     f64=1e-13)
    assert_close(pb.tm(dx)[:, others], pb.tm(dx_c)[:, others], cfg.dtype, "other rows' dx",
                 f32=1e-6, f64=1e-13)
    if np.isnan(value) and where == "x":
        assert np.all(np.isnan(ob[t, b])), f"NaN at step {t} row {b} lost: {ob[t, b]}"
        for s in pb.states_tm(st_b):
            assert np.all(np.isnan(s[:, b])), f"NaN lost from the final state of row {b}"
    if np.isnan(value) and where == "h":
        assert any(np.any(np.isnan(s[:, b])) for s in pb.states_tm(st_b)), \
            f"NaN in the initial state of row {b} lost"


@FUZZ
@given(cfg=configs(), value=st.sampled_from(NONFINITE), data=st.data())
def test_padding_is_never_read(cfg, value, data):
    """Garbage in x past a row's length, or in dout past it (where the output
    is the constant zero), changes no result (PyTorch's packed semantics)."""
    _count("padding_is_never_read")
    if cfg.lengths is None or min(cfg.lengths) == cfg.T:
        short = data.draw(st.lists(st.integers(0, cfg.T - 1), min_size=1, max_size=1))[0]
        lengths = [cfg.T] * cfg.B
        lengths[data.draw(st.integers(0, cfg.B - 1))] = short
        cfg = replace(cfg, lengths=lengths)
    pb = Problem(cfg)
    x, hx = _clean_copy(pb)
    pad = np.arange(cfg.T)[:, None] >= pb.lengths_arr[None, :]          # (T, B)
    fill = data.draw(st.sampled_from(["all", "one"]))
    if fill == "one":
        ts, bs = np.nonzero(pad)
        k = data.draw(st.integers(0, len(ts) - 1))
        pad = np.zeros_like(pad)
        pad[ts[k], bs[k]] = True
    x_tm = pb.x_tm.copy()
    x_tm[pad] = value
    xg = np.array(pb.user(x_tm))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        with running_with(cfg.threads, cfg.plan):
            out_c, st_c = pb.layer(x, hx, lengths=pb.lengths)
            out_gi, st_gi = pb.layer(xg, hx, lengths=pb.lengths)
            (out_g, st_g), backprop = pb.layer.forward_train(xg, hx, lengths=pb.lengths)
            R = pb.rng.standard_normal(out_c.shape)
            R_tm = pb.tm(R).copy()
            R_tm[pad] = value
            pb.layer.zero_grad()
            dx, dhx = backprop(np.array(pb.user(R_tm)))
            grads_g = {k: v.copy() for k, v in pb.layer.grads.items()}
            (_, _), backprop_c = pb.layer.forward_train(x, hx, lengths=pb.lengths)
            pb.layer.zero_grad()
            dx_c, dhx_c = backprop_c(R)
    for out, state in ((out_gi, st_gi), (out_g, st_g)):   # inference, training
        assert not np.any(pb.tm(out)[pad]), "out past a row's length must be zeros"
        assert_close(out, out_c, cfg.dtype, "out with garbage padding", f32=1e-6, f64=1e-13)
        for a, b in zip(state_list(state), state_list(st_c)):
            assert_close(a, b, cfg.dtype, "state with garbage padding", f32=1e-6, f64=1e-13)
    d = pb.tm(dx)
    assert not np.any(d[pad]), "dx past a row's length must be zeros"
    assert_close(dx, dx_c, cfg.dtype, "dx with garbage padding", f32=1e-6, f64=1e-13)
    for a, b in zip(state_list(dhx), state_list(dhx_c)):
        assert_close(a, b, cfg.dtype, "dhx with garbage padding", f32=1e-6, f64=1e-13)
    for k in grads_g:
        assert_close(grads_g[k], pb.layer.grads[k], cfg.dtype, k, f32=1e-6, f64=1e-13)

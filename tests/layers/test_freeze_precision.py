"""fr.freeze(module, precision="int8" | "bf16"): recurrent weights stored
once at a low precision.  The layers are checked against the numpy
reference with the same rounded products, and for what low precision must
not change: a row's result whatever rows and threads share the call,
streams that step like the whole-sequence call, NaN where float32 gives NaN."""
import textwrap
import warnings

import numpy as np
import pytest

import fastrnn as fr
from fastrnn import _kernels

from helpers.cases import CELLS, IDS, LAYERS
from helpers.reference import low_precision_matvecs, reference_forward
from helpers.running import run_python

BF16 = _kernels.recurrent.low_precision_kernels()["bf16"]
PRECISIONS = ["int8"] + (["bf16"] if BF16 else [])


def _on_threads(n, call, *args, **kwargs):
    """``call(*args, **kwargs)`` with the kernels on ``n`` threads."""
    before = fr.get_num_threads()
    fr.set_num_threads(n)
    try:
        return call(*args, **kwargs)
    finally:
        fr.set_num_threads(before)


def _states(cls, layers_directions, B, H, rng):
    h0 = rng.uniform(-0.5, 0.5, (layers_directions, B, H)).astype(np.float32)
    return (h0, rng.uniform(-0.5, 0.5, (layers_directions, B, H)).astype(np.float32)) \
        if cls is fr.LSTM else h0


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("cls, kw", LAYERS, ids=IDS)
def test_a_low_precision_layer_computes_the_rounded_products(rng, precision, cls, kw):
    """Both directions, ragged lengths, initial states: the frozen layer
    against the reference run with the same rounding of weights and inputs
    -- much closer to it than to the float32 layer."""
    layer = cls(24, 32, bidirectional=True, seed=1, **kw)
    B, T = 6, 9
    x = rng.standard_normal((T, B, 24)).astype(np.float32)
    hx = _states(cls, 2, B, 32, rng)
    lengths = np.array([9, 4, 1, 9, 7, 0])
    out, _ = fr.freeze(layer, precision)(x, hx, lengths)
    reset_after = kw.get("reset_after", True)
    h0, c0 = (hx if cls is fr.LSTM else (hx, None))
    for d in range(2):
        weights = layer.direction_weights(0, d)
        args = dict(h0=h0[d], c0=None if c0 is None else c0[d], lengths=lengths,
                    reverse=d == 1, reset_after=reset_after)
        mode = layer.mode
        rounded = reference_forward(mode, x, *weights, **low_precision_matvecs(precision, 24),
                                    **args)[0]
        exact = reference_forward(mode, x, *weights, **args)[0]
        got = out[..., d * 32:(d + 1) * 32]
        err = np.abs(got - rounded)
        # The same rounded values almost everywhere (float32 ulps); where the
        # reference's float64 state rounds to the other int8 level than the
        # kernel's float32 one, that row drifts by a quantization step.
        assert np.median(err) < 1e-6, np.median(err)
        assert err.max() < 0.5 * np.abs(got - exact).max(), (err.max(), np.abs(got - exact).max())
        assert (got[lengths[None, :] <= np.arange(T)[:, None]] == 0).all()   # past the lengths


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("cls, kw", CELLS, ids=IDS)
def test_a_low_precision_cell_computes_the_rounded_products(rng, precision, cls, kw):
    cell = cls(10, 16, seed=2, **kw)
    frozen = fr.freeze(cell, precision)
    assert frozen.precision == precision
    x = rng.standard_normal((5, 10)).astype(np.float32)
    h0 = rng.uniform(-0.5, 0.5, (5, 16)).astype(np.float32)
    state = (h0, h0[::-1].copy()) if cls is fr.LSTMCell else h0
    got = frozen(x, state)
    got_h = got[0] if isinstance(got, tuple) else got
    rounded = reference_forward(cell.mode, x[None], *cell._weights(), h0=h0,
                                c0=h0[::-1] if cls is fr.LSTMCell else None,
                                reset_after=kw.get("reset_after", True),
                                **low_precision_matvecs(precision, 10))[0][0]
    assert np.abs(got_h - rounded).max() < 1e-3


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("cls, kw", LAYERS, ids=IDS)
def test_rows_and_threads_do_not_change_a_result(rng, precision, cls, kw):
    """Per-row quantization: a row's result is the same bits whatever rows
    share the call and however many threads split it."""
    frozen = fr.freeze(cls(40, 48, num_layers=2, bidirectional=True, seed=0, **kw), precision)
    x = rng.standard_normal((7, 9, 40)).astype(np.float32)
    lengths = np.array([7, 2, 5, 7, 1, 6, 7, 3, 4])
    out1, _ = _on_threads(1, frozen, x, lengths=lengths)
    out2, _ = _on_threads(2, frozen, x, lengths=lengths)
    np.testing.assert_array_equal(out1, out2)
    for rows in ([0], [3, 4], [8, 1, 5]):
        part, _ = frozen(np.ascontiguousarray(x[:, rows]), lengths=lengths[rows])
        np.testing.assert_array_equal(part, out2[:, rows])


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("cls, kw", LAYERS, ids=IDS)
@pytest.mark.parametrize("B", [1, 4])
def test_a_low_precision_stream_steps_like_the_whole_sequence(rng, precision, cls, kw, B):
    frozen = fr.freeze(cls(6, 10, num_layers=2, seed=2, **kw), precision)
    x = rng.standard_normal((8, B, 6)).astype(np.float32)
    hx = _states(cls, 2, B, 10, rng)
    out, state = frozen(x, hx)
    stream = frozen.stream(batch_size=B)
    stream.state = hx
    np.testing.assert_array_equal(np.stack([stream.step(x_t) for x_t in x]), out)
    for got, want in zip(state if isinstance(state, tuple) else (state,),
                         stream.state if isinstance(stream.state, tuple) else (stream.state,)):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_a_row_with_a_nan_gives_nans_in_that_row_only(rng, precision):
    frozen = fr.freeze(fr.LSTM(8, 16, seed=0), precision)
    x = rng.standard_normal((4, 3, 8)).astype(np.float32)
    x[2, 1, 3] = np.nan
    out, _ = frozen(x)
    assert np.isfinite(out[:, 0]).all() and np.isfinite(out[:2, 1]).all()
    assert np.isfinite(out[:, 2]).all() and np.isnan(out[2:, 1]).all()


def test_an_int8_row_with_an_inf_gives_nans_not_a_zeroed_row(rng):
    """An inf has no int8 scale: the row's products are NaN rather than
    the finite answer of a row quantized to zeros."""
    frozen = fr.freeze(fr.GRU(32, 16, seed=0), "int8")
    x = rng.standard_normal((4, 3, 32)).astype(np.float32)
    x[1, 2, 0] = np.inf
    out, _ = frozen(x)
    assert np.isfinite(out[:, :2]).all() and np.isnan(out[1:, 2]).all()


def test_the_frozen_copies_say_their_precision(rng):
    lstm = fr.LSTM(8, 16, seed=0)
    assert fr.freeze(lstm).precision == "float32"
    assert repr(fr.freeze(lstm, "float32")) == "fr.freeze(LSTM(8, 16))"
    frozen = fr.freeze(lstm, "int8")
    assert frozen.precision == "int8" and frozen.dtype == np.float32
    assert repr(frozen) == "fr.freeze(LSTM(8, 16), precision='int8')"
    x = rng.standard_normal((5, 2, 8)).astype(np.float32)
    out, (h, c) = frozen(x)
    assert out.dtype == h.dtype == c.dtype == np.float32
    # What the layer stores changes nothing in the frozen copy.
    lstm.parameters()["weight_ih_l0"][...] = 0
    np.testing.assert_array_equal(frozen(x)[0], out)


def test_a_sequential_and_a_model_pass_the_precision_to_their_recurrent_layers(rng):
    seq = fr.Sequential(fr.GRU(8, 16, seed=1), fr.Linear(16, 4, seed=2))
    assert seq.frozen_precisions == ("bf16", "int8")
    frozen = fr.freeze(seq, "int8")
    assert frozen.precision == "int8"
    assert frozen[0].precision == "int8" and frozen[1].precision == "float32"
    x = rng.standard_normal((6, 3, 8)).astype(np.float32)
    assert np.abs(frozen(x) - seq(x)).max() < 0.05

    model = fr.SequenceClassifier(vocab_size=30, num_classes=3, hidden_size=16, seed=0)
    X = rng.integers(1, 30, (20, 9))
    quantized = fr.freeze(model, "int8")
    assert quantized.precision == "int8"
    np.testing.assert_allclose(quantized.predict_proba(X), model.predict_proba(X), atol=0.02)
    s2s = fr.Seq2Seq(src_vocab_size=12, tgt_vocab_size=12, embed_size=8, hidden_size=16,
                     attention="dot", seed=0)
    assert len(fr.freeze(s2s, "int8").translate([[3, 4, 5]], max_len=5)) == 1


# torch.ao's quantization says it will move to torchao
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
def test_int8_results_are_closer_to_float32_than_torchs_dynamic_quantization(rng):
    """On the same weights, fastrnn's int8 (per-row activations, per-channel
    weights, 8 bits each) errs less than torch.ao's quantize_dynamic
    (per-tensor activations on 7 bits, per-tensor weights)."""
    import torch
    from torch.ao.quantization import quantize_dynamic
    torch.manual_seed(0)
    for torch_cls in (torch.nn.LSTM, torch.nn.GRU):
        module = torch_cls(64, 128)
        quantized = quantize_dynamic(torch.nn.Sequential(module), {torch_cls}, dtype=torch.qint8)[0]
        x = torch.randn(30, 16, 64)
        with torch.no_grad():
            want, theirs = module(x)[0].numpy(), quantized(x)[0].numpy()
        assert type(quantized) is not torch_cls     # it is quantized
        ours = fr.freeze(fr.from_torch(module), "int8")(x.numpy())[0]
        ours_err, torch_err = np.abs(ours - want), np.abs(theirs - want)
        assert ours_err.mean() < torch_err.mean() and ours_err.max() < torch_err.max()


@pytest.mark.parametrize("precision", PRECISIONS)
def test_weights_that_are_not_finite_are_refused_when_freezing(precision):
    gru = fr.GRU(4, 6, seed=0)
    gru.parameters()["weight_hh_l0"][2, 3] = np.inf
    with pytest.raises(ValueError, match=f"precision='{precision}': w_hh holds inf or NaN"):
        fr.freeze(gru, precision)


@pytest.mark.parametrize("module, precision, error, match", [
    (fr.LSTM(3, 4), 8, TypeError, "precision must be None or a str"),
    (fr.LSTM(3, 4), "fp16", ValueError, "precision must be None, 'float32'"),
    (fr.LSTM(3, 4), "float64", ValueError, "got 'float64'"),
    (fr.LSTM(3, 4, dtype="float64"), "int8", ValueError, "needs a float32 LSTM; this one is float64"),
    (fr.Linear(3, 4), "int8", ValueError, "a frozen Linear keeps its weights in float32"),
    (fr.Embedding(5, 4), "int8", ValueError, "a frozen Embedding keeps"),
    (fr.Sequential(fr.Linear(3, 4)), "int8", ValueError, "a frozen Sequential keeps"),
])
def test_bad_precisions_are_refused(module, precision, error, match):
    with pytest.raises(error, match=match):
        fr.freeze(module, precision)


def test_bf16_is_refused_where_no_kernel_runs_it(tmp_path):
    code = ("import fastrnn as fr\n"
            "try:\n"
            "    fr.freeze(fr.LSTM(4, 8), 'bf16')\n"
            "except ValueError as e:\n"
            "    print(e)\n")
    res = run_python(code, tmp_path, FASTRNN_KERNELS="baseline")
    assert res.returncode == 0, res.stderr
    assert "precision='bf16' needs a CPU with AVX-512 BF16" in res.stdout
    assert "runs the baseline kernels" in res.stdout


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("cls, kw", [c for c in LAYERS if c[1] != {"reset_after": False}],
                         ids=[i for i, c in zip(IDS, LAYERS) if c[1] != {"reset_after": False}])
@pytest.mark.parametrize("B", [1, 3, 6])
@pytest.mark.parametrize("I", [8, 40])
def test_every_split_gives_the_one_thread_bits(rng, plan, precision, cls, kw, B, I):
    """The hidden-unit split (small batches on several threads: each thread
    its own gate columns, packed once per team size) and the batch split
    compute every row's products and gates alike: the one-thread bits
    (I = 8: an int8 layer's input projection in float32)."""
    frozen = fr.freeze(cls(I, 64, num_layers=2, seed=4, **kw), precision)
    x = rng.standard_normal((9, B, I)).astype(np.float32)
    lengths = np.array([9, 4, 7, 1, 9, 6][:B])
    want, want_state = _on_threads(1, frozen, x, lengths=lengths)
    got, got_state = _on_threads(2, frozen, x, lengths=lengths)
    np.testing.assert_array_equal(got, want)
    for g, w in zip(got_state if isinstance(got_state, tuple) else (got_state,),
                    want_state if isinstance(want_state, tuple) else (want_state,)):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("limit", ["1", "3"])
def test_a_smaller_team_than_packed_for_packs_its_own_blobs(tmp_path, limit):
    """OpenMP may start fewer threads than asked (OMP_THREAD_LIMIT): the
    unit split's parts then pack their own low-precision columns from the
    float32 weights (the blobs packed for 4 parts do not fit 3); the bits
    do not change."""
    code = textwrap.dedent(f"""
        import numpy as np
        import fastrnn as fr
        from fastrnn import functional as F
        F.UNIT_SPLIT_ROWS, F.UNIT_SPLIT_MIN_MACS, F.UNIT_SPLIT_MIN_CALL_MACS = 1 << 30, 0, 0
        x = np.random.default_rng(0).standard_normal((6, 2, 24)).astype(np.float32)
        for precision in {PRECISIONS!r}:
            frozen = fr.freeze(fr.LSTM(24, 100, seed=0), precision)
            fr.set_num_threads(4)
            out4 = frozen(x)[0]
            fr.set_num_threads(1)
            assert np.array_equal(out4, frozen(x)[0]), precision
        print("ok")
    """)
    proc = run_python(code, tmp_path, OMP_THREAD_LIMIT=limit)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_int8_keeps_the_projection_of_a_few_inputs_in_float32(rng):
    """Fewer than 16 inputs share one scale per row, which the largest sets
    (the adding problem's marker made its number 7-bit): their projection
    stays float32, the recurrent product int8."""
    small, wide = (fr.freeze(fr.LSTM(I, 32, seed=0), "int8")._packed[0][0] for I in (15, 16))
    assert (small.input_precision, small.precision) == ("float32", "int8")
    assert (wide.input_precision, wide.precision) == ("int8", "int8")
    bf16 = [p for p in PRECISIONS if p == "bf16"]
    for p in bf16:   # bf16 rounds each value alone: no shared scale
        assert fr.freeze(fr.LSTM(2, 32, seed=0), p)._packed[0][0].input_precision == "bf16"


def test_int8_on_the_portable_kernel_says_it_is_slower(tmp_path):
    """Without a vector int8 kernel (the baseline build) int8 still runs --
    the same int32 sums; the builds' activations differ by an ulp or two, as
    in float32 -- but slower than float32: freezing says so."""
    code = ("import warnings, numpy as np, fastrnn as fr\n"
            "x = np.ones((3, 2, 20), np.float32)\n"
            "with warnings.catch_warnings(record=True) as caught:\n"
            "    warnings.simplefilter('always')\n"
            "    out = fr.freeze(fr.GRU(20, 8, seed=0), 'int8')(x)[0]\n"
            "print([str(w.message)[:60] for w in caught if w.category is RuntimeWarning])\n"
            "np.save('out.npy', out)\n")
    res = run_python(code, tmp_path, FASTRNN_KERNELS="baseline")
    assert res.returncode == 0, res.stderr
    assert "precision='int8' on the portable int8 kernel: this CPU" in res.stdout
    x = np.ones((3, 2, 20), np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")    # a vector kernel here: no warning
        if _kernels.recurrent.low_precision_kernels()["int8"] != "generic":
            ours = fr.freeze(fr.GRU(20, 8, seed=0), "int8")(x)[0]
            np.testing.assert_allclose(np.load(tmp_path / "out.npy"), ours, rtol=1e-5, atol=1e-6)

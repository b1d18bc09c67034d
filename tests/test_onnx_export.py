"""fr.to_onnx: the exported model, run by ONNX Runtime (and OpenVINO where
installed), reproduces the fastrnn module's outputs within 1e-5 (float32),
on random weights, ragged lengths and initial states."""
import os

import numpy as np
import pytest

import fastrnn as fr

from helpers.running import docstring_examples
from helpers.cases import IDS, LAYERS, SHAPES

onnx = pytest.importorskip("onnx") if not os.environ.get("FASTRNN_REQUIRE_BENCH_SYSTEMS") \
    else __import__("onnx")
ort = pytest.importorskip("onnxruntime") if not os.environ.get("FASTRNN_REQUIRE_BENCH_SYSTEMS") \
    else __import__("onnxruntime")

TOL = 1e-5


def _ort(model, feeds):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def _openvino(model, feeds):
    """OpenVINO's outputs, or None where it is not installed."""
    try:
        import openvino as ov
    except ImportError:
        return None
    core = ov.Core()
    compiled = core.compile_model(core.read_model(model.SerializeToString(), b""), "CPU",
                                  {"INFERENCE_PRECISION_HINT": "f32"})
    result = compiled(feeds)
    return [result[out] for out in compiled.outputs]


def _close(got, want):
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL)


@pytest.mark.parametrize("cls, kw", LAYERS, ids=IDS)
@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_recurrent_layer_runs_the_same_in_onnx_runtime(rng, cls, kw, shape):
    layer = cls(5, 6, seed=1, **kw, **SHAPES[shape])
    LD = layer.num_layers * layer.num_directions
    B, T = 4, 7
    x = rng.standard_normal((B, T, 5) if layer.batch_first else (T, B, 5)).astype(np.float32)
    lengths = np.array([7, 2, 5, 1])
    h0 = rng.standard_normal((LD, B, 6)).astype(np.float32)
    c0 = rng.standard_normal((LD, B, 6)).astype(np.float32)
    hx = (h0, c0) if cls is fr.LSTM else h0

    model = fr.to_onnx(layer, initial_state=True, lengths=True)
    feeds = {"x": x, "lengths": lengths.astype(np.int64), "h0": h0}
    if cls is fr.LSTM:
        feeds["c0"] = c0
    out, state = layer(x, hx, lengths)
    want = [out] + list(state if isinstance(state, tuple) else (state,))
    for got, exp in zip(_ort(model, feeds), want):
        _close(got, exp)

    # OpenVINO ignores sequence_lens (see to_onnx): full lengths there.
    full = dict(feeds, lengths=np.full(B, T, np.int64))
    out, state = layer(x, hx)
    want = [out] + list(state if isinstance(state, tuple) else (state,))
    ov = _openvino(model, full)
    if ov is not None:
        for got, exp in zip(ov, want):
            _close(got, exp)

    plain = fr.to_onnx(layer)                      # zero state, full lengths
    assert [i.name for i in plain.graph.input] == ["x"]
    out, state = layer(x)
    want = [out] + list(state if isinstance(state, tuple) else (state,))
    for run in (_ort, _openvino):
        got = run(plain, {"x": x})
        if got is not None:
            for g, exp in zip(got, want):
                _close(g, exp)


def test_a_sequential_with_embedding_and_linear(rng, tmp_path):
    model = fr.Sequential(fr.Embedding(12, 5, seed=0), fr.Dropout(0.3),
                          fr.LSTM(5, 8, num_layers=2, bidirectional=True, seed=1),
                          fr.Sequential(fr.Linear(16, 4, seed=2)))
    ids = rng.integers(0, 12, (9, 3))
    path = tmp_path / "model.onnx"
    exported = fr.to_onnx(model, path)
    assert path.exists()
    loaded = onnx.load(str(path))
    onnx.checker.check_model(loaded)
    assert loaded.opset_import[0].version == 14 and loaded.ir_version == 7
    (got,) = _ort(loaded, {"x": ids.astype(np.int64)})
    _close(got, model(ids))
    assert exported.graph.output[0].type.tensor_type.shape.dim[2].dim_value == 4
    ov = _openvino(loaded, {"x": ids.astype(np.int64)})
    if ov is not None:
        _close(ov[0], model(ids))


def test_linear_alone(rng):
    lin = fr.Linear(6, 3, seed=0)
    x = rng.standard_normal((5, 6)).astype(np.float32)
    (got,) = _ort(fr.to_onnx(lin), {"x": x})
    _close(got, lin(x))
    nobias = fr.Linear(6, 3, bias=False, seed=0)
    (got,) = _ort(fr.to_onnx(nobias), {"x": x})
    _close(got, nobias(x))


@pytest.mark.parametrize("call, error, message", [
    (lambda: fr.to_onnx("lstm"), TypeError, "module must be a fastrnn Module"),
    (lambda: fr.to_onnx(fr.LSTM(3, 4, dtype="float64")), TypeError, "exports float32 modules"),
    (lambda: fr.to_onnx(fr.LSTMCell(3, 4)), TypeError, "cannot export LSTMCell"),
    (lambda: fr.to_onnx(fr.Sequential(fr.Linear(3, 4), fr.DotAttention())), TypeError,
     "cannot export DotAttention"),
    (lambda: fr.to_onnx(fr.Sequential(fr.Linear(3, 4), fr.GRU(4, 4))), ValueError,
     "GRU needs a 3-D input here"),
    (lambda: fr.to_onnx(fr.Linear(3, 4), lengths=True), ValueError,
     "initial_state and lengths apply to a recurrent layer"),
    (lambda: fr.to_onnx(fr.GRU(3, 4), initial_state=1), TypeError, "initial_state must be a bool"),
    (lambda: fr.to_onnx(fr.GRU(3, 4), "/no-such-folder/m.onnx"), ValueError,
     "path must be in an existing folder"),
    (lambda: fr.to_onnx(fr.GRU(3, 4), os.path.dirname(__file__)), ValueError,
     "path must be a file path"),
    (lambda: fr.to_onnx(fr.GRU(3, 4), 3.5), TypeError, "path must be a str or os.PathLike"),
])
def test_what_cannot_be_exported_is_refused_clearly(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_the_docstring_example_runs():
    result = docstring_examples(fr.to_onnx)
    assert result.attempted >= 3 and result.failed == 0



def _task_models():
    return {
        **{f"classifier_{p}_{'bi' if bi else 'uni'}": fr.SequenceClassifier(
            3, vocab_size=20, embed_size=6, hidden_size=8, num_layers=2, bidirectional=bi,
            pooling=p, seed=0) for p in ("last", "mean", "max") for bi in (False, True)},
        "regressor": fr.SequenceRegressor(input_size=3, output_size=2, horizon=4, hidden_size=8,
                                          cell="gru", pooling="max", seed=1),
        "tagger": fr.SequenceTagger(5, vocab_size=20, embed_size=6, hidden_size=8,
                                    bidirectional=True, seed=2),
        "language_model": fr.LanguageModel(20, embed_size=6, hidden_size=8, cell="rnn", seed=3),
        "seq2seq": fr.Seq2Seq(20, 18, 6, 8, bidirectional_encoder=True, attention="dot",
                              seed=4),
    }


@pytest.mark.parametrize("name", list(_task_models()))
def test_task_models_export_their_inference(rng, name):
    model = _task_models()[name]
    T, B = 8, 4
    lengths = np.array([8, 3, 5, 1])
    x = (rng.standard_normal((T, B, 3)).astype(np.float32) if name == "regressor"
         else rng.integers(1, 20, (T, B)))
    got = _ort(fr.to_onnx(model), {"x": x, "lengths": lengths.astype(np.int64)})
    if name == "seq2seq":
        out, state = model.encoder(model.src_embed(x), None, lengths)
        want = [out] + list(state if isinstance(state, tuple) else (state,))
    else:
        want = [model(x, lengths)]
    valid = np.arange(T)[:, None] < lengths[None]
    for g, w in zip(got, want):
        assert g.shape == w.shape
        if name in ("tagger", "language_model", "seq2seq") and g.shape[:2] == (T, B):
            g, w = g[valid], w[valid]         # padded steps: the losses ignore them
        np.testing.assert_allclose(g, w, rtol=0, atol=TOL)


def test_a_conditioned_language_model_is_refused():
    lm = fr.LanguageModel(10, embed_size=4, hidden_size=6, condition_size=3, seed=0)
    with pytest.raises(ValueError, match="a LanguageModel with condition_size"):
        fr.to_onnx(lm)

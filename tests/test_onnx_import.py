"""fr.from_onnx: graphs of ONNX recurrent nodes as fastrnn modules.
fr.to_onnx -> fr.from_onnx is exact (configuration and weights); graphs
exported by torch.onnx.export import and match torch; what fastrnn cannot
express is refused, naming the node."""
import io
import os
import warnings

import numpy as np
import pytest

from helpers.running import docstring_examples, torch_or_skip

import fastrnn as fr

from helpers.cases import IDS, LAYERS, SHAPES

onnx = pytest.importorskip("onnx") if not os.environ.get("FASTRNN_REQUIRE_BENCH_SYSTEMS") \
    else __import__("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402



def _same_module(a, b):
    assert type(a) is type(b) and a.get_config() == b.get_config()
    pa, pb = a.parameters(), b.parameters()
    assert pa.keys() == pb.keys()
    for k in pa:
        np.testing.assert_array_equal(pa[k], pb[k])


@pytest.mark.parametrize("cls, kw", LAYERS, ids=IDS)
@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("flags", [{}, {"initial_state": True, "lengths": True}],
                         ids=["plain", "states_lengths"])
def test_to_onnx_then_from_onnx_is_exact(cls, kw, shape, flags):
    layer = cls(5, 6, seed=1, **kw, **SHAPES[shape])
    _same_module(fr.from_onnx(fr.to_onnx(layer, **flags)), layer)


def test_a_sequential_with_heads_round_trips(rng, tmp_path):
    model = fr.Sequential(fr.GRU(4, 8, bidirectional=True, seed=0), fr.Linear(16, 3, seed=1),
                          fr.Linear(3, 2, bias=False, seed=2))
    path = tmp_path / "m.onnx"
    fr.to_onnx(model, path)
    back = fr.from_onnx(path)
    assert isinstance(back, fr.Sequential) and len(back) == 3
    for a, b in zip(back.modules, model.modules):
        _same_module(a, b)
    x = rng.standard_normal((5, 2, 4)).astype(np.float32)
    np.testing.assert_array_equal(back(x), model(x))


def _torch_export(module, args, **kw):
    torch = torch_or_skip()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, buf, dynamo=False, opset_version=14, **kw)
    return onnx.load_from_string(buf.getvalue())


@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("kw", [{}, {"num_layers": 2, "bidirectional": True},
                                {"num_layers": 3, "bidirectional": True, "batch_first": True},
                                {"bias": False, "num_layers": 2}],
                         ids=["one", "stacked_bidirectional", "batch_first", "no_bias"])
def test_torch_exports_import_and_match_torch(name, kw):
    torch = torch_or_skip()
    torch.manual_seed(0)
    module = getattr(torch.nn, name)(4, 5, **kw).eval()
    x = torch.randn(6, 3, 4)
    layer = fr.from_onnx(_torch_export(module, (x,)))
    with torch.no_grad():
        want, state = module(x)
    out, got_state = layer(x.numpy())
    np.testing.assert_allclose(out, want.numpy(), rtol=0, atol=1e-5)
    for a, b in zip(got_state if isinstance(got_state, tuple) else (got_state,),
                    state if isinstance(state, tuple) else (state,)):
        np.testing.assert_allclose(a, b.numpy(), rtol=0, atol=1e-5)


def test_a_torch_export_with_initial_states_and_relu(rng):
    torch = torch_or_skip()
    torch.manual_seed(1)
    lstm = torch.nn.LSTM(4, 5, num_layers=2, bidirectional=True).eval()
    x, h, c = torch.randn(6, 3, 4), torch.randn(4, 3, 5), torch.randn(4, 3, 5)
    layer = fr.from_onnx(_torch_export(lstm, (x, (h, c)), input_names=["x", "h0", "c0"]))
    with torch.no_grad():
        want, (h_n, c_n) = lstm(x, (h, c))
    out, (gh, gc) = layer(x.numpy(), (h.numpy(), c.numpy()))
    for a, b in ((out, want), (gh, h_n), (gc, c_n)):
        np.testing.assert_allclose(a, b.numpy(), rtol=0, atol=1e-5)
    rnn = torch.nn.RNN(4, 5, nonlinearity="relu").eval()
    layer = fr.from_onnx(_torch_export(rnn, (x,)))
    assert layer.nonlinearity == "relu"
    with torch.no_grad():
        np.testing.assert_allclose(layer(x.numpy())[0], rnn(x)[0].numpy(), rtol=0, atol=1e-5)


def _graph(op="LSTM", H=3, I=2, D=1, inputs=("X", "W", "R", "B"), after=(), outputs=("Y",),
           **attrs):
    """A one-node recurrent graph (plus ``after`` nodes) built by hand."""
    G = {"LSTM": 4, "GRU": 3, "RNN": 1}[op]
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)
             for name, shape in (("W", (D, G * H, I)), ("R", (D, G * H, H)),
                                 ("B", (D, 2 * G * H)), ("P", (D, 3 * H)))]
    attrs.setdefault("hidden_size", H)
    nodes = [helper.make_node(op, list(inputs), ["Yraw", "Y_h"], name="rec", **attrs),
             helper.make_node("Squeeze", ["Yraw", "axes"], ["Y"], name="squeeze")]
    inits.append(numpy_helper.from_array(np.array([1], np.int64), "axes"))
    nodes += list(after)
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT,
                                                                         ["T", "B", I])],
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, None)
                               for o in outputs], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)], ir_version=7)


def test_a_hand_built_graph_imports():
    layer = fr.from_onnx(_graph())
    assert isinstance(layer, fr.LSTM) and layer.hidden_size == 3 and layer.input_size == 2


@pytest.mark.parametrize("model, message", [
    (_graph(inputs=("X", "W", "R", "B", "", "", "", "P")), "node 'rec' .* has peephole weights P"),
    (_graph(clip=2.0), "node 'rec' .* sets clip"),
    (_graph(input_forget=1), "node 'rec' .* sets input_forget"),
    (_graph(direction="reverse"), "node 'rec' .* runs direction 'reverse' alone"),
    (_graph(op="RNN", activations=["Sigmoid"]), r"node 'rec' \(RNN\): uses activations \['Sigmoid'\]"),
    (_graph(op="GRU", activations=["HardSigmoid", "Tanh"]), "uses activations"),
    (_graph(layout=1), "uses layout=1"),
    (_graph(after=[helper.make_node("Softmax", ["Y"], ["S"], name="soft")], outputs=("S",)),
     r"node 'soft' \(Softmax\): fastrnn has no equivalent here"),
    (_graph(after=[helper.make_node("Relu", ["X"], ["Z"], name="relu")]),
     r"node 'relu' \(Relu\)"),
])
def test_what_fastrnn_cannot_express_is_refused_naming_the_node(model, message):
    with pytest.raises(ValueError, match=message):
        fr.from_onnx(model)


def test_files_are_checked(tmp_path):
    with pytest.raises(ValueError, match="model must be an existing .onnx file"):
        fr.from_onnx(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\xff\x00 not a protobuf " * 10)
    with pytest.raises(ValueError, match="is not an ONNX model"):
        fr.from_onnx(junk)
    with pytest.raises(TypeError, match="model must be an onnx.ModelProto or a path, got int"):
        fr.from_onnx(3)
    # External data would be read from paths the file names: refused.
    model = fr.to_onnx(fr.GRU(4, 8, seed=0))
    outside = tmp_path / "sub"
    outside.mkdir()
    onnx.save_model(model, str(outside / "m.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
    with pytest.raises(ValueError, match="stored as external data"):
        fr.from_onnx(outside / "m.onnx")


def test_no_recurrent_node_is_refused():
    with pytest.raises(ValueError, match=r"node 'MatMul_\d+' \(MatMul\): fastrnn has no "):
        fr.from_onnx(fr.to_onnx(fr.Linear(3, 2)))        # a head on no recurrent layer
    graph = helper.make_graph(
        [helper.make_node("Identity", ["X"], ["Y"])], "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2])])
    with pytest.raises(ValueError, match="the graph has no LSTM, GRU or RNN node"):
        fr.from_onnx(helper.make_model(graph))


def test_the_docstring_example_runs():
    result = docstring_examples(fr.from_onnx)
    assert result.attempted >= 4 and result.failed == 0


@pytest.mark.parametrize("op, attrs", [
    ("GRU", {"linear_before_reset": 0}),
    ("GRU", {"linear_before_reset": 1}),
    ("LSTM", {}),
    ("RNN", {"activations": ["Relu", "Relu"]}),
])
def test_a_hand_built_bidirectional_graph_runs_as_onnx_runtime_runs_it(rng, op, attrs):
    ort = pytest.importorskip("onnxruntime") if not os.environ.get(
        "FASTRNN_REQUIRE_BENCH_SYSTEMS") else __import__("onnxruntime")
    G, H, I, D, C = {"LSTM": 4, "GRU": 3, "RNN": 1}[op], 6, 5, 2, 3
    weights = {"W": (D, G * H, I), "R": (D, G * H, H), "B": (D, 2 * G * H),
               "Wout": (D * H, C), "bout": (C,)}
    inits = [numpy_helper.from_array((0.4 * rng.standard_normal(shape)).astype(np.float32), name)
             for name, shape in weights.items()]
    inits.append(numpy_helper.from_array(np.array([0, 0, -1], np.int64), "shape"))
    nodes = [
        helper.make_node(op, ["X", "W", "R", "B", "lens"], ["Y"], name="rec", hidden_size=H,
                         direction="bidirectional", **attrs),
        helper.make_node("Transpose", ["Y"], ["Yt"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["Yt", "shape"], ["seq"]),
        helper.make_node("MatMul", ["seq", "Wout"], ["proj"]),
        helper.make_node("Add", ["proj", "bout"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["T", "B", I]),
         helper.make_tensor_value_info("lens", TensorProto.INT32, ["B"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["T", "B", C])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)], ir_version=7)
    module = fr.from_onnx(model)
    assert isinstance(module, fr.Sequential) and module[0].bidirectional
    x = rng.standard_normal((7, 4, I)).astype(np.float32)
    lengths = np.array([7, 2, 5, 1], np.int32)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (want,) = session.run(None, {"X": x, "lens": lengths})
    got = module[1](module[0](x, lengths=lengths)[0])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)

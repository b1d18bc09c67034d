"""``fr.to_onnx``: a fastrnn module as an ONNX model.

Recurrent layers become ONNX's own ``LSTM`` / ``GRU`` / ``RNN`` operators,
one node per layer of a stack, with both directions of a bidirectional
layer in one node, so ONNX Runtime and OpenVINO run them with their fused
kernels.  The weights are converted from PyTorch's gate order (LSTM
``i f g o``, GRU ``r z n``) to ONNX's (``i o f c``, ``z r h``).  The other
modules map onto plain operators: ``Linear`` onto MatMul + Add,
``Embedding`` onto Gather, ``Dropout`` onto Identity, ``Sequential`` onto
its children in turn.

onnx is imported only here, when a model is exported: fastrnn never needs
it to run.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from .layers.dropout import Dropout
from .layers.embedding import Embedding
from .layers.linear import Linear
from .layers.module import Module
from .layers.recurrent import GRU, LSTM, RNN
from .layers.sequential import Sequential
from .models import LanguageModel, Seq2Seq, SequenceClassifier, SequenceRegressor, SequenceTagger

if TYPE_CHECKING:
    import onnx

    from .layers.module import Module
    from ._typing import PathLike

# Opset 14 with IR version 7: loaded by ONNX Runtime 1.9 (2021) and every
# release since, and by OpenVINO; everything used here exists there.
OPSET = 14
IR_VERSION = 7

# PyTorch's gate blocks, in ONNX's order.
_GATE_ORDER = {"lstm": [0, 3, 1, 2], "gru": [1, 0, 2], "rnn_tanh": [0], "rnn_relu": [0]}
_EXPORTABLE = ("RNN, LSTM, GRU, Linear, Embedding, Dropout, a Sequential of them, a task "
               "model or Seq2Seq (its encoder)")
_MODELS = (SequenceClassifier, SequenceTagger, SequenceRegressor, LanguageModel, Seq2Seq)


def to_onnx(module: Module, path: PathLike | None = None, *, initial_state: bool = False,
            lengths: bool = False) -> onnx.ModelProto:
    """Export ``module`` (float32) as an ONNX model.

    Parameters
    ----------
    module : Module
        ``RNN`` (tanh or relu), ``LSTM``, ``GRU`` (either ``reset_after``:
        ONNX's ``linear_before_reset`` 1 or 0), stacked, bidirectional with
        any merge mode, ``batch_first`` or not; ``Linear``, ``Embedding``,
        ``Dropout``; or a ``Sequential`` of these.  A task model
        (``SequenceClassifier`` with its pooling, ``SequenceTagger``,
        ``SequenceRegressor``, ``LanguageModel`` without conditions)
        exports its inference call ``model(x, lengths)``; ``Seq2Seq``
        exports its encoder (source ids and lengths in; the encoder's
        outputs ``y`` and final states out).
    path : str or os.PathLike, optional
        Where to write the model (its folder must exist).  The model is
        returned either way.
    initial_state : bool
        A recurrent layer only: the graph takes the initial state as inputs
        ``h0`` (and ``c0`` for LSTM), shaped like the layer's ``hx``
        ``(num_layers * num_directions, B, hidden_size)``.  Without it the
        state starts at zeros.
    lengths : bool
        A recurrent layer only: the graph takes an int64 input ``lengths``
        (B,), the valid steps of each row (ONNX's ``sequence_lens``; the
        layer's ``lengths``).  ONNX Runtime honours it; OpenVINO 2026.4
        does not (it runs every row for all T steps, so its ``y`` past a
        length and its final states differ): there, give full-length
        batches.

    Returns
    -------
    onnx.ModelProto
        Checked with ``onnx.checker``.  Inputs: ``x`` (float32; int64 ids
        when the first module is an ``Embedding`` or the model reads
        tokens), then ``lengths``, ``h0``, ``c0`` as asked (a task model
        always takes ``lengths``, int64 (B,)); the batch and time axes are
        symbolic.
        Outputs: ``y`` (what the module's call returns first); a recurrent
        layer also gives ``h_n`` (and ``c_n``), shaped like its final state.

    Examples
    --------
    >>> import fastrnn as fr
    >>> model = fr.to_onnx(fr.GRU(8, 16, num_layers=2, bidirectional=True))
    >>> [i.name for i in model.graph.input], [o.name for o in model.graph.output]
    (['x'], ['y', 'h_n'])
    """
    if not isinstance(module, Module):
        raise TypeError(f"to_onnx: module must be a fastrnn Module ({_EXPORTABLE}), got "
                        f"{type(module).__name__}")
    for name, flag in (("initial_state", initial_state), ("lengths", lengths)):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"to_onnx: {name} must be a bool, got {type(flag).__name__}")
    recurrent = isinstance(module, (RNN, LSTM, GRU))
    if (initial_state or lengths) and not recurrent:
        raise ValueError(f"to_onnx: initial_state and lengths apply to a recurrent layer "
                         f"exported on its own, got {type(module).__name__}")
    _check_exportable(module)
    target = None if path is None else _target(path)
    try:
        import onnx
        from onnx import TensorProto, helper
    except ImportError as exc:
        raise ImportError(f"to_onnx needs the onnx package, which cannot be imported ({exc}); "
                          "install it (pip install onnx)") from exc

    g = _Graph(helper)
    if isinstance(module, _MODELS):
        inputs, outputs = _task_model(g, module, helper, TensorProto)
        return _finish(onnx, helper, g, module, inputs, outputs, target)
    chain = _flat(module)
    first = next((m for m in chain if not isinstance(m, Dropout)), chain[0])
    if isinstance(first, Embedding):
        x_shape, x_type = ["d0", "d1"], TensorProto.INT64
    elif isinstance(first, (RNN, LSTM, GRU)):
        x_shape = (["B", "T"] if first.batch_first else ["T", "B"]) + [first.input_size]
        x_type = TensorProto.FLOAT
    elif isinstance(first, Linear):
        x_shape, x_type = ["N", first.in_features], TensorProto.FLOAT
    else:
        x_shape, x_type = ["N", "F"], TensorProto.FLOAT
    _check_ranks(chain, len(x_shape))
    inputs = [helper.make_tensor_value_info("x", x_type, x_shape)]
    outputs = []
    if recurrent:
        LD, H = module.num_layers * module.num_directions, module.hidden_size
        seq_lens = h0 = c0 = None
        if lengths:
            inputs.append(helper.make_tensor_value_info("lengths", TensorProto.INT64, ["B"]))
            seq_lens = g.node("Cast", ["lengths"], to=TensorProto.INT32)
        if initial_state:
            names = ["h0", "c0"] if isinstance(module, LSTM) else ["h0"]
            for name in names:
                inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT,
                                                            [LD, "B", H]))
            h0 = "h0"
            c0 = "c0" if isinstance(module, LSTM) else None
        y, states = _recurrent_nodes(g, module, "x", seq_lens, h0, c0)
        g.node("Identity", [y], outputs=["y"])
        outputs.append(helper.make_tensor_value_info("y", TensorProto.FLOAT,
                                                     _output_shape(chain, x_shape)))
        for name, state in zip(("h_n", "c_n"), states):
            g.node("Identity", [state], outputs=[name])
            outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [LD, "B", H]))
    else:
        y = _module(g, module, "x")
        g.node("Identity", [y], outputs=["y"])
        outputs.append(helper.make_tensor_value_info("y", TensorProto.FLOAT,
                                                     _output_shape(chain, x_shape)))
    return _finish(onnx, helper, g, module, inputs, outputs, target)


def _finish(onnx, helper, g, module, inputs, outputs, target):
    """The checked model of graph ``g`` (saved to ``target`` when given)."""
    graph = helper.make_graph(g.nodes, f"fastrnn_{type(module).__name__}", inputs, outputs,
                              g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              ir_version=IR_VERSION, producer_name="fastrnn")
    onnx.checker.check_model(model)
    if target is not None:
        onnx.save(model, target)
    return model


def _task_model(g, model, helper, TensorProto):
    """A task model's inference graph (``model(x, lengths)``'s outputs), or
    Seq2Seq's encoder: graph inputs and outputs."""
    if isinstance(model, Seq2Seq):
        embedding, rnn, vocab = model.src_embed, model.encoder, model.src_vocab_size
    else:
        embedding, rnn, vocab = model.embedding, model.rnn, model.vocab_size
    if isinstance(model, LanguageModel) and model.condition_size is not None:
        raise ValueError("to_onnx: a LanguageModel with condition_size (its initial state "
                         "comes from the condition) is not exported; export model.rnn")
    if vocab is not None:
        x_info = helper.make_tensor_value_info("x", TensorProto.INT64, ["T", "B"])
        x = g.node("Gather", [g.const(embedding.parameters()["weight"], "embedding"), "x"],
                   axis=0)
    else:
        x_info = helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                               ["T", "B", model.input_size])
        x = "x"
    seq_lens = g.node("Cast", ["lengths"], to=TensorProto.INT32)
    out, states = _recurrent_nodes(g, rnn, x, seq_lens, None, None)
    width = rnn.hidden_size * rnn.num_directions
    inputs = [x_info, helper.make_tensor_value_info("lengths", TensorProto.INT64, ["B"])]
    if isinstance(model, Seq2Seq):
        LD = rnn.num_layers * rnn.num_directions
        g.node("Identity", [out], outputs=["y"])
        outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["T", "B", width])]
        for name, state in zip(("h_n", "c_n"), states):
            g.node("Identity", [state], outputs=[name])
            outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT,
                                                         [LD, "B", rnn.hidden_size]))
        return inputs, outputs
    head = model.head.parameters()
    if isinstance(model, (SequenceTagger, LanguageModel)):      # a prediction per step
        y = _linear(g, out, head)
        shape = ["T", "B", model.head.out_features]
    else:                                                        # one per sequence
        pooled = _pool(g, model.pooling, rnn, out, states[0], seq_lens, x, width, TensorProto)
        y = _linear(g, pooled, head)
        shape = ["B", model.head.out_features]
        if isinstance(model, SequenceRegressor):
            y = g.node("Reshape", [y, g.const(np.array([0, model.horizon, model.output_size],
                                                       np.int64), "shape")])
            shape = ["B", model.horizon, model.output_size]
    g.node("Identity", [y], outputs=["y"])
    return inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)]


def _linear(g, x, params):
    return g.node("Add", [g.node("MatMul", [x, g.const(params["weight"].T, "weight_t")]),
                          g.const(params["bias"], "bias")])


def _pool(g, mode, rnn, out, h_n, seq_lens, x, width, TensorProto):
    """The task models' pooling (``fastrnn.models``' "last", "mean", "max")
    of ``out`` (T, B, width) into (B, width)."""
    if mode == "last":       # the top layer's final states, directions side by side
        L, D = rnn.num_layers, rnn.num_directions
        top = g.node("Slice", [h_n, g.const(np.array([(L - 1) * D], np.int64), "start"),
                               g.const(np.array([L * D], np.int64), "end"),
                               g.const(np.array([0], np.int64), "axis")])
        t = g.node("Transpose", [top], perm=[1, 0, 2])
        return g.node("Reshape", [t, g.const(np.array([0, -1], np.int64), "shape")])
    lengths = g.node("Cast", [seq_lens], to=TensorProto.FLOAT)
    if mode == "mean":       # padded outputs are zeros: the sum over all steps
        total = g.node("ReduceSum", [out, g.const(np.array([0], np.int64), "axes")],
                       keepdims=0)
        return g.node("Mul", [total, g.node("Unsqueeze", [
            g.node("Reciprocal", [lengths]), g.const(np.array([1], np.int64), "axes")])])
    # max over the valid steps: padded ones pushed to -inf first
    T = g.node("Gather", [g.node("Shape", [out]), g.const(np.array(0, np.int64), "time")],
               axis=0)
    steps = g.node("Range", [g.const(np.array(0, np.int32), "zero"),
                             g.node("Cast", [T], to=TensorProto.INT32),
                             g.const(np.array(1, np.int32), "one")])
    valid = g.node("Less", [g.node("Unsqueeze", [steps, g.const(np.array([1], np.int64),
                                                                "axes")]),
                            g.node("Unsqueeze", [seq_lens, g.const(np.array([0], np.int64),
                                                                   "axes")])])
    valid = g.node("Unsqueeze", [valid, g.const(np.array([2], np.int64), "axes")])
    masked = g.node("Where", [valid, out, g.const(np.array(-np.inf, np.float32), "minus_inf")])
    return g.node("ReduceMax", [masked], axes=[0], keepdims=0)


def _target(path):
    try:
        target = os.fspath(path)
    except TypeError:
        raise TypeError(f"to_onnx: path must be a str or os.PathLike, got "
                        f"{type(path).__name__}") from None
    if isinstance(target, bytes):
        target = os.fsdecode(target)
    if not target or os.path.isdir(target):
        raise ValueError(f"to_onnx: path must be a file path, got {target!r}")
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise ValueError(f"to_onnx: path must be in an existing folder, got {target!r}")
    return target


def _flat(module):
    """The modules a call runs, in order (Sequentials opened)."""
    if isinstance(module, Sequential):
        return [m for child in module.modules for m in _flat(child)]
    return [module]


def _check_ranks(chain, rank):
    """A recurrent layer needs a 3-D input: refuse a chain that gives it
    another rank (e.g. a Linear on (N, F) in front of it)."""
    for m in chain:
        if isinstance(m, (RNN, LSTM, GRU)) and rank != 3:
            raise ValueError(f"to_onnx: {type(m).__name__} needs a 3-D input here, but the "
                             f"modules before it give {rank}-D tensors")
        if isinstance(m, Embedding):
            rank += 1


def _output_shape(chain, shape):
    """The symbolic shape of the chain's output, from its input's."""
    shape = list(shape)
    for m in chain:
        if isinstance(m, Embedding):
            shape = shape + [m.embedding_dim]
        elif isinstance(m, Linear):
            shape = shape[:-1] + [m.out_features]
        elif isinstance(m, (RNN, LSTM, GRU)):
            width = m.hidden_size * (m.num_directions if m.merge_mode == "concat" else 1)
            shape = shape[:-1] + [width]
    return shape


def _check_exportable(module):
    """Refuse, before any work, what the exporter cannot write."""
    if isinstance(module, Sequential):
        for child in module.modules:
            _check_exportable(child)
        return
    if isinstance(module, _MODELS):
        if module.dtype != np.float32:
            raise TypeError(f"to_onnx: exports float32 modules, got {type(module).__name__} of "
                            f"{module.dtype.name}")
        return
    if not isinstance(module, (RNN, LSTM, GRU, Linear, Embedding, Dropout)):
        raise TypeError(f"to_onnx: cannot export {type(module).__name__} (exportable: "
                        f"{_EXPORTABLE})")
    if module.dtype != np.float32:
        raise TypeError(f"to_onnx: exports float32 modules (ONNX Runtime's recurrent operators "
                        f"are float32), got {type(module).__name__} of {module.dtype.name}; "
                        "export a float32 copy (load_state_dict casts)")


class _Graph:
    """Nodes and initializers under construction, with unique names."""

    def __init__(self, helper):
        self.helper = helper
        self.nodes, self.initializers = [], []
        self._count = 0

    def name(self, stem):
        self._count += 1
        return f"{stem}_{self._count}"

    def const(self, array, stem="const"):
        from onnx import numpy_helper

        name = self.name(stem)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op, inputs, outputs=None, n_outputs=1, **attrs):
        outputs = outputs or [self.name(op.lower()) for _ in range(n_outputs)]
        self.nodes.append(self.helper.make_node(op, list(inputs), outputs,
                                                name=self.name(op), **attrs))
        return outputs[0] if len(outputs) == 1 else outputs


def _module(g, module, x):
    """The output name of ``module`` applied to tensor ``x`` (inference)."""
    if isinstance(module, Sequential):
        for child in module.modules:
            x = _module(g, child, x)
        return x
    if isinstance(module, (RNN, LSTM, GRU)):
        return _recurrent_nodes(g, module, x, None, None, None)[0]
    if isinstance(module, Linear):
        params = module.parameters()
        y = g.node("MatMul", [x, g.const(params["weight"].T, "weight_t")])
        return g.node("Add", [y, g.const(params["bias"], "bias")]) if module.bias else y
    if isinstance(module, Embedding):
        return g.node("Gather", [g.const(module.parameters()["weight"], "embedding"), x], axis=0)
    return g.node("Identity", [x])   # Dropout: the identity in inference


def _gates(mode, H, w):
    return np.concatenate([w[k * H:(k + 1) * H] for k in _GATE_ORDER[mode]])


def _recurrent_nodes(g, layer, x, seq_lens, h0, c0):
    """A recurrent layer's nodes: (output name, [h_n, (c_n)] names)."""
    L, D, H = layer.num_layers, layer.num_directions, layer.hidden_size
    mode = layer.mode
    op = {"lstm": "LSTM", "gru": "GRU"}.get(mode, "RNN")
    if layer.batch_first:
        x = g.node("Transpose", [x], perm=[1, 0, 2])
    finals = [[], []]
    for li in range(L):
        weights = [layer.direction_weights(li, d) for d in range(D)]
        W = np.stack([_gates(mode, H, w[0]) for w in weights])
        R = np.stack([_gates(mode, H, w[1]) for w in weights])
        B = "" if not layer.bias else g.const(np.stack([
            np.concatenate([_gates(mode, H, w[2]), _gates(mode, H, w[3])]) for w in weights]),
            "B")                                       # no B: ONNX's zero biases
        inputs = [x, g.const(W, "W"), g.const(R, "R"), B, seq_lens or ""]
        if h0:   # this layer's rows of the (L*D, B, H) initial state
            rows = [g.const(np.array([li * D], np.int64), "start"),
                    g.const(np.array([(li + 1) * D], np.int64), "end"),
                    g.const(np.array([0], np.int64), "axis")]
            inputs.append(g.node("Slice", [h0] + rows))
            if c0:
                inputs.append(g.node("Slice", [c0] + rows))
        while inputs[-1] == "":
            inputs.pop()
        attrs = {"hidden_size": H, "direction": "bidirectional" if D == 2 else "forward"}
        if mode == "gru":
            attrs["linear_before_reset"] = 1 if layer.reset_after else 0
        if op == "RNN":
            attrs["activations"] = ["Relu" if mode == "rnn_relu" else "Tanh"] * D
        outs = g.node(op, inputs, n_outputs=3 if mode == "lstm" else 2, **attrs)
        y, states = outs[0], outs[1:]
        for k, state in enumerate(states):
            finals[k].append(state)
        x = _merge(g, layer.merge_mode, y, D)          # (T, B, width): the next layer's input
    if layer.batch_first:
        x = g.node("Transpose", [x], perm=[1, 0, 2])
    states = [parts[0] if L == 1 else g.node("Concat", parts, axis=0)
              for parts in finals if parts]
    return x, states


def _merge(g, mode, y, D):
    """ONNX's Y (T, D, B, H) as the layer's merged output (T, B, width)."""
    if D == 1:
        return g.node("Squeeze", [y, g.const(np.array([1], np.int64), "axes")])
    if mode == "concat":
        t = g.node("Transpose", [y], perm=[0, 2, 1, 3])
        return g.node("Reshape", [t, g.const(np.array([0, 0, -1], np.int64), "shape")])
    axes = g.const(np.array([1], np.int64), "axes")
    fwd, bwd = (g.node("Squeeze", [part, axes])
                for part in g.node("Split", [y], n_outputs=2, axis=1))
    if mode == "sum":
        return g.node("Add", [fwd, bwd])
    if mode == "mean":   # (f + b) * 0.5, as fastrnn computes it
        return g.node("Mul", [g.node("Add", [fwd, bwd]),
                              g.const(np.array(0.5, np.float32), "half")])
    if mode == "max":
        return g.node("Max", [fwd, bwd])
    return g.node("Mul", [fwd, bwd])                   # mul

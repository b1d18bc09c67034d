"""``fr.from_onnx``: an ONNX graph of recurrent nodes as a fastrnn module.

The graph is read node by node, in order, tracking what each tensor is --
the input sequence, a recurrent node's raw output, a layer's merged
output, zeros built for an initial state, shape arithmetic -- so the glue
exporters put around recurrent nodes (Transpose, Reshape, Squeeze, Split,
Concat, zero states from Shape + Expand or ConstantOfShape) is understood
rather than matched by position.  Anything else, and any attribute fastrnn
cannot express, is refused with the node's name.

onnx is imported only here: fastrnn never needs it to run.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from .layers.linear import Linear
from .layers.recurrent import GRU, LSTM, RNN
from .layers.sequential import Sequential

if TYPE_CHECKING:
    import onnx

    from .layers.module import Module
    from ._typing import PathLike

# ONNX's gate blocks, in PyTorch's order (the inverse of onnx_export's).
_FROM_ONNX = {"LSTM": [0, 2, 3, 1], "GRU": [1, 0, 2], "RNN": [0]}
_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
# Merges of a bidirectional layer's two halves, by the node that combines
# them ("Add" is "sum", or "mean" when a Mul by 0.5 follows: see resolve).
_MERGES = {"Add": "sum", "Max": "max", "Mul": "mul"}
# Operators on shapes only (building zero initial states).
_SHAPE_OPS = {"Gather", "Unsqueeze", "Concat", "Cast", "Slice", "Squeeze"}


class _Value:
    """What a tensor of the graph is (``kind``) and its facts."""

    def __init__(self, kind, **facts):
        self.kind = kind
        self.__dict__.update(facts)


def from_onnx(model: onnx.ModelProto | PathLike | bytes) -> Module:
    """The fastrnn module that computes what an ONNX graph computes.

    Parameters
    ----------
    model : onnx.ModelProto, or str / os.PathLike of a ``.onnx`` file
        A graph of ``LSTM``, ``GRU`` or ``RNN`` nodes (one per layer of a
        stack; ``direction`` forward or bidirectional; ``layout`` 0; GRU's
        ``linear_before_reset`` 1 or 0; RNN's Tanh or Relu), optionally
        followed by ``MatMul`` + ``Add`` / ``Gemm`` heads, with the glue
        exporters write (``fr.to_onnx``'s, ``torch.onnx.export``'s).  A file
        holding external data is refused: its tensors would be read from
        paths the file names.

    Returns
    -------
    Module
        A recurrent layer (stacked, bidirectional with the graph's merge,
        ``batch_first`` when the graph transposes a (B, T, I) input), or a
        ``Sequential`` of it and ``Linear`` heads.  The graph's
        ``sequence_lens`` and initial states become the layer's ``lengths``
        and ``hx`` arguments (in a ``Sequential``, call its first module
        with them, then the heads).

    Raises
    ------
    ValueError
        Naming the node and what fastrnn cannot express there (peepholes,
        ``clip``, ``input_forget``, other activations, the reverse direction
        alone, other operators).

    Examples
    --------
    >>> import numpy as np, fastrnn as fr
    >>> gru = fr.GRU(4, 8, num_layers=2, bidirectional=True, seed=0)
    >>> back = fr.from_onnx(fr.to_onnx(gru))
    >>> x = np.ones((5, 2, 4), np.float32)
    >>> bool((back(x)[0] == gru(x)[0]).all())
    True
    """
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError as exc:
        raise ImportError(f"from_onnx needs the onnx package, which cannot be imported ({exc}); "
                          "install it (pip install onnx)") from exc
    if isinstance(model, onnx.ModelProto):
        proto = model
    else:
        try:
            path = os.fspath(model)
        except TypeError:
            raise TypeError(f"from_onnx: model must be an onnx.ModelProto or a path, got "
                            f"{type(model).__name__}") from None
        if not os.path.isfile(path):
            raise ValueError(f"from_onnx: model must be an existing .onnx file, got {path!r}")
        try:
            proto = onnx.load(path, load_external_data=False)
            if not proto.graph.node:
                raise ValueError("no graph")
        except Exception as exc:   # protobuf's DecodeError and kin
            raise ValueError(f"from_onnx: {path!r} is not an ONNX model ({exc})") from None
    graph = proto.graph
    for t in graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            raise ValueError(f"from_onnx: tensor {t.name!r} is stored as external data; "
                             "from_onnx reads self-contained models only")
    return _Reader(graph, numpy_helper).module()


class _Reader:
    def __init__(self, graph, numpy_helper):
        self.graph, self.nh = graph, numpy_helper
        self.values = {}
        for t in graph.initializer:
            self.values[t.name] = _Value("const", array=numpy_helper.to_array(t))
        inits = set(self.values)
        self.inputs = [i.name for i in graph.input if i.name not in inits]
        self.recurrent = []     # one record per recurrent node, in order
        self.heads = []         # Linear layers after the stack

    # ------------------------------------------------------------ helpers
    def fail(self, node, why):
        raise ValueError(f"from_onnx: node {node.name or node.op_type!r} ({node.op_type}): {why}")

    def get(self, node, name):
        if name == "":
            return None
        if name in self.values:
            return self.values[name]
        if name in self.inputs:
            return _Value("input", name=name)
        self.fail(node, f"reads {name!r}, which no node before it writes")

    def const(self, node, name, what):
        v = self.get(node, name)
        if v is None or v.kind != "const":
            self.fail(node, f"{what} must be a constant")
        return v.array

    @staticmethod
    def attrs(node):
        from onnx import helper

        return {a.name: helper.get_attribute_value(a) for a in node.attribute}

    # --------------------------------------------------------------- walk
    def module(self):
        for node in self.graph.node:
            self.visit(node)
        if not self.recurrent:
            raise ValueError("from_onnx: the graph has no LSTM, GRU or RNN node")
        out = self.resolve(self.graph.node[-1], self.get(self.graph.node[-1],
                                                          self.graph.output[0].name))
        if out.kind == "head_nobias":     # a MatMul with no bias after it
            self.heads.append(self.finish_head(self.graph.node[-1], out.weight, None))
            out = _Value("head")
        if out.kind not in ("seq", "seq_flipped", "head"):
            raise ValueError(f"from_onnx: the graph's first output {self.graph.output[0].name!r} "
                             "is not the recurrent stack's output sequence or a head on it")
        if out.kind != "head" and (out.kind == "seq_flipped") != self.recurrent[0]["batch_first"]:
            raise ValueError("from_onnx: the graph transposes its output sequence but not its "
                             "input (or the other way round): no batch_first layer does that")
        layer = self.build_layer()
        if not self.heads:
            return layer
        return Sequential(layer, *self.heads)

    def visit(self, node):
        op, ins = node.op_type, list(node.input)
        a = self.attrs(node)
        if op == "Constant":
            self.values[node.output[0]] = _Value("const", array=self.nh.to_array(a["value"]))
            return
        if op in ("LSTM", "GRU", "RNN"):
            return self.recurrent_node(node, a)
        vals = [self.get(node, n) for n in ins]
        first = vals[0] if vals else None
        out = node.output[0] if node.output else None
        if op == "Identity":
            self.values[out] = first
        elif op == "Shape":       # of anything: only sizes, for zero states
            self.values[out] = _Value("shape")
        elif op == "Transpose" and first.kind == "input" and list(a.get("perm", [])) == [1, 0, 2]:
            self.values[out] = _Value("input_flipped", name=first.name)
        elif op == "Transpose" and first.kind == "seq" and list(a.get("perm", [])) == [1, 0, 2]:
            self.values[out] = _Value("seq_flipped", width=first.width)
        elif op == "Transpose" and first.kind == "raw" and list(a.get("perm", [])) == [0, 2, 1, 3]:
            self.values[out] = _Value("raw_t", rec=first.rec)
        elif op == "Reshape" and first.kind == "raw_t":
            shape = self.const(node, ins[1], "the shape")
            if list(shape[:2]) not in ([0, 0], [0, -1]) and len(shape) == 3:
                self.fail(node, f"reshapes the output to {list(shape)}")
            self.values[out] = self.merged(node, first.rec, "concat")
        elif op == "Squeeze" and first.kind == "raw":
            axes = a.get("axes", None)
            axes = list(self.const(node, ins[1], "axes")) if axes is None and len(ins) > 1 \
                else list(axes or [])
            if axes != [1]:
                self.fail(node, f"squeezes axes {axes} of a recurrent output (expected [1])")
            if first.rec["D"] == 1:
                self.values[out] = self.merged(node, first.rec, "concat")
            else:
                self.fail(node, "squeezes a bidirectional output whole")
        elif op == "Split" and first.kind == "raw" and a.get("axis", 0) == 1 \
                and first.rec["D"] == 2 and len(node.output) == 2:
            for d, name in enumerate(node.output):
                self.values[name] = _Value("half_raw", rec=first.rec, d=d)
        elif op == "Squeeze" and first.kind == "half_raw":
            self.values[out] = _Value("half", rec=first.rec, d=first.d)
        elif op in _MERGES and len(vals) == 2 and all(v.kind == "half" for v in vals) \
                and {v.d for v in vals} == {0, 1} and vals[0].rec is vals[1].rec:
            if op == "Add":
                self.values[out] = _Value("halves_sum", rec=vals[0].rec)
            else:
                self.values[out] = self.merged(node, vals[0].rec, _MERGES[op])
        elif op == "Mul" and first.kind == "halves_sum" and vals[1].kind == "const" \
                and vals[1].array.size == 1 and float(vals[1].array.reshape(-1)[0]) == 0.5:
            self.values[out] = self.merged(node, first.rec, "mean")
        elif op in ("MatMul", "Gemm") and first.kind in ("seq", "seq_flipped", "head",
                                                         "halves_sum", "head_nobias"):
            first = self.resolve(node, first)
            if first.kind == "head_nobias":
                self.heads.append(self.finish_head(node, first.weight, None))
            self.head(node, op, ins, a, first)
        elif op == "Add" and first.kind == "head_nobias" and vals[1].kind == "const":
            self.heads.append(self.finish_head(node, first.weight, vals[1].array))
            self.values[out] = _Value("head")
        elif op == "Concat" and vals and all(v.kind == "state" for v in vals):
            self.values[out] = _Value("states", parts=[v for v in vals])
        elif op in ("Expand", "ConstantOfShape", "Tile") and self.is_zeros(node, op, vals, a):
            self.values[out] = _Value("zeros")
        elif op == "Slice" and first.kind == "input":
            self.values[out] = _Value("state_slice", name=first.name,
                                      rows=self.slice_rows(node, ins, a))
        elif op == "Cast" and first.kind == "input":
            self.values[out] = _Value("input", name=first.name)
        elif op in _SHAPE_OPS and all(v.kind in ("const", "shape", "input", "input_flipped")
                                      for v in vals):
            for name in node.output:
                self.values[name] = _Value("shape")
        else:
            self.fail(node, "fastrnn has no equivalent here (from_onnx reads stacks of recurrent "
                            "nodes, their glue and Linear heads)")

    def resolve(self, node, v):
        """A value as its consumer sees it: two halves added and not halved
        (``mean``) after all are the ``sum`` merge."""
        if v is not None and v.kind == "halves_sum":
            return self.merged(node, v.rec, "sum")
        return v

    def merged(self, node, rec, mode):
        """A layer's output, merged, closing the record of its node."""
        if rec.get("merge") is not None:
            self.fail(node, "uses a recurrent output twice")
        rec["merge"] = mode
        width = rec["H"] * (rec["D"] if mode == "concat" else 1)
        return _Value("seq", width=width, rec=rec)

    def is_zeros(self, node, op, vals, a):
        if op == "ConstantOfShape":
            value = a.get("value")
            return value is None or not np.any(self.nh.to_array(value))
        return vals[0].kind == "const" and not np.any(vals[0].array)

    def slice_rows(self, node, ins, a):
        starts, ends = (self.const(node, n, "a slice bound") for n in ins[1:3])
        axes = self.const(node, ins[3], "the slice axes") if len(ins) > 3 and ins[3] else [0]
        if list(axes) != [0] or len(starts) != 1:
            self.fail(node, "slices an initial state other than along its first axis")
        return int(starts[0]), int(ends[0])

    # ---------------------------------------------------------- recurrent
    def recurrent_node(self, node, a):
        op, ins = node.op_type, list(node.input) + [""] * 8
        if a.get("clip") is not None:
            self.fail(node, "sets clip (fastrnn does not clip the gates)")
        if a.get("input_forget", 0):
            self.fail(node, "sets input_forget (coupled input and forget gates)")
        if a.get("layout", 0) != 0:
            self.fail(node, "uses layout=1 (batch-major); export with layout 0")
        direction = a.get("direction", b"forward")
        direction = direction.decode() if isinstance(direction, bytes) else direction
        if direction not in ("forward", "bidirectional"):
            self.fail(node, f"runs direction {direction!r} alone (fastrnn's reverse direction "
                            "exists only beside a forward one)")
        D = 2 if direction == "bidirectional" else 1
        acts = [x.decode() if isinstance(x, bytes) else x for x in a.get("activations", [])]
        mode = op.lower()
        if op == "RNN":
            kinds = set(acts) or {"Tanh"}
            if len(kinds) != 1 or kinds - {"Tanh", "Relu"}:
                self.fail(node, f"uses activations {acts} (fastrnn's RNN: Tanh or Relu)")
            mode = "rnn_" + kinds.pop().lower()
        elif acts and acts != {"LSTM": ["Sigmoid", "Tanh", "Tanh"],
                               "GRU": ["Sigmoid", "Tanh"]}[op] * D:
            self.fail(node, f"uses activations {acts} (fastrnn's: the defaults)")
        if op == "LSTM" and ins[7]:
            self.fail(node, "has peephole weights P (fastrnn's LSTM has none)")
        W = self.const(node, ins[1], "W").astype(np.float32)
        R = self.const(node, ins[2], "R").astype(np.float32)
        G, H = _GATES[op], int(a.get("hidden_size", R.shape[-1]))
        if W.shape[:2] != (D, G * H) or R.shape != (D, G * H, H):
            self.fail(node, f"has W {W.shape} and R {R.shape}, not ({D}, {G * H}, I) and "
                            f"({D}, {G * H}, {H})")
        B = self.const(node, ins[3], "B").astype(np.float32) if ins[3] else None
        x = self.resolve(node, self.get(node, ins[0]))
        if self.recurrent:
            prev = self.recurrent[-1]
            if x.kind != "seq" or x.rec is not prev:
                self.fail(node, "does not read the previous recurrent layer's merged output")
            first = self.recurrent[0]
            if (op, mode, H, D) != (first["op"], first["mode"], first["H"], first["D"]) or \
                    a.get("linear_before_reset", 0) != first["lbr"] or \
                    x.rec["merge"] != first["merge"]:
                self.fail(node, "differs from the first recurrent node (fastrnn stacks layers "
                                "of one kind, size, direction and merge)")
            batch_first = first["batch_first"]
        else:
            if x.kind not in ("input", "input_flipped"):
                self.fail(node, "does not read the graph's input sequence")
            batch_first = x.kind == "input_flipped"
        lens = self.get(node, ins[4])
        if lens is not None and lens.kind != "input":
            self.fail(node, "takes sequence_lens other than from a graph input")
        states = []
        for name in ins[5:5 + (2 if op == "LSTM" else 1)]:
            v = self.get(node, name)
            if v is not None and v.kind not in ("zeros", "state_slice", "input"):
                self.fail(node, "takes an initial state other than zeros or a graph input")
            states.append(v)
        rec = dict(op=op, mode=mode, H=H, D=D, W=W, R=R, B=B, I=W.shape[2], merge=None,
                   lbr=a.get("linear_before_reset", 0), batch_first=batch_first,
                   lengths=None if lens is None else lens.name, states=states)
        self.recurrent.append(rec)
        outs = list(node.output) + [""] * 3
        if outs[0]:
            self.values[outs[0]] = _Value("raw", rec=rec)
        for k, name in enumerate(outs[1:3]):
            if name:
                self.values[name] = _Value("state", rec=rec, k=k)

    @staticmethod
    def check_arguments(recs, D):
        """The graph's lengths and initial states must be what the layer's
        ``lengths`` and ``hx`` give every layer: the same lengths input
        everywhere (or none), and each layer's rows of one state input
        (or zeros everywhere)."""
        if len({r["lengths"] for r in recs}) > 1:
            raise ValueError("from_onnx: the recurrent nodes take different sequence_lens "
                             "(a fastrnn layer has one lengths for every layer)")
        for k in range(len(recs[0]["states"])):
            parts = [r["states"][k] for r in recs]
            if all(v is None or v.kind == "zeros" for v in parts):
                continue
            names = {getattr(v, "name", None) for v in parts}
            whole = len(recs) == 1 and parts[0].kind == "input"
            rows = [getattr(v, "rows", None) for v in parts]
            if not whole and (len(names) != 1 or None in names or
                              rows != [(li * D, (li + 1) * D) for li in range(len(recs))]):
                raise ValueError("from_onnx: the initial states are not each layer's rows of one "
                                 "(num_layers * num_directions, B, H) input (a fastrnn layer's hx)")

    # --------------------------------------------------------------- heads
    def head(self, node, op, ins, a, first):
        if op == "Gemm":
            if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
                self.fail(node, "uses transA, alpha or beta (a Linear is x @ W^T + b)")
            w = self.const(node, ins[1], "the weight")
            weight = w if a.get("transB", 0) else w.T
            bias = self.const(node, ins[2], "the bias") if len(ins) > 2 and ins[2] else None
            self.heads.append(self.finish_head(node, weight, bias))
            self.values[node.output[0]] = _Value("head")
            return
        weight = self.const(node, ins[1], "the weight").T         # MatMul(x, W^T)
        if weight.ndim != 2:
            self.fail(node, f"multiplies by a {weight.ndim}-D weight")
        self.values[node.output[0]] = _Value("head_nobias", weight=weight)

    def finish_head(self, node, weight, bias):
        weight = np.asarray(weight, np.float32)
        out_f, in_f = weight.shape
        if bias is not None and np.shape(bias) != (out_f,):
            self.fail(node, f"adds a bias of shape {np.shape(bias)} to {out_f} features")
        lin = Linear(in_f, out_f, bias=bias is not None, seed=0)
        state = {"weight": weight}
        if bias is not None:
            state["bias"] = np.asarray(bias, np.float32)
        lin.load_state_dict(state)
        return lin

    # ---------------------------------------------------------------- build
    def build_layer(self):
        recs = self.recurrent
        first = recs[0]
        if any(r["merge"] is None for r in recs):
            raise ValueError("from_onnx: a recurrent node's output sequence is not used as a "
                             "layer output")
        L, D, H, mode = len(recs), first["D"], first["H"], first["mode"]
        self.check_arguments(recs, D)
        cls = {"lstm": LSTM, "gru": GRU}.get(mode, RNN)
        kw = dict(num_layers=L, bidirectional=D == 2, merge_mode=first["merge"],
                  batch_first=first["batch_first"], bias=any(r["B"] is not None for r in recs),
                  seed=0)
        if cls is GRU:
            kw["reset_after"] = bool(first["lbr"])
        if cls is RNN:
            kw["nonlinearity"] = mode[4:]
        layer = cls(first["I"], H, **kw)
        order = _FROM_ONNX[first["op"]]
        G = len(order)

        def torch_order(w):
            return np.concatenate([w[k * H:(k + 1) * H] for k in order])

        for li, r in enumerate(recs):
            for d in range(D):
                w_ih, w_hh, b_ih, b_hh = layer.direction_weights(li, d)
                w_ih[...] = torch_order(r["W"][d])
                w_hh[...] = torch_order(r["R"][d])
                if kw["bias"]:
                    b = r["B"][d] if r["B"] is not None else np.zeros(2 * G * H, np.float32)
                    b_ih[...] = torch_order(b[:G * H])
                    b_hh[...] = torch_order(b[G * H:])
        return layer

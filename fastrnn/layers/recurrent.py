"""``fr.RNN``, ``fr.LSTM``, ``fr.GRU``: thin modules over ``fastrnn.functional``.

A module validates its input, defaults the state, and makes one fused
kernel call per layer and direction; stacks feed each layer's merged output
to the next (with dropout between layers in training).  Shapes, names and
initialisation are PyTorch's.
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import numpy as np

from .. import _workspace as ws
from .. import functional as F
from .._validation import (as_array, as_lengths, check_bools, check_memory, is_count, is_private,
                           make_rng, positive_int, state_parts)
from .init import cell_param_shapes, recurrent_parameters
from .merge import MERGE_MODES, merge, merge_backward, merged_width
from .embedding import Embedding, as_ids
from .module import Frozen, checked_precision, one_shot
from .recurrent_base import EQUATIONS, RecurrentModule
from .stream import Stream

if TYPE_CHECKING:
    from typing import Any, Callable

    from .._typing import ArrayLike, DTypeLike, ParamShapes, Seed, State, StateLike


# forward_train_embedded folds the lookup when the batch has at least this
# many tokens per vocabulary entry: the per-entry table, its gradient sums
# (a scatter of every token's gate gradients) and the two V-row products
# must cost less than the three T*B-row products they replace (measured,
# bench/embedded_input.py: 0.70-0.89x the time at 13-50 tokens per entry,
# 1.6x at 1.1).
FOLD_TOKENS_PER_ENTRY = 2


def direction_suffix(layer, direction):
    """What the names of layer ``layer``'s parameters end with in direction
    ``direction`` (0 forward, 1 reverse): PyTorch's ``_l{layer}[_reverse]``."""
    return f"_l{layer}" + ("_reverse" if direction else "")


def _layer_inputs(input_size, hidden_size, num_layers, num_directions, merge_mode):
    """``(layer, direction, input width)`` of every layer-direction, in the
    order of the parameters."""
    width = merged_width(merge_mode, hidden_size, num_directions)
    for layer in range(num_layers):
        for d in range(num_directions):
            yield layer, d, input_size if layer == 0 else width


class _RecurrentLayer(RecurrentModule):
    """Shared machinery of RNN, LSTM and GRU."""

    _config_keys = ("input_size", "hidden_size", "num_layers", "bias", "batch_first",
                    "dropout", "bidirectional", "merge_mode", "dtype", "recurrent_init")

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False,
                 merge_mode="concat", dtype="float32", seed=None, reset_after=True,
                 recurrent_init="uniform", forget_bias=None):
        super().__init__(dtype)
        self._configure(mode, input_size, hidden_size, bias, reset_after, recurrent_init,
                        forget_bias)
        self.num_layers = positive_int(num_layers, "num_layers")
        check_bools(batch_first=batch_first, bidirectional=bidirectional)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float, np.floating)):
            raise TypeError(f"dropout must be a float in [0, 1), got {type(dropout).__name__}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"merge_mode must be one of {MERGE_MODES}, got {merge_mode!r}")
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        self.merge_mode = merge_mode
        self.num_directions = 2 if self.bidirectional else 1
        self._rng = make_rng(seed)
        # Dropout masks come from their own stream, so that drawing them
        # never shifts the initialisation of a layer built with the same seed.
        self._dropout_rng = np.random.default_rng(self._rng.integers(2**63))
        self._init_parameters()

    # ------------------------------------------------------------ parameters
    @classmethod
    def param_shapes(cls, input_size: int | None = None, hidden_size: int | None = None,
                     num_layers: int = 1, bias: bool = True, bidirectional: bool = False,
                     merge_mode: str = "concat", **config: Any) -> ParamShapes:
        """The ``(name, shape)`` of every parameter a layer of this config
        has, in order -- PyTorch's names, ``weight_ih_l{k}[_reverse]`` etc. --
        without building it (a generator: a forged ``num_layers`` costs
        nothing); None for a config the constructor refuses."""
        if not (is_count(input_size) and is_count(hidden_size) and is_count(num_layers)
                and isinstance(bias, bool) and isinstance(bidirectional, bool)
                and merge_mode in MERGE_MODES):
            return None
        return ((name + direction_suffix(layer, d), shape)
                for layer, d, in_size in _layer_inputs(input_size, hidden_size, num_layers,
                                                       2 if bidirectional else 1, merge_mode)
                for name, shape in cell_param_shapes(cls._num_gates, in_size, hidden_size,
                                                     bias))

    def _init_parameters(self):
        """:meth:`param_shapes`' parameters, PyTorch's initialisation (see
        ``layers/init.py`` for the options)."""
        width = merged_width(self.merge_mode, self.hidden_size, self.num_directions)
        GH, H, L, D = self._num_gates * self.hidden_size, self.hidden_size, \
            self.num_layers, self.num_directions
        # param_shapes' sizes in closed form: a forged num_layers is refused
        # without walking its layers.
        count = D * (GH * (self.input_size + H + 2) + (L - 1) * GH * (width + H + 2))
        check_memory(count, self.dtype, f"{type(self).__name__}({self.extra_repr()})")
        for layer, d, in_size in _layer_inputs(self.input_size, H, L, D, self.merge_mode):
            for name, value in recurrent_parameters(
                    self._rng, self._num_gates, in_size, H, self.bias, self.recurrent_init,
                    self.forget_bias):
                self._add_parameter(name + direction_suffix(layer, d), value)

    def direction_weights(self, layer: int, direction: int
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """The live arrays ``(w_ih, w_hh, b_ih, b_hh)`` of layer ``layer``'s
        direction ``direction`` (0 forward, 1 reverse), PyTorch's layout and
        gate order (the biases None without ``bias``)."""
        return self._weights_of(direction_suffix(layer, direction))

    def _grad_slots(self, layer, direction):
        return self._grad_slots_of(direction_suffix(layer, direction))

    # ------------------------------------------------------------ validation
    def _check_input(self, x, hx, lengths):
        """-> time-major x (T, B, I), states (L*D, B, H) or None, lengths, batched."""
        x = as_array(x, "x", self.dtype)
        if x.ndim == 3:
            batched = True
            if self.batch_first:
                x = np.ascontiguousarray(x.transpose(1, 0, 2))
        elif x.ndim == 2:
            batched = False
            x = x[:, None, :]
        else:
            layout = "(B, T, input_size)" if self.batch_first else "(T, B, input_size)"
            raise ValueError(f"x must be 3-D {layout} or 2-D (T, input_size) unbatched, got shape {x.shape}")
        T, B, I = x.shape
        if I != self.input_size:
            raise ValueError(f"x must have input_size {self.input_size} in its last axis, got {I} "
                             f"(shape {x.shape})")
        if T == 0:   # (a batch of 0 rows gives 0 rows, as in PyTorch)
            raise ValueError(f"x must have at least one time step, got shape {x.shape}")
        return (x,) + self._check_rest(T, B, batched, hx, lengths)

    def _check_rest(self, T, B, batched, hx, lengths):
        """-> states (L*D, B, H) or None, lengths, batched."""
        names = ("h0", "c0") if self._has_cell_state else ("h0",)
        LD, H = self.num_layers * self.num_directions, self.hidden_size
        states = state_parts(hx, names, self.dtype, (LD, B, H) if batched else (LD, H), "hx",
                             " (num_layers * num_directions, [batch,] hidden_size)")
        states = [s if s is None or batched else s[:, None, :] for s in states]
        if lengths is not None:
            lengths = as_lengths(lengths if batched else np.atleast_1d(lengths), B, T)
        return states, lengths, batched

    def _finish(self, out, states, batched):
        """Back to the user's layout: batch_first / unbatched."""
        if not batched:
            out = out[:, 0]
            states = [s[:, 0] for s in states]
        elif self.batch_first:
            out = out.transpose(1, 0, 2)
        state = tuple(states) if self._has_cell_state else states[0]
        return out, state

    # ---------------------------------------------------------------- running
    def _run(self, x, states, lengths, training, x_private=False, packed=None):
        """All layers and directions; returns out, final states, and the
        per-layer records that backward needs (training only).
        ``x_private``: ``x`` is the layer's own copy (see
        :func:`fastrnn.functional.layer_directions`); the inputs of later
        layers always are.  ``packed``: per layer, its directions' weights
        packed once (a frozen layer's), or None."""
        L, D, H = self.num_layers, self.num_directions, self.hidden_size
        B = x.shape[1]
        # One layer, one direction: the final states are the kernel's own
        # arrays (views), else stacked.
        finals = None if L * D == 1 else [np.empty((L * D, B, H), dtype=self.dtype)
                                          for _ in states]
        records = []
        layer_in = x
        for layer in range(L):
            mask = None
            if training and layer > 0 and self.dropout > 0:
                keep = 1.0 - self.dropout
                mask = (self._dropout_rng.random(layer_in.shape) < keep).astype(self.dtype)
                mask /= self.dtype.type(keep)
                layer_in = layer_in * mask
            # Both directions in one kernel launch (side by side on the threads).
            idx = slice(layer * D, (layer + 1) * D)
            init = [[None] * D if s is None else list(s[idx]) for s in states]
            init += [[None] * D] * (2 - len(init))
            # Concatenated directions are written side by side in place.
            concat = ws.aligned_empty((x.shape[0], B, D * H), self.dtype) \
                if D == 2 and self.merge_mode == "concat" else None
            # Everything here is checked already: the functional layer's
            # validating entries (bidirectional[_train]) are skipped.
            results = F.layer_directions(self.mode, layer_in,
                                         [self.direction_weights(layer, d) for d in range(D)],
                                         *init,
                                         lengths, self.reset_after, training, concat,
                                         x_private=x_private or layer > 0,
                                         packed=None if packed is None else packed[layer])
            if training:
                results, backprop = results
            outs = [out for out, _, _ in results]
            if finals is None:
                finals = [state[None] for state in results[0][1:1 + len(states)]]
            else:
                for i, final in enumerate(finals):
                    final[idx] = [result[1 + i] for result in results]
            layer_in = merge(self.merge_mode, outs) if concat is None else concat
            if training:
                records.append((mask, outs if self.merge_mode in ("max", "mul") else None, backprop))
        return layer_in, finals, records

    def freeze(self, precision: str | None = None) -> FrozenRecurrent:
        """An inference-only copy with its weights packed once, at
        ``precision`` (:func:`fastrnn.freeze`)."""
        return FrozenRecurrent(self._twin(), checked_precision(self, precision))

    def __call__(self, x: ArrayLike, hx: StateLike | None = None,
                 lengths: ArrayLike | None = None) -> tuple[np.ndarray, State]:
        """Inference: ``out, h_n`` (RNN, GRU) or ``out, (h_n, c_n)`` (LSTM).

        Keeps no activations: only what it returns plus O(B*H) scratch per
        layer outlives the call.
        """
        x, states, lengths, batched = self._check_input(x, hx, lengths)
        out, finals, _ = self._run(x, states, lengths, training=False)
        return self._finish(out, finals, batched)

    def forward_train(self, x: ArrayLike, hx: StateLike | None = None,
                      lengths: ArrayLike | None = None
                      ) -> tuple[tuple[np.ndarray, State], Callable[..., tuple[np.ndarray, State]]]:
        """Forward keeping the training workspace: ``((out, state), backprop)``.

        ``backprop(dout, dstate=None)`` returns ``(dx, dhx)`` shaped like
        ``x`` and ``hx`` (zeros where hx was None) and adds the parameter
        gradients into ``self.grads``.  It may be called once (a call
        refused for a bad ``dout`` / ``dstate`` does not count).

        The gradients are those of this call's values: the input, lengths
        and weights that backprop reads are kept as copies, so the caller may
        refill its input buffer or step an optimizer before calling it (the
        copies cost one pass over the first layer's input and the weights;
        ``bench/kept_inputs.py``).  A batch of 0 rows gives empty results.
        """
        checked = self._check_input(x, hx, lengths)
        # An input the check had to convert is a private copy: training
        # keeps it as it is (the caller's own array is copied).
        return self._train(*checked, x_private=is_private(checked[0], x))

    def forward_train_embedded(self, embedding: Embedding, ids: ArrayLike,
                               hx: StateLike | None = None, lengths: ArrayLike | None = None
                               ) -> tuple[tuple[np.ndarray, State], Callable[..., State]]:
        """``forward_train(embedding(ids), hx, lengths)`` in one: the lookup is
        folded into the first layer's input projection when that is cheaper.

        Each vocabulary entry's projection ``E[v] @ W_ih^T + b`` is computed
        once per call and every token copies its row (V rows of product
        instead of T * B); the backward sums the gate gradients per entry,
        so ``dW_ih`` and the embedding's gradient are V-row products too.
        Used when the batch holds at least FOLD_TOKENS_PER_ENTRY tokens per
        vocabulary entry, the layer is time-major and the dtypes agree;
        otherwise it is exactly the two calls.

        Parameters
        ----------
        embedding : Embedding
            Of ``input_size`` columns.
        ids : array of int, (T, B) or (B, T) with ``batch_first``
        hx, lengths
            As :meth:`forward_train`.

        Returns
        -------
        (out, state), backprop
            ``backprop(dout, dstate=None)`` adds the embedding's gradient into
            ``embedding.grads["weight"]`` (never its ``padding_idx`` row) and
            this layer's into ``grads``, and returns ``dhx``.
        """
        if not isinstance(embedding, Embedding):
            raise TypeError(f"embedding must be an fr.Embedding, got {type(embedding).__name__}")
        if embedding.embedding_dim != self.input_size:
            raise ValueError(f"embedding must have embedding_dim = input_size "
                             f"{self.input_size}, got {embedding.embedding_dim}")
        idx = as_ids(ids, embedding.num_embeddings)
        if idx.ndim != 2 or idx.shape[1 if self.batch_first else 0] == 0:
            layout = "(B, T)" if self.batch_first else "(T, B)"
            raise ValueError(f"ids must be a 2-D {layout} array of at least one time step, got "
                             f"shape {idx.shape}")
        if self.batch_first or embedding.dtype != self.dtype or \
                FOLD_TOKENS_PER_ENTRY * embedding.num_embeddings > idx.size:
            return self._lookup_then_train(embedding, idx, hx, lengths)
        T, B = idx.shape
        x = F.EmbeddedInput(idx, embedding.weight)
        result, layer_bp = self._train(x, *self._check_rest(T, B, True, hx, lengths))

        def backprop(dout, dstate=None):
            dweight, dhx = layer_bp(dout, dstate)
            embedding.add_weight_grad(dweight)
            return dhx

        return result, one_shot(backprop, first=layer_bp)

    def _lookup_then_train(self, embedding, ids, hx, lengths):
        """What :meth:`forward_train_embedded` computes, unfolded: the lookup,
        then :meth:`forward_train`."""
        x, embed_bp = embedding.forward_train(ids)
        result, layer_bp = self.forward_train(x, hx, lengths)

        def backprop(dout, dstate=None):
            dx, dhx = layer_bp(dout, dstate)
            embed_bp(dx)
            return dhx

        return result, one_shot(backprop, first=layer_bp)

    def _train(self, x, states, lengths, batched, x_private=False):
        """forward_train on checked input (x: time-major, or an EmbeddedInput)."""
        out, finals, records = self._run(x, states, lengths, training=True, x_private=x_private)
        T, B = x.shape[:2]
        out_shape = out.shape

        def check(dout, dstate=None):
            return (self._grad_in(dout, "dout", out_shape, batched),
                    self._state_grads(dstate, B, batched))

        def backprop(dout, dfinal):
            L, D = self.num_layers, self.num_directions
            dstates = [np.zeros((L * D, B, self.hidden_size), dtype=self.dtype) for _ in finals]
            for layer in reversed(range(L)):
                mask, outs, backprop_layer = records[layer]
                idx = slice(layer * D, (layer + 1) * D)
                douts = merge_backward(self.merge_mode, dout, D, outs)
                dfin = [None if g is None else list(g[idx]) for g in dfinal]
                dfin += [None] * (2 - len(dfin))
                results = backprop_layer(douts, *dfin,
                                         [self._grad_slots(layer, d) for d in range(D)])
                dstates[0][idx] = [dh0 for _, dh0, _, _ in results]
                if self._has_cell_state:
                    dstates[1][idx] = [dc0 for _, _, dc0, _ in results]
                dx = results[0][0]
                for ddx, _, _, _ in results[1:]:
                    dx += ddx
                if mask is not None:
                    dx *= mask
                dout = dx
            for given, dstate_part in zip(states, dstates):
                if given is None:  # API: zeros for a state that was defaulted
                    dstate_part.fill(0)
            return self._finish(dout, dstates, batched)

        return self._finish(out, finals, batched), one_shot(backprop, self, check)

    def _grad_in(self, g, name, shape, batched):
        """A user gradient for the output (time-major ``shape`` inside),
        converted from the user's layout to the kernels'."""
        g = as_array(g, name, self.dtype)
        T, B, W = shape
        expected = (B, T, W) if (batched and self.batch_first) else ((T, B, W) if batched else (T, W))
        if g.shape != expected:
            raise ValueError(f"{name} must have the output's shape {expected}, got {g.shape}")
        if not batched:
            return g[:, None, :]
        return np.ascontiguousarray(g.transpose(1, 0, 2)) if self.batch_first else g

    def _state_grads(self, dstate, B, batched):
        names = ("dh_n", "dc_n") if self._has_cell_state else ("dh_n",)
        LD, H = self.num_layers * self.num_directions, self.hidden_size
        parts = state_parts(dstate, names, self.dtype, (LD, B, H) if batched else (LD, H), "dstate",
                            " (the final state's)")
        return [g if g is None or batched else g[:, None, :] for g in parts]

    def extra_repr(self) -> str:
        parts = [str(self.input_size), str(self.hidden_size)]
        defaults = dict(num_layers=1, bias=True, batch_first=False, dropout=0.0,
                        bidirectional=False, merge_mode="concat")
        for key, default in defaults.items():
            value = getattr(self, key)
            if value != default:
                parts.append(f"{key}={value!r}")
        if self.dtype != np.float32:
            parts.append(f"dtype={self.dtype.name!r}")
        return ", ".join(parts)

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"


class FrozenRecurrent(Frozen):
    """A frozen RNN / LSTM / GRU layer (:func:`fastrnn.freeze`): its own copy
    of the weights, packed once into the step kernel's layout.

    ``frozen(x, hx=None, lengths=None)`` returns what the layer's inference
    call returns, bit for bit (shapes, ``batch_first``, unbatched input,
    merge modes: all the layer's).  :meth:`stream` steps it one input at a
    time.
    """

    __slots__ = ("_packed",)

    # The layer's configuration, readable on the frozen copy too.
    _CONFIG = frozenset(_RecurrentLayer._config_keys + (
        "mode", "num_directions", "reset_after", "nonlinearity", "forget_bias"))

    def __init__(self, twin, precision=None):
        """``twin``: a layer of the frozen copy's own, which it keeps;
        ``precision``: its weights' (None: its dtype's)."""
        super().__init__(twin, precision)
        self._packed = [[F.PackedDirection(twin.mode, twin.reset_after,
                                           *twin.direction_weights(layer, d),
                                           precision=precision)
                         for d in range(twin.num_directions)]
                        for layer in range(twin.num_layers)]

    def __getattr__(self, name):
        if name in FrozenRecurrent._CONFIG:
            return getattr(self._module, name)
        raise AttributeError(f"a frozen {type(self._module).__name__} has no attribute {name!r}"
                             " (it runs inference only)")

    def __call__(self, x, hx=None, lengths=None):
        layer = self._module
        x, states, lengths, batched = layer._check_input(x, hx, lengths)
        out, finals, _ = layer._run(x, states, lengths, training=False, packed=self._packed)
        return layer._finish(out, finals, batched)

    def batched(self, x, hx=None, lengths=None, batch_size=1024, progress=False):
        """``self(x, hx, lengths)`` on a large batch, ``batch_size`` rows at a
        time: the same results, bit for bit (a row's arithmetic does not
        depend on the rows beside it), with the input converted one slice at
        a time (e.g. from a ``numpy.memmap``) and a progress bar on stderr
        with ``progress`` (tqdm's where installed)."""
        layer = self._module
        batch_size = positive_int(batch_size, "batch_size")
        check_bools(progress=progress)
        axis = 0 if layer.batch_first else 1
        shape = np.shape(x)
        if len(shape) != 3:
            layout = "(B, T, input_size)" if layer.batch_first else "(T, B, input_size)"
            raise ValueError(f"x must be 3-D {layout}, got shape {shape}")
        B = shape[axis]
        cut = (lambda a, lo, hi: a[lo:hi]) if axis == 0 else (lambda a, lo, hi: a[:, lo:hi])
        # The states and lengths checked whole, before any work.
        states, lengths, _ = layer._check_rest(shape[1 - axis], B, True, hx, lengths)
        outs, finals = [], []
        bar = _Progress(B, progress)
        try:
            for lo in range(0, max(B, 1), batch_size):
                hi = min(B, lo + batch_size)
                h = tuple(None if s is None else s[:, lo:hi] for s in states)
                out, state = self(cut(x, lo, hi), h if layer._has_cell_state else h[0],
                                  None if lengths is None else lengths[lo:hi])
                outs.append(out)
                finals.append(state if isinstance(state, tuple) else (state,))
                bar.update(hi - lo)
        finally:
            bar.close()
        out = np.concatenate(outs, axis=axis)
        final = tuple(np.concatenate(parts, axis=1) for parts in zip(*finals))
        return out, final if layer._has_cell_state else final[0]

    def stream(self, batch_size=1):
        """A :class:`~fastrnn.layers.stream.Stream` of ``batch_size`` rows
        over every layer: ``stream.step(x_t)`` takes ``(batch_size,
        input_size)`` and returns the last layer's ``(batch_size,
        hidden_size)`` output.  Its state is ``(num_layers, batch_size,
        hidden_size)`` (``h``, or ``(h, c)`` for LSTM), zeros to start."""
        layer = self._module
        if layer.bidirectional:
            raise ValueError("stream: a bidirectional layer cannot be stepped one input at a "
                             "time (its reverse direction reads the sequence from its end); "
                             "call the frozen layer on whole sequences")
        return Stream([directions[0] for directions in self._packed], layer._has_cell_state,
                      batch_size, stacked=True)


class _Progress:
    """Rows done of ``total``, on stderr: tqdm's bar where installed, else a
    line rewritten in place; nothing unless ``enabled``."""

    def __init__(self, total, enabled):
        self.total, self.done, self.bar, self.enabled = total, 0, None, enabled
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self.bar = tqdm(total=total, unit="rows")

    def update(self, n):
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.enabled:
            sys.stderr.write(f"\r{self.done}/{self.total} rows")

    def close(self):
        if self.bar is not None:
            self.bar.close()
        elif self.enabled:
            sys.stderr.write("\n")


# The parts of the three layers' reference that they share (each class's
# docstring is composed from them below its definition).
_PARAMETERS = """\
num_layers : int, default 1
    Layers stacked; layer k > 0 reads layer k - 1's (merged) output.
bias : bool, default True
    Whether the layer has ``bias_ih`` and ``bias_hh``.
batch_first : bool, default False
    ``x`` and ``out`` are ``(B, T, ...)`` instead of ``(T, B, ...)``; the
    states are ``(L * D, B, H)`` either way.
dropout : float in [0, 1), default 0.0
    Dropout on the output of every layer but the last, in training only
    (``forward_train``), from the layer's own seeded generator.
bidirectional : bool, default False
    Each layer also runs over the sequence from its end (``D = 2``).
merge_mode : {"concat", "sum", "mean", "max", "mul"}, default "concat"
    How a layer's two directions combine: ``"concat"`` (PyTorch's, width
    ``2 H``) or elementwise (width ``H``).  ``"max"`` sends the gradient to
    the larger input, on a tie all of it to the forward direction.
dtype : {"float32", "float64"}, default "float32"
    The parameters' and the computation's dtype; inputs are cast to it.
seed : int, numpy.random.Generator or None, default None
    The randomness of the initialisation and of dropout.
recurrent_init : {"uniform", "orthogonal"}, default "uniform"
    ``"orthogonal"``: every gate block of ``weight_hh`` a random orthogonal
    matrix instead."""

_INPUTS = """\
Call ``layer(x, hx=None, lengths=None)`` (inference: nothing is kept) or
``layer.forward_train(x, hx=None, lengths=None)`` (training: returns
``((out, state), backprop)``; see :meth:`forward_train`).

x : array_like, (T, B, input_size)
    ``(B, T, input_size)`` with ``batch_first``; ``(T, input_size)`` for one
    unbatched sequence.  Cast to ``dtype``.
hx : STATE_IN, optional
    The initial state, ``(L * D, B, H)`` (each of the pair for LSTM;
    ``(L * D, H)`` unbatched), in PyTorch's order ``layer * D + direction``.
    Default: zeros.
lengths : array_like of int, (B,), optional
    Each sequence's length in ``[0, T]`` (PyTorch's packed sequences): a
    row stops at its length (its state is kept from there, its output is
    zero), and the reverse direction starts at it.  Default: all ``T``."""

_OUTPUTS = """\
out : ndarray, (T, B, D * H)
    The last layer's output at every step (merged: width ``H`` for merge
    modes other than concat; ``(B, T, ...)`` with ``batch_first``).
STATE_OUT"""

_NOTES = """\
All ``weight_*`` and ``bias_*`` are initialised from ``U(-k, k)`` with
``k = 1 / sqrt(hidden_size)``, as PyTorch does.  Weights use PyTorch's names
and layout, so ``load_state_dict`` takes a torch layer's state dict, and the
outputs match PyTorch's to float rounding.  The kernels release the GIL and
run on ``fastrnn.get_num_threads()`` OpenMP threads; results are the same
for any thread count.  ``fastrnn.freeze(layer)`` packs the weights once for
inference."""


def _layer_doc(summary, equations, gates, own_parameters, state_in, state_out, example):
    return f"""{summary}

For each element of the input sequence, each layer computes::

{equations}

Parameters
----------
input_size : int
    Features of ``x``.
hidden_size : int
    Features of the state ``h`` (``H``).
{_PARAMETERS}{own_parameters}

Attributes
----------
weight_ih_l[k] : ndarray, ({gates} * H, input_size) for k = 0, else ({gates} * H, D * H)
    Layer k's input weights (the merged width of layer k - 1's output for
    k > 0: ``H`` for the elementwise merge modes).  ``_reverse`` names the
    reverse direction's: ``weight_ih_l0_reverse``.
weight_hh_l[k] : ndarray, ({gates} * H, H)
    Layer k's recurrent weights.
bias_ih_l[k], bias_hh_l[k] : ndarray, ({gates} * H,)
    Its biases (with ``bias``).

All are in ``parameters()`` (live arrays) and ``state_dict()`` (copies);
their gradients accumulate in ``grads`` under the same names.

Notes
-----
{_INPUTS.replace("STATE_IN", state_in)}

It returns ``(out, state)``:

{_OUTPUTS.replace("STATE_OUT", state_out)}

{_NOTES}

Examples
--------
{example}
"""


class RNN(_RecurrentLayer):
    # (the reference: RNN.__doc__, composed below)

    _num_gates = F.num_gates("rnn_tanh")

    _config_keys = _RecurrentLayer._config_keys + ("nonlinearity",)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, merge_mode: str = "concat",
                 dtype: DTypeLike = "float32", seed: Seed = None,
                 recurrent_init: str = "uniform") -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__("rnn_" + nonlinearity, input_size, hidden_size, num_layers, bias,
                         batch_first, dropout, bidirectional, merge_mode, dtype, seed,
                         recurrent_init=recurrent_init)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (", nonlinearity='relu'" if self.nonlinearity == "relu" else "")


class LSTM(_RecurrentLayer):
    # (the reference: LSTM.__doc__, composed below)

    _num_gates = F.num_gates("lstm")

    _has_cell_state = True
    _config_keys = _RecurrentLayer._config_keys + ("forget_bias",)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 merge_mode: str = "concat", dtype: DTypeLike = "float32", seed: Seed = None,
                 recurrent_init: str = "uniform", forget_bias: float | None = None) -> None:
        super().__init__("lstm", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, merge_mode, dtype, seed,
                         recurrent_init=recurrent_init, forget_bias=forget_bias)


class GRU(_RecurrentLayer):
    # (the reference: GRU.__doc__, composed below)

    _num_gates = F.num_gates("gru")

    _config_keys = _RecurrentLayer._config_keys + ("reset_after",)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 merge_mode: str = "concat", dtype: DTypeLike = "float32", seed: Seed = None,
                 reset_after: bool = True, recurrent_init: str = "uniform") -> None:
        super().__init__("gru", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, merge_mode, dtype, seed, reset_after,
                         recurrent_init=recurrent_init)

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.reset_after else ", reset_after=False")


_H_STATE_IN = "ndarray"
_H_STATE_OUT = """\
h_n : ndarray, (L * D, B, H)
    The state after each sequence's last valid step, every layer and
    direction (``(L * D, H)`` unbatched)."""

RNN.__doc__ = _layer_doc(
    "An Elman RNN (PyTorch's ``nn.RNN``): a stack of layers of ``tanh`` or ``relu`` units.",
    EQUATIONS["rnn"],
    1, """
nonlinearity : {"tanh", "relu"}, default "tanh"
    ``act``.""", _H_STATE_IN, _H_STATE_OUT, """\
>>> import numpy as np
>>> import fastrnn as fr
>>> rnn = fr.RNN(10, 20, num_layers=2, seed=0)
>>> x = np.zeros((5, 3, 10), np.float32)          # (T, B, input_size)
>>> out, h_n = rnn(x)
>>> out.shape, h_n.shape
((5, 3, 20), (2, 3, 20))""")

LSTM.__doc__ = _layer_doc(
    "A long short-term memory network (PyTorch's ``nn.LSTM``): a stack of LSTM layers.",
    EQUATIONS["lstm"],
    4, """
forget_bias : float, optional
    Start the forget gate's bias (``bias_ih + bias_hh``) at this value (a
    common choice: 1.0); default: PyTorch's initialisation.""",
    "tuple (h_0, c_0) of ndarray", """\
(h_n, c_n) : tuple of ndarray, each (L * D, B, H)
    The hidden and cell states after each sequence's last valid step."""
    , """\
>>> import numpy as np
>>> import fastrnn as fr
>>> lstm = fr.LSTM(10, 20, num_layers=2, seed=0)
>>> x = np.zeros((5, 3, 10), np.float32)          # (T, B, input_size)
>>> out, (h_n, c_n) = lstm(x)
>>> out.shape, h_n.shape, c_n.shape
((5, 3, 20), (2, 3, 20), (2, 3, 20))
>>> (out, state), backprop = lstm.forward_train(x)
>>> dx, dhx = backprop(np.ones_like(out))         # parameter gradients in lstm.grads
>>> dx.shape, lstm.grads["weight_hh_l1"].shape
((5, 3, 10), (80, 20))""")

GRU.__doc__ = _layer_doc(
    "A gated recurrent unit network (PyTorch's ``nn.GRU``): a stack of GRU layers.",
    EQUATIONS["gru"],
    3, """
reset_after : bool, default True
    Where the reset gate applies: after the recurrent product (PyTorch's,
    cuDNN's and Keras's default) or before it (Cho et al. 2014; ONNX's
    ``linear_before_reset=0``).""", _H_STATE_IN, _H_STATE_OUT, """\
>>> import numpy as np
>>> import fastrnn as fr
>>> gru = fr.GRU(10, 20, bidirectional=True, batch_first=True, seed=0)
>>> x = np.zeros((3, 5, 10), np.float32)          # (B, T, input_size)
>>> out, h_n = gru(x, lengths=[5, 2, 4])
>>> out.shape, h_n.shape
((3, 5, 40), (2, 3, 20))""")

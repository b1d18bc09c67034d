"""``fr.RNNCell``, ``fr.LSTMCell``, ``fr.GRUCell``: one time step, for
streaming and hand-written decoders.

A cell step is the fused kernel run over a sequence of length 1, so cells
and layers share every line of math (and a cell's weights load straight
into a one-layer layer and back).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .. import functional as F
from .._validation import as_array, check_memory, is_count, make_rng, state_parts
from .init import cell_param_shapes, recurrent_parameters
from .module import Frozen, checked_precision, one_shot
from .recurrent_base import EQUATIONS, RecurrentModule
from .stream import Stream

if TYPE_CHECKING:
    from typing import Any, Callable

    from .._typing import ArrayLike, DTypeLike, ParamShapes, Seed, State, StateLike


class _Cell(RecurrentModule):
    """Shared machinery of RNNCell, LSTMCell and GRUCell."""

    _config_keys = ("input_size", "hidden_size", "bias", "dtype", "recurrent_init")

    def __init__(self, mode, input_size, hidden_size, bias=True, dtype="float32", seed=None,
                 reset_after=True, recurrent_init="uniform", forget_bias=None):
        super().__init__(dtype)
        self._configure(mode, input_size, hidden_size, bias, reset_after, recurrent_init,
                        forget_bias)
        shapes = self.param_shapes(self.input_size, self.hidden_size, self.bias)
        check_memory(sum(math.prod(shape) for _, shape in shapes), self.dtype,
                     f"{type(self).__name__}({self.input_size}, {self.hidden_size})")
        for name, value in recurrent_parameters(make_rng(seed), self._num_gates, self.input_size,
                                                self.hidden_size, self.bias, recurrent_init,
                                                self.forget_bias):
            self._add_parameter(name, value)

    @classmethod
    def param_shapes(cls, input_size: int | None = None, hidden_size: int | None = None,
                     bias: bool = True, **config: Any) -> ParamShapes:
        """The ``(name, shape)`` of every parameter a cell of this config has
        (PyTorch's names and order), without building it; None for a config
        the constructor refuses."""
        if not (is_count(input_size) and is_count(hidden_size) and isinstance(bias, bool)):
            return None
        return cell_param_shapes(cls._num_gates, input_size, hidden_size, bias)

    def _weights(self):
        return self._weights_of("")

    def _check(self, x, state):
        """-> x as (1, B, I), [h, c] each (B, H) or None, batched."""
        x = as_array(x, "x", self.dtype)
        if x.ndim not in (1, 2):
            raise ValueError(f"x must be 2-D (batch, input_size) or 1-D (input_size,), got shape {x.shape}")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"x must have input_size {self.input_size} in its last axis, got shape "
                             f"{x.shape}")
        batched = x.ndim == 2   # a batch of 0 rows gives 0 rows, as in PyTorch
        x2 = x if batched else x[None]
        names = ("h", "c") if self._has_cell_state else ("h",)
        expected = (x2.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        parts = state_parts(state, names, self.dtype, expected, "state")
        parts = [s if s is None or batched else s[None] for s in parts]
        return x2[None], parts, batched

    def _pack(self, h, c, batched):
        if not batched:
            h = h[0]
            c = None if c is None else c[0]
        return (h, c) if self._has_cell_state else h

    def _step(self, x, state, train):
        x3, parts, batched = self._check(x, state)
        call = F.recurrent_train if train else F.recurrent
        result = call(self.mode, x3, *self._weights(), *parts, reset_after=self.reset_after)
        return result, batched, x3.shape[1]

    def freeze(self, precision: str | None = None) -> FrozenCell:
        """An inference-only copy with its weights packed once, at
        ``precision`` (:func:`fastrnn.freeze`)."""
        return FrozenCell(self._twin(), checked_precision(self, precision))

    def __call__(self, x: ArrayLike, state: StateLike | None = None) -> State:
        """One step: the new state (``h`` or ``(h, c)``)."""
        (_, h, c), batched, _ = self._step(x, state, train=False)
        return self._pack(h, c, batched)

    def forward_train(self, x: ArrayLike, state: StateLike | None = None
                      ) -> tuple[State, Callable[[StateLike], tuple[np.ndarray, State]]]:
        """One step keeping its workspace: ``(new_state, backprop)``;
        ``backprop(dstate)`` returns ``(dx, dstate_prev)`` and adds the
        parameter gradients into ``self.grads``."""
        ((_, h, c), bp), batched, B = self._step(x, state, train=True)
        given = [None] * 2 if state is None else (list(state) if self._has_cell_state else [state, None])
        grads = self._grad_slots_of("")

        def check(dstate):
            names = ("dh", "dc") if self._has_cell_state else ("dh",)
            if dstate is None:
                raise TypeError("dstate must be the gradient of the new state, got None")
            expected = (B, self.hidden_size) if batched else (self.hidden_size,)
            parts = state_parts(dstate, names, self.dtype, expected, "dstate", " (the state's)")
            return ([g if g is None or batched else g[None] for g in parts],)

        def backprop(parts):
            dx, dh, dc, _ = bp(None, *parts, grads=grads)
            # A state passed as None was zeros, not an input: its gradient is zeros.
            dh = np.zeros_like(dh) if given[0] is None else dh
            dc = np.zeros_like(dc) if self._has_cell_state and given[1] is None else dc
            dx = dx[0] if batched else dx[0, 0]
            return dx, self._pack(dh, dc, batched)

        return self._pack(h, c, batched), one_shot(backprop, self, check)

    def __repr__(self):
        extra = "" if self.bias else ", bias=False"
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size}{extra})"


class FrozenCell(Frozen):
    """A frozen RNNCell / LSTMCell / GRUCell (:func:`fastrnn.freeze`): its own
    copy of the weights, packed once.  ``frozen(x, state=None)`` returns
    what the cell returns, bit for bit; :meth:`stream` keeps the state
    itself."""

    __slots__ = ("_packed",)

    def __init__(self, twin, precision=None):
        super().__init__(twin, precision)
        self._packed = F.PackedDirection(twin.mode, twin.reset_after, *twin._weights(),
                                         precision=precision)

    def __call__(self, x, state=None):
        cell = self._module
        x3, parts, batched = cell._check(x, state)
        B, H = x3.shape[1], cell.hidden_size
        h, c = (np.zeros((B, H), cell.dtype) if s is None else s.copy() for s in parts
                + [None] * (2 - len(parts)))
        if B:
            F.step(self._packed, x3[0], h, c if cell._has_cell_state else None,
                   np.empty((B, H), cell.dtype), F.StepBuffers(self._packed, B))
        return cell._pack(h, c if cell._has_cell_state else None, batched)

    def stream(self, batch_size=1):
        """A :class:`~fastrnn.layers.stream.Stream` of ``batch_size`` rows:
        ``stream.step(x_t)`` takes ``(batch_size, input_size)`` and returns
        the new ``h``; its state is ``(batch_size, hidden_size)`` (``h``, or
        ``(h, c)`` for LSTMCell), zeros to start."""
        return Stream([self._packed], self._module._has_cell_state, batch_size, stacked=False)


class RNNCell(_Cell):
    # (the reference: RNNCell.__doc__, composed below)

    _num_gates = F.num_gates("rnn_tanh")

    _config_keys = _Cell._config_keys + ("nonlinearity",)

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", dtype: DTypeLike = "float32", seed: Seed = None,
                 recurrent_init: str = "uniform") -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__("rnn_" + nonlinearity, input_size, hidden_size, bias, dtype, seed,
                         recurrent_init=recurrent_init)


class LSTMCell(_Cell):
    # (the reference: LSTMCell.__doc__, composed below)

    _num_gates = F.num_gates("lstm")

    _has_cell_state = True
    _config_keys = _Cell._config_keys + ("forget_bias",)

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 dtype: DTypeLike = "float32", seed: Seed = None, recurrent_init: str = "uniform",
                 forget_bias: float | None = None) -> None:
        super().__init__("lstm", input_size, hidden_size, bias, dtype, seed,
                         recurrent_init=recurrent_init, forget_bias=forget_bias)


class GRUCell(_Cell):
    # (the reference: GRUCell.__doc__, composed below)

    _num_gates = F.num_gates("gru")

    _config_keys = _Cell._config_keys + ("reset_after",)

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 dtype: DTypeLike = "float32", seed: Seed = None, reset_after: bool = True,
                 recurrent_init: str = "uniform") -> None:
        super().__init__("gru", input_size, hidden_size, bias, dtype, seed, reset_after,
                         recurrent_init=recurrent_init)


def _cell_doc(summary, kind, gates, own_parameters, state, example):
    return f"""{summary}

One step of :class:`fastrnn.{kind}` (the same kernels, bit for bit)::

{EQUATIONS[kind.lower()]}

Parameters
----------
input_size : int
    Features of ``x``.
hidden_size : int
    Features of the state (``H``).
bias : bool, default True
    Whether the cell has ``bias_ih`` and ``bias_hh``.
dtype : {{"float32", "float64"}}, default "float32"
    The parameters' and the computation's dtype; inputs are cast to it.
seed : int, numpy.random.Generator or None, default None
    The randomness of the initialisation.
recurrent_init : {{"uniform", "orthogonal"}}, default "uniform"
    ``"orthogonal"``: every gate block of ``weight_hh`` a random orthogonal
    matrix instead.{own_parameters}

Attributes
----------
weight_ih : ndarray, ({gates} * H, input_size)
weight_hh : ndarray, ({gates} * H, H)
bias_ih, bias_hh : ndarray, ({gates} * H,)
    (with ``bias``)

Notes
-----
``cell(x, state=None)`` returns the new state; ``cell.forward_train(x,
state=None)`` returns ``(new_state, backprop)``, ``backprop(dstate)``
returning ``(dx, dstate_prev)`` and adding the parameter gradients into
``grads``.

- ``x``: array_like, ``(B, input_size)``, or ``(input_size,)`` unbatched;
- ``state``: {state}, ``(B, H)`` (``(H,)`` unbatched), optional; default
  zeros.

Initialisation and names are PyTorch's (``U(-k, k)``, ``k = 1 /
sqrt(hidden_size)``); ``fastrnn.freeze(cell)`` packs the weights once and
its ``stream()`` steps a sequence with no per-step setup.

Examples
--------
{example}
"""


RNNCell.__doc__ = _cell_doc(
    "An Elman RNN cell (PyTorch's ``nn.RNNCell``).", "RNN", 1, """
nonlinearity : {"tanh", "relu"}, default "tanh"
    ``act``.""", "ndarray h", """\
>>> import numpy as np
>>> import fastrnn as fr
>>> cell = fr.RNNCell(10, 20, seed=0)
>>> h = cell(np.zeros((3, 10), np.float32))
>>> h.shape
(3, 20)""")

LSTMCell.__doc__ = _cell_doc(
    "A long short-term memory cell (PyTorch's ``nn.LSTMCell``).", "LSTM", 4, """
forget_bias : float, optional
    Start the forget gate's bias (``bias_ih + bias_hh``) at this value;
    default: PyTorch's initialisation.""", "tuple (h, c) of ndarray", """\
>>> import numpy as np
>>> import fastrnn as fr
>>> cell = fr.LSTMCell(10, 20, seed=0)
>>> h, c = cell(np.zeros((3, 10), np.float32))
>>> h, c = cell(np.ones((3, 10), np.float32), (h, c))     # the next step
>>> h.shape, c.shape
((3, 20), (3, 20))""")

GRUCell.__doc__ = _cell_doc(
    "A gated recurrent unit cell (PyTorch's ``nn.GRUCell``).", "GRU", 3, """
reset_after : bool, default True
    Where the reset gate applies (see :class:`fastrnn.GRU`).""", "ndarray h", """\
>>> import numpy as np
>>> import fastrnn as fr
>>> cell = fr.GRUCell(10, 20, seed=0)
>>> h = cell(np.zeros(10, np.float32))                     # one unbatched input
>>> h.shape
(20,)""")

"""``SequenceModel``: what the task models share -- an input encoder (an
``Embedding`` for token ids, or float features as they are), a stacked
recurrent layer, dropout, and ``fit`` / ``evaluate`` over padded,
length-bucketed batches.

Each task model adds a head and four hooks: ``_dataset`` (validate user
data), ``_collate`` (pad one batch), ``_forward`` (inference, or training
with a backprop) and ``_loss`` (loss, its gradient and metric sums).
"""
from __future__ import annotations

import itertools
import numbers
from typing import TYPE_CHECKING

import numpy as np

from .._validation import as_array, as_lengths, check_bools, is_count, make_rng, positive_int
from ..layers.dropout import Dropout
from ..layers.embedding import Embedding, as_ids
from ..layers.linear import Linear
from ..layers.module import one_shot
from ..layers.recurrent import GRU, LSTM, RNN
from ..losses import cross_entropy
from ._fit import TrainableModel
from ._data import feature_sequences, pad_time_major, token_sequences, valid_mask
from ._pooling import pool

if TYPE_CHECKING:
    from typing import Any, Callable

    from .._typing import ArrayLike, ParamShapes

CELLS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
IGNORE = -100  # the target of padded steps: cross_entropy skips it


def step_targets(data, index):
    """Per-step integer targets of one batch, ``(T, B)``, padded with IGNORE."""
    return None if data.targets is None else pad_time_major(data.targets, index, IGNORE,
                                                            np.intp)[0]


def step_loss(logits, targets):
    """Cross-entropy over the real steps, with accuracy sums for the history."""
    loss, grad = cross_entropy(logits, targets, ignore_index=IGNORE)
    real = targets != IGNORE
    n = int(real.sum())
    correct = int(((logits.argmax(axis=-1) == targets) & real).sum())
    return loss, grad, {"loss": (loss * n, n), "accuracy": (correct, n)}


def check_id(value, name, vocab_size, optional=True):
    """A special token id (``pad_id``, ``sos_id``, ...): an int in
    ``[0, vocab_size)``.  Bools are refused (``True`` would pass as id 1)."""
    expected = f"{'None or ' if optional else ''}an id in [0, {vocab_size})"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__} ({value!r})")
    if not 0 <= value < vocab_size:
        raise ValueError(f"{name} must be {expected}, got {int(value)}")
    return int(value)


def check_distinct_ids(**ids):
    """Raise ``ValueError`` when two of the special ids given (not None)
    are equal: the padding id's embedding row stays zero and never learns,
    so a start token sharing it would be a frozen zero input, and equal
    start and end tokens could not tell a sequence's start from its end."""
    given = [v for v in ids.values() if v is not None]
    if len(set(given)) < len(given):
        raise ValueError(f"{', '.join(list(ids)[:-1])} and {list(ids)[-1]} must differ, got "
                         f"{', '.join(str(v) for v in ids.values())}")


def child_seeds(seed, n):
    """``n`` independent integer seeds drawn from ``seed``."""
    rng = make_rng(seed)
    return [int(s) for s in rng.integers(0, 2**63 - 1, size=n)]



def output_backprop(backprop, outputs, name, dtype):
    """A model's one-shot backprop from the gradient of its ``outputs``:
    ``name`` (``"doutputs"``, ``"dlogits"``) is cast to ``dtype`` and must
    have their shape, or the call is refused (and the backprop stays
    usable); it returns None (token ids have no gradient)."""
    what = name[1:]

    def check(grad):
        grad = as_array(grad, name, dtype)
        if grad.shape != outputs.shape:
            raise ValueError(f"{name} must have the {what}' shape {outputs.shape}, got "
                             f"{grad.shape}")
        return (grad,)

    def run(grad):
        backprop(grad)

    return one_shot(run, check=check)

class InvalidConfig(Exception):
    """A config the model's constructor refuses (the constructor says why)."""


def config_count(config, name):
    """``config[name]``, which must be a count (an int >= 1)."""
    value = config.get(name)
    if not is_count(value):
        raise InvalidConfig(name)
    return int(value)


def _prefixed(name, shapes):
    for param, shape in shapes:
        yield f"{name}.{param}", shape


class ComposedModel(TrainableModel):
    """A model made of child modules, each given by :meth:`_children`: the
    one description of its composition that both the constructor (which
    builds each child from its entry, :meth:`_add_child`) and
    :meth:`param_shapes` read."""

    @classmethod
    def _children(cls, config):
        """``[(name, class, size arguments), ...]``: the children holding
        parameters that ``config`` (the constructor's arguments) builds, in
        order; :class:`InvalidConfig` for a config the constructor refuses."""
        raise NotImplementedError

    @classmethod
    def param_shapes(cls, **config: Any) -> ParamShapes:
        """The ``(name, shape)`` of every parameter ``cls(**config)`` has --
        its children's, as ``"<child>.<name>"`` -- without building it (lazy:
        a forged ``num_layers`` costs nothing); None for a config the
        constructor refuses."""
        try:
            children = cls._children(config)
        except InvalidConfig:
            return None
        parts = []
        for name, child, arguments in children:
            shapes = child.param_shapes(**arguments)
            if shapes is None:
                return None
            parts.append(_prefixed(name, shapes))
        return itertools.chain.from_iterable(parts)

    def _add_child(self, children, name, **extra):
        """Build and register child ``name`` of ``children`` (:meth:`_children`'s
        list) with its size arguments and ``extra`` (dtype, seed, options
        that do not change its parameters)."""
        (child, arguments), = [(c, a) for n, c, a in children if n == name]
        return self._add_module(name, child(**arguments, **extra))


class SequenceModel(ComposedModel):
    """Input encoder + stacked recurrent layer + dropout (no head).

    Exactly one of ``vocab_size`` (token-id input through an ``Embedding``
    of ``embed_size``, whose ``pad_id`` row stays zero) and ``input_size``
    (float features) is given.  ``dropout`` applies to the encoder's output,
    between recurrent layers and before the head, in training only.
    """

    _config_keys = ("vocab_size", "input_size", "embed_size", "hidden_size", "cell",
                    "num_layers", "bidirectional", "dropout", "pad_id", "dtype")
    _recurrent_children = ("rnn",)

    def __init__(self, *, vocab_size, input_size, embed_size, hidden_size, cell, num_layers,
                 bidirectional, dropout, pad_id, dtype, seed):
        super().__init__(dtype)
        if (vocab_size is None) == (input_size is None):
            raise ValueError(f"give exactly one of vocab_size (token-id input) and input_size "
                             f"(float features), got vocab_size={vocab_size!r}, "
                             f"input_size={input_size!r}")
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
        check_bools(bidirectional=bidirectional)
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) \
                or not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be a float in [0, 1), got {dropout!r}")
        self.vocab_size = None if vocab_size is None else positive_int(vocab_size, "vocab_size")
        self.input_size = None if input_size is None else positive_int(input_size, "input_size")
        self.embed_size = positive_int(embed_size, "embed_size")
        self.hidden_size = positive_int(hidden_size, "hidden_size")
        self.num_layers = positive_int(num_layers, "num_layers")
        self.cell, self.bidirectional, self.dropout = cell, bidirectional, float(dropout)
        if pad_id is not None and self.vocab_size is not None:
            check_id(pad_id, "pad_id", self.vocab_size)
        self.pad_id = pad_id if pad_id is None else int(pad_id)

        seeds = iter(child_seeds(seed, 8))
        children, self.features = self._encoder_children(
            dict(vocab_size=self.vocab_size, input_size=self.input_size,
                 embed_size=self.embed_size, hidden_size=self.hidden_size, cell=cell,
                 num_layers=self.num_layers), bidirectional)
        self.embedding = None
        if self.vocab_size is not None:
            self.embedding = self._add_child(children, "embedding", padding_idx=self.pad_id,
                                             dtype=dtype, seed=next(seeds))
        self.rnn = self._add_child(children, "rnn", dropout=self.dropout, dtype=dtype,
                                   seed=next(seeds))
        # Parameter-free, so not registered: the model's names stay those of
        # its weights.
        self._input_dropout = Dropout(self.dropout, dtype=dtype, seed=next(seeds))
        self._output_dropout = Dropout(self.dropout, dtype=dtype, seed=next(seeds))
        self._head_seed = next(seeds)

    @classmethod
    def _encoder_children(cls, config, bidirectional):
        """The encoder's children (:meth:`_children`'s entries) -- the
        embedding of a token input, the recurrent layer -- and the width of
        the recurrent output."""
        H = config_count(config, "hidden_size")
        layer = CELLS.get(config.get("cell"))
        if layer is None or not isinstance(bidirectional, bool):
            raise InvalidConfig("cell")
        children = []
        if config.get("vocab_size") is not None:
            E = config_count(config, "embed_size")
            children.append(("embedding", Embedding, dict(
                num_embeddings=config_count(config, "vocab_size"), embedding_dim=E)))
        else:
            E = config_count(config, "input_size")
        children.append(("rnn", layer, dict(input_size=E, hidden_size=H,
                                            num_layers=config_count(config, "num_layers"),
                                            bidirectional=bidirectional)))
        return children, H * (2 if bidirectional else 1)

    # The config key of the head's output width (a classifier's
    # num_classes); a model with another head overrides _children.
    _head_width_key = None

    @classmethod
    def _children(cls, config):
        return cls._with_head(config, config.get("bidirectional"),
                              config_count(config, cls._head_width_key))

    def _add_head(self, dtype):
        """Build the ``head`` of :meth:`_children` (once the model's config is
        complete)."""
        return self._add_child(self._children(self.get_config()), "head", dtype=dtype,
                               seed=self._head_seed)

    @classmethod
    def _with_head(cls, config, bidirectional, out_features):
        """The encoder's children, then a ``head`` Linear from its output to
        ``out_features``."""
        children, width = cls._encoder_children(config, bidirectional)
        return children + [("head", Linear, dict(in_features=width,
                                                 out_features=out_features))]

    # -------------------------------------------------------------- encoder
    def _sequences(self, X, name="X", min_length=1):
        """Validated input sequences (ids or features)."""
        if self.vocab_size is not None:
            return token_sequences(X, self.vocab_size, name, min_length)
        return feature_sequences(X, self.input_size, self.dtype, name, min_length)

    def _collate(self, data, index):
        """One padded batch; targets indexed per sequence (many-to-one)."""
        inputs, lengths = self._pad_inputs(data.inputs, index)
        targets = None if data.targets is None else data.targets[index]
        return {"inputs": inputs, "lengths": lengths, "targets": targets}

    def _pad_inputs(self, seqs, index):
        """Padded time-major inputs of one batch and their lengths."""
        if self.vocab_size is not None:
            pad = 0 if self.pad_id is None else self.pad_id
            return pad_time_major(seqs, index, pad, np.intp)
        return pad_time_major(seqs, index, 0, self.dtype)

    def _encode(self, inputs, lengths, hx=None, train=False):
        """Recurrent outputs ``(out (T, B, D*H), state)``; training also
        returns ``backprop(dout, dstate=None) -> dhx`` (parameter gradients
        accumulated)."""
        if not train:
            x = self.embedding(inputs) if self.embedding is not None else inputs
            return self.rnn(x, hx, lengths)
        if self.embedding is not None and self.dropout == 0.0:
            # Nothing between the lookup and the layer: fold it in.
            return self.rnn.forward_train_embedded(self.embedding, inputs, hx, lengths)
        if self.embedding is not None:
            x, embed_bp = self.embedding.forward_train(inputs)
        else:
            x, embed_bp = inputs, None
        x, drop_bp = self._drop(self._input_dropout, x)
        (out, state), rnn_bp = self.rnn.forward_train(x, hx, lengths)

        def backprop(dout, dstate=None):
            dx, dhx = rnn_bp(dout, dstate)
            if embed_bp is not None:
                embed_bp(drop_bp(dx))
            return dhx

        return (out, state), backprop

    def _many_to_one(self, batch, train, hx=None):
        """``head(pool(outputs))``: one prediction per sequence.  Training
        returns ``(pred, backprop)``, ``backprop(dpred) -> dhx``."""
        inputs, lengths = batch["inputs"], batch["lengths"]
        if not train:
            out, state = self._encode(inputs, lengths, hx)
            return self.head(pool(self.pooling, self.rnn, out, state, lengths)[0])
        (out, state), encode_bp = self._encode(inputs, lengths, hx, train=True)
        pooled, pool_bp = pool(self.pooling, self.rnn, out, state, lengths)
        pooled, drop_bp = self._drop(self._output_dropout, pooled)
        pred, head_bp = self.head.forward_train(pooled)

        def backprop(dpred):
            return encode_bp(*pool_bp(drop_bp(head_bp(dpred))))

        return pred, backprop

    def _many_to_many(self, batch, train, hx=None):
        """``head(outputs)`` at every step, ``(T, B, ...)``; padded steps
        give values the losses ignore.  Training as :meth:`_many_to_one`."""
        inputs, lengths = batch["inputs"], batch["lengths"]
        if not train:
            return self.head(self._encode(inputs, lengths, hx)[0])
        (out, _), encode_bp = self._encode(inputs, lengths, hx, train=True)
        out, drop_bp = self._drop(self._output_dropout, out)
        pred, head_bp = self.head.forward_train(out)
        padded = ~valid_mask(lengths, len(out))

        def backprop(dpred):
            if padded.any():  # the head's bias must not learn from padded steps
                dpred = np.where(padded[:, :, None], 0, dpred).astype(dpred.dtype, copy=False)
            return encode_bp(drop_bp(head_bp(dpred)))

        return pred, backprop

    def _drop(self, dropout, x):
        """Training-mode dropout; the identity (no mask, no copy) at p = 0."""
        if self.dropout == 0.0:
            return x, lambda dx: dx
        return dropout.forward_train(x)

    # ----------------------------------------------- module protocol (arrays)
    def _batch_conditions(self, conditions, batch):
        if conditions is not None:
            raise ValueError(f"{type(self).__name__} takes no conditions, got "
                             f"{type(conditions).__name__}")
        return None

    def _as_batch(self, inputs, lengths, conditions):
        """A padded time-major batch from the user: ids ``(T, B)`` or
        features ``(T, B, input_size)``, lengths in [1, T] (default T)."""
        if self.vocab_size is not None:
            inputs = as_ids(inputs, self.vocab_size, "inputs")
            layout = "(T, B) token ids"
        else:
            inputs = as_array(inputs, "inputs", self.dtype)
            layout = f"(T, B, {self.input_size}) features"
        ndim = 2 if self.vocab_size is not None else 3
        if inputs.ndim != ndim or inputs.shape[0] == 0 or inputs.shape[1] == 0 \
                or inputs.shape[2:] not in ((), (self.input_size,)):
            raise ValueError(f"inputs must be a non-empty padded batch {layout}, got shape "
                             f"{inputs.shape}")
        T, B = inputs.shape[:2]
        lengths = np.full(B, T, dtype=np.intp) if lengths is None else as_lengths(lengths, B, T)
        if lengths.min() < 1:
            raise ValueError("lengths must be >= 1: every sequence needs at least one step, "
                             f"got min {lengths.min()}")
        return {"inputs": inputs, "lengths": lengths,
                "cond": self._batch_conditions(conditions, B)}

    def __call__(self, inputs: ArrayLike, lengths: ArrayLike | None = None,
                 conditions: ArrayLike | None = None) -> np.ndarray:
        """Inference on one padded, time-major batch: the model's raw outputs
        (logits or forecasts; see the class docstring for shapes)."""
        return self._forward(self._as_batch(inputs, lengths, conditions), train=False)

    def forward_train(self, inputs: ArrayLike, lengths: ArrayLike | None = None,
                      conditions: ArrayLike | None = None
                      ) -> tuple[np.ndarray, Callable[[ArrayLike], None]]:
        """``(outputs, backprop)`` on one padded batch, as :meth:`__call__`.

        ``backprop(doutputs)`` accumulates every parameter's gradient into
        :attr:`grads` and returns None (token ids have no gradient).  Outputs
        at padded steps may hold anything; their gradient is ignored.
        """
        # The backprop reads the batch again later (embedding rows, lengths,
        # conditions): it must own them, or a caller who reuses its arrays
        # between the two calls would silently get the gradient of other data.
        batch = {k: np.array(v) if isinstance(v, np.ndarray) else v
                 for k, v in self._as_batch(inputs, lengths, conditions).items()}
        pred, backprop = self._forward(batch, train=True)
        return pred, output_backprop(backprop, pred, "doutputs", self.dtype)

"""``fr.LanguageModel``: next-token prediction and one-to-many generation
(text, or captions from a conditioning vector)."""
from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING

import numpy as np

from .._validation import as_array, check_bytes, make_rng, positive_int
from ..layers.linear import Linear
from ._base import (SequenceModel, check_distinct_ids, check_id, config_count, step_loss,
                    step_targets)
from ._data import Dataset, token_ids, token_sequences

if TYPE_CHECKING:
    from typing import Any

    from .._typing import ArrayLike, DTypeLike, Seed, Sequences


class LanguageModel(SequenceModel):
    """``p(token_t | tokens_<t [, condition])`` with a unidirectional RNN.

    Training pairs come from each sequence itself: the model reads
    ``[sos] + seq`` and predicts ``seq + [eos]`` (``sos`` / ``eos`` only when
    ``sos_id`` / ``eos_id`` are set; without them it reads ``seq[:-1]`` and
    predicts ``seq[1:]``).  With ``condition_size``, a conditioning vector
    per sequence (an image embedding, a topic, ...) sets the initial state:
    ``h0 (and c0) = tanh(Linear(condition))`` for every layer -- the
    one-to-many shape of image captioning.

    Parameters
    ----------
    vocab_size : int
    embed_size, hidden_size, num_layers : int
    cell : {"lstm", "gru", "rnn"}
    dropout : float
    condition_size : int, optional
        Width of the conditioning vectors (then required by ``fit``).
    sos_id, eos_id : int, optional
        Start / end tokens; generation starts from ``sos_id`` (without a
        prompt) and stops at ``eos_id``.
    pad_id : int, optional
        An id that is never a real token (its embedding stays zero).
    dtype : {"float32", "float64"}
    seed : None, int or numpy Generator

    Examples
    --------
    >>> import fastrnn as fr
    >>> text = fr.datasets.load_text("nursery_rhymes")
    >>> ids, alphabet = fr.datasets.char_vocab(text)
    >>> windows = [ids[i:i + 33] for i in range(0, 2000, 32)]   # lists of ids
    >>> lm = fr.LanguageModel(len(alphabet), hidden_size=64, seed=0)
    >>> _ = lm.fit(windows, epochs=1, progress=False)
    >>> samples = lm.generate(max_len=20, prompt=ids[:10], temperature=0.8, top_k=5, seed=0)
    >>> len(samples), len(samples[0]) <= 20
    (1, True)
    """

    _config_keys = ("vocab_size", "embed_size", "hidden_size", "cell", "num_layers",
                    "dropout", "condition_size", "sos_id", "eos_id", "pad_id", "dtype")

    def __init__(self, vocab_size: int, embed_size: int = 64, hidden_size: int = 256,
                 cell: str = "lstm", num_layers: int = 1, dropout: float = 0.0,
                 condition_size: int | None = None, sos_id: int | None = None,
                 eos_id: int | None = None, pad_id: int | None = None,
                 dtype: DTypeLike = "float32", seed: Seed = None) -> None:
        super().__init__(vocab_size=vocab_size, input_size=None, embed_size=embed_size,
                         hidden_size=hidden_size, cell=cell, num_layers=num_layers,
                         bidirectional=False, dropout=dropout, pad_id=pad_id, dtype=dtype,
                         seed=seed)
        self.sos_id = None if sos_id is None else check_id(sos_id, "sos_id", self.vocab_size)
        self.eos_id = None if eos_id is None else check_id(eos_id, "eos_id", self.vocab_size)
        check_distinct_ids(sos_id=self.sos_id, eos_id=self.eos_id, pad_id=self.pad_id)
        self.condition_size = None if condition_size is None else \
            positive_int(condition_size, "condition_size")
        children = self._children(self.get_config())
        self.head = self._add_child(children, "head", dtype=dtype, seed=self._head_seed)
        if self.condition_size is not None:
            self.bridge = self._add_child(children, "bridge", dtype=dtype,
                                          seed=self._head_seed + 1)

    @classmethod
    def _children(cls, config):
        children = cls._with_head(config, False, config_count(config, "vocab_size"))
        if config.get("condition_size") is not None:
            # The initial states of every layer (h, and c for LSTM), from the condition.
            states = 2 if config.get("cell") == "lstm" else 1
            children.append(("bridge", Linear, dict(
                in_features=config_count(config, "condition_size"),
                out_features=states * config_count(config, "num_layers")
                * config_count(config, "hidden_size"))))
        return children

    # ------------------------------------------------------ conditioning
    def _conditions(self, conditions, n, name):
        if self.condition_size is None:
            if conditions is not None:
                raise ValueError(f"{name} must be None (this model has no condition_size), got "
                                 f"{type(conditions).__name__}")
            return None
        if conditions is None:
            raise TypeError(f"{name} is required: the model was built with condition_size="
                            f"{self.condition_size}")
        cond = as_array(conditions, name, self.dtype)
        if cond.shape != (n, self.condition_size):
            raise ValueError(f"{name} must have shape {(n, self.condition_size)}, got {cond.shape}")
        return cond

    def _batch_conditions(self, conditions, batch):
        return self._conditions(conditions, batch, "conditions")

    def _initial_state(self, cond, train):
        """``hx`` from the conditioning rows (None without), and in training
        the backprop taking ``dhx`` into the bridge's gradients."""
        if cond is None:
            return (None, None) if train else None
        L, B, H = self.num_layers, len(cond), self.hidden_size
        if train:
            a, bridge_bp = self.bridge.forward_train(cond)
        else:
            a = self.bridge(cond)
        z = np.tanh(a)
        parts = np.ascontiguousarray(z.reshape(B, -1, L, H).transpose(1, 2, 0, 3))
        hx = (parts[0], parts[1]) if self.cell == "lstm" else parts[0]
        if not train:
            return hx

        def backprop(dhx):
            d = np.stack(dhx if isinstance(dhx, tuple) else (dhx,))     # (P, L, B, H)
            dz = d.transpose(2, 0, 1, 3).reshape(B, -1)
            bridge_bp(dz * (1 - z * z))

        return hx, backprop

    # ---------------------------------------------------------------- hooks
    def _extras(self):
        return [] if self.sos_id is None else [self.sos_id], \
            [] if self.eos_id is None else [self.eos_id]

    def _dataset(self, X, conditions=None, where=""):
        head, tail = self._extras()
        min_length = max(0, 2 - len(head) - len(tail))
        seqs = token_sequences(X, self.vocab_size, f"{where}X", min_length)
        full = [np.concatenate([head, s, tail]).astype(np.intp) for s in seqs]
        return Dataset([f[:-1] for f in full], [f[1:] for f in full],
                       self._conditions(conditions, len(seqs), f"{where}conditions"))

    def _collate(self, data, index):
        inputs, lengths = self._pad_inputs(data.inputs, index)
        cond = None if data.cond is None else data.cond[index]
        return {"inputs": inputs, "lengths": lengths, "targets": step_targets(data, index),
                "cond": cond}

    def _forward(self, batch, train):
        if not train:
            return self._many_to_many(batch, False, self._initial_state(batch["cond"], False))
        hx, state_bp = self._initial_state(batch["cond"], True)
        logits, backprop = self._many_to_many(batch, True, hx)
        if state_bp is None:
            return logits, backprop
        return logits, lambda dlogits: state_bp(backprop(dlogits))

    def _loss(self, logits, batch):
        return step_loss(logits, batch["targets"])

    # ---------------------------------------------------------- training API
    def fit(self, X: Sequences, conditions: ArrayLike | None = None,
            **kwargs: Any) -> dict[str, list[float]]:
        """Train on the token sequences ``X`` (with ``conditions`` (N,
        condition_size) when the model has ``condition_size``).  Keywords as
        :meth:`SequenceClassifier.fit`; ``validation`` is ``(X_val,
        conditions_val or None)`` or a fraction."""
        return super().fit(X, conditions, **kwargs)

    def evaluate(self, X: Sequences, conditions: ArrayLike | None = None,
                 batch_size: int = 256) -> dict[str, float]:
        """``{"loss", "accuracy", "perplexity"}`` per predicted token."""
        result = super().evaluate(X, conditions, batch_size)
        result["perplexity"] = math.exp(min(result["loss"], 700.0))
        return result

    # ------------------------------------------------------------ inference
    def predict(self, X: Sequences, conditions: ArrayLike | None = None,
                batch_size: int = 256) -> np.ndarray:
        """Next-token probabilities after each sequence, ``(N, vocab_size)``
        (the model reads ``[sos] + seq``)."""
        head, _ = self._extras()
        seqs = token_sequences(X, self.vocab_size, "X", min_length=1 - len(head))
        prompts = [np.concatenate([head, s]).astype(np.intp) for s in seqs]
        data = Dataset(prompts, None, self._conditions(conditions, len(seqs), "conditions"))
        proba = np.empty((len(data), self.vocab_size), dtype=self.dtype)
        for index, logits, batch in self._predictions(data, batch_size):
            last = logits[batch["lengths"] - 1, np.arange(len(index))]
            proba[index] = _softmax(last)
        return proba

    def generate(self, num_samples: int = 1, max_len: int = 100, prompt: ArrayLike | None = None,
                 condition: ArrayLike | None = None, temperature: float = 1.0,
                 top_k: int | None = None, seed: Seed = None) -> list[list[int]]:
        """Sample continuations, ``num_samples`` at once (one batch).

        Parameters
        ----------
        num_samples : int
        max_len : int
            Tokens generated at most per sample.
        prompt : list of int, optional
            Tokens to continue (after ``sos_id`` when the model has one).
            Without a prompt the model needs ``sos_id``.
        condition : array (condition_size,) or (num_samples, condition_size)
            Required when the model has ``condition_size``.
        temperature : float
            Divides the logits; below 1 is more conservative, 0 is greedy.
        top_k : int, optional
            Sample among the ``top_k`` most likely tokens only.
        seed : None, int or numpy Generator

        Returns
        -------
        list of list of int
            The generated tokens of each sample (the prompt and ``eos_id``
            excluded; a sample ends at ``eos_id`` or after ``max_len``).

        Raises
        ------
        ValueError
            ``num_samples`` and ``max_len`` whose tokens would not fit in
            this machine's memory (refused before any step).
        """
        B, max_len = positive_int(num_samples, "num_samples"), positive_int(max_len, "max_len")
        if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real):
            raise TypeError(f"temperature must be a number >= 0, got {type(temperature).__name__} "
                            f"({temperature!r})")
        if not temperature >= 0:
            raise ValueError(f"temperature must be a number >= 0, got {temperature!r}")
        if top_k is not None:
            top_k = min(positive_int(top_k, "top_k"), self.vocab_size)
        # The tokens made, and per step a few (B, V) float64 arrays and the
        # states: refused up front when that cannot fit, not after hours.
        check_bytes(B * (max_len * np.dtype(np.intp).itemsize + 4 * 8 * self.vocab_size
                         + 4 * self.num_layers * self.hidden_size * self.dtype.itemsize),
                    f"num_samples={B}, max_len={max_len}", ValueError)
        rng = make_rng(seed)
        head, _ = self._extras()
        start = list(head) + ([] if prompt is None else
                              token_ids(prompt, self.vocab_size, "prompt").tolist())
        if not start:
            raise ValueError("generate needs a prompt when the model has no sos_id")
        if condition is not None and self.condition_size is not None:
            condition = as_array(condition, "condition", self.dtype)
            if condition.shape == (self.condition_size,):   # one condition for every sample
                condition = np.broadcast_to(condition, (B, self.condition_size))
            elif condition.shape != (B, self.condition_size):
                raise ValueError(f"condition must have shape ({self.condition_size},) or "
                                 f"{(B, self.condition_size)}, got {condition.shape}")
        hx = self._initial_state(self._conditions(condition, B, "condition"), False)

        tokens = np.repeat(np.asarray(start, dtype=np.intp)[:, None], B, axis=1)   # (T, B)
        out, state = self._encode(tokens, None, hx)
        logits = self.head(out[-1])
        made = np.empty((max_len, B), dtype=np.intp)
        done = np.zeros(B, dtype=bool)
        for t in range(max_len):
            made[t] = _sample(logits, temperature, top_k, rng)
            done |= made[t] == (-1 if self.eos_id is None else self.eos_id)
            if done.all():
                made = made[:t + 1]
                break
            out, state = self._encode(made[t:t + 1], None, state)
            logits = self.head(out[0])
        return [_until(made[:, b], self.eos_id) for b in range(B)]


def _softmax(logits):
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def _sample(logits, temperature, top_k, rng):
    """One token per row of ``logits`` (B, V)."""
    if temperature == 0:
        return logits.argmax(axis=1)
    scaled = logits.astype(np.float64) / temperature
    if top_k is not None and top_k < scaled.shape[1]:
        kth = np.partition(scaled, -top_k, axis=1)[:, -top_k][:, None]
        scaled = np.where(scaled >= kth, scaled, -np.inf)
    cdf = np.cumsum(_softmax(scaled), axis=1)
    u = rng.random((len(cdf), 1)) * cdf[:, -1:]
    return np.minimum((cdf < u).sum(axis=1), scaled.shape[1] - 1)


def _until(tokens, eos_id):
    tokens = tokens.tolist()
    return tokens[:tokens.index(eos_id)] if eos_id in tokens else tokens

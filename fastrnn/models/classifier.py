"""``fr.SequenceClassifier``: many-to-one classification (e.g. sentiment)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._validation import positive_int
from ..losses import cross_entropy
from ._base import SequenceModel
from ._data import Dataset, class_labels
from ._pooling import POOLINGS

if TYPE_CHECKING:
    from .._typing import DTypeLike, Seed, Sequences


class SequenceClassifier(SequenceModel):
    """Sequence in, one class out: ``logits = Linear(pool(RNN(embed(x))))``.

    Parameters
    ----------
    num_classes : int
        Number of classes (>= 2).
    vocab_size : int, optional
        Token-id input: sequences are lists of ids in ``[0, vocab_size)``,
        embedded in ``embed_size`` dimensions (row ``pad_id`` stays zero).
    input_size : int, optional
        Float-feature input instead: sequences are ``(T_i, input_size)``
        arrays.  Exactly one of ``vocab_size`` / ``input_size``.
    embed_size, hidden_size, num_layers : int
    cell : {"lstm", "gru", "rnn"}
    bidirectional : bool
    pooling : {"last", "mean", "max"}
        How the outputs become one vector: the state after the last valid
        step (both directions' final states when bidirectional), or the mean
        or max over the valid steps.  Padding never takes part.
    dropout : float
        On the embeddings, between recurrent layers and on the pooled vector
        (training only).
    pad_id : int or None
    dtype : {"float32", "float64"}
    seed : None, int or numpy Generator

    Examples
    --------
    >>> import fastrnn as fr
    >>> X, y, vocab = fr.datasets.sentiment(400, seed=0)     # token-id lists, 0/1 labels
    >>> clf = fr.SequenceClassifier(2, vocab_size=len(vocab), pooling="mean", seed=0)
    >>> history = clf.fit(X, y, epochs=2, validation=0.1, progress=False)
    >>> sorted(history)
    ['accuracy', 'loss', 'time', 'val_accuracy', 'val_loss']
    >>> clf.predict(X[:3]).shape
    (3,)
    >>> sorted(clf.evaluate(X, y))
    ['accuracy', 'loss']
    """

    _config_keys = ("num_classes",) + SequenceModel._config_keys + ("pooling",)
    _head_width_key = "num_classes"

    def __init__(self, num_classes: int, vocab_size: int | None = None,
                 input_size: int | None = None, embed_size: int = 64, hidden_size: int = 128,
                 cell: str = "lstm", num_layers: int = 1, bidirectional: bool = False,
                 pooling: str = "last", dropout: float = 0.0, pad_id: int | None = 0,
                 dtype: DTypeLike = "float32", seed: Seed = None) -> None:
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        super().__init__(vocab_size=vocab_size, input_size=input_size, embed_size=embed_size,
                         hidden_size=hidden_size, cell=cell, num_layers=num_layers,
                         bidirectional=bidirectional, dropout=dropout, pad_id=pad_id,
                         dtype=dtype, seed=seed)
        self.num_classes = positive_int(num_classes, "num_classes", minimum=2)
        self.pooling = pooling
        self.head = self._add_head(dtype)

    # ---------------------------------------------------------------- hooks
    def _dataset(self, X, y, where=""):
        inputs = self._sequences(X, f"{where}X")
        return Dataset(inputs, class_labels(y, len(inputs), self.num_classes, f"{where}y"))

    def _forward(self, batch, train):
        return self._many_to_one(batch, train)

    def _loss(self, logits, batch):
        targets = batch["targets"]
        loss, grad = cross_entropy(logits, targets)
        n = len(targets)
        correct = int((logits.argmax(axis=1) == targets).sum())
        return loss, grad, {"loss": (loss * n, n), "accuracy": (correct, n)}

    # ------------------------------------------------------------ inference
    def predict_proba(self, X: Sequences, batch_size: int = 256) -> np.ndarray:
        """Class probabilities ``(N, num_classes)`` (softmax of the logits)."""
        data = Dataset(self._sequences(X))
        proba = np.empty((len(data), self.num_classes), dtype=self.dtype)
        for index, logits, _ in self._predictions(data, batch_size):
            z = np.exp(logits - logits.max(axis=1, keepdims=True))
            proba[index] = z / z.sum(axis=1, keepdims=True)
        return proba

    def predict(self, X: Sequences, batch_size: int = 256) -> np.ndarray:
        """The most likely class of each sequence, ``(N,)`` ints."""
        return self.predict_proba(X, batch_size).argmax(axis=1)

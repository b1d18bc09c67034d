"""``fr.SequenceTagger``: many-to-many aligned labelling (e.g. named
entities, part-of-speech): one tag per input step."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .._validation import positive_int
from ._base import SequenceModel, step_loss, step_targets
from ._data import Dataset, token_sequences

if TYPE_CHECKING:
    import numpy as np

    from .._typing import DTypeLike, Seed, Sequences


class SequenceTagger(SequenceModel):
    """One tag per step: ``logits[t] = Linear(RNN(embed(x))[t])``.

    Bidirectional by default, so each tag sees the whole sentence.  Inputs
    as :class:`SequenceClassifier` (token ids with ``vocab_size`` or
    features with ``input_size``); targets are one list of tag ids per
    sequence, of the same length.  Accuracy and loss count real steps only.

    Parameters
    ----------
    num_tags : int
        Number of tag classes (>= 2).
    vocab_size, input_size, embed_size, hidden_size, cell, num_layers,
    bidirectional, dropout, pad_id, dtype, seed
        As :class:`SequenceClassifier` (``bidirectional=True`` here).

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> rng = np.random.default_rng(0)
    >>> sentences = [rng.integers(1, 50, size=rng.integers(3, 9)).tolist() for _ in range(200)]
    >>> tags = [[t % 3 for t in s] for s in sentences]     # one tag per token
    >>> tagger = fr.SequenceTagger(num_tags=3, vocab_size=50, seed=0)
    >>> _ = tagger.fit(sentences, tags, epochs=2, progress=False)
    >>> [p.shape for p in tagger.predict([[12, 7, 9], [4, 4]])]
    [(3,), (2,)]
    """

    _config_keys = ("num_tags",) + SequenceModel._config_keys
    _head_width_key = "num_tags"

    def __init__(self, num_tags: int, vocab_size: int | None = None,
                 input_size: int | None = None, embed_size: int = 64, hidden_size: int = 128,
                 cell: str = "lstm", num_layers: int = 1, bidirectional: bool = True,
                 dropout: float = 0.0, pad_id: int | None = 0, dtype: DTypeLike = "float32",
                 seed: Seed = None) -> None:
        super().__init__(vocab_size=vocab_size, input_size=input_size, embed_size=embed_size,
                         hidden_size=hidden_size, cell=cell, num_layers=num_layers,
                         bidirectional=bidirectional, dropout=dropout, pad_id=pad_id,
                         dtype=dtype, seed=seed)
        self.num_tags = positive_int(num_tags, "num_tags", minimum=2)
        self.head = self._add_head(dtype)

    # ---------------------------------------------------------------- hooks
    def _dataset(self, X, y, where=""):
        inputs = self._sequences(X, f"{where}X")
        if y is None:
            raise TypeError(f"{where}y is required: one list of tag ids per sequence, got None")
        tags = token_sequences(y, self.num_tags, f"{where}y", min_length=1, what="tag labels")
        if len(tags) != len(inputs):
            raise ValueError(f"{where}y must hold one tag list per sequence ({len(inputs)}), "
                             f"got {len(tags)}")
        for i, (x, t) in enumerate(zip(inputs, tags)):
            if len(t) != len(x):
                raise ValueError(f"{where}y[{i}] must have one tag per step ({len(x)}), "
                                 f"got {len(t)}")
        return Dataset(inputs, tags)

    def _collate(self, data, index):
        inputs, lengths = self._pad_inputs(data.inputs, index)
        return {"inputs": inputs, "lengths": lengths, "targets": step_targets(data, index)}

    def _forward(self, batch, train):
        return self._many_to_many(batch, train)

    def _loss(self, logits, batch):
        return step_loss(logits, batch["targets"])

    # ------------------------------------------------------------ inference
    def predict(self, X: Sequences, batch_size: int = 256) -> list[np.ndarray]:
        """The most likely tag of every step: a list of ``(T_i,)`` int arrays."""
        data = Dataset(self._sequences(X))
        tags = [None] * len(data)
        for index, logits, batch in self._predictions(data, batch_size):
            best = logits.argmax(axis=-1)                       # (T, B)
            for b, i in enumerate(index):
                tags[i] = best[:batch["lengths"][b], b]
        return tags

"""``fr.Embedding``: a lookup table of vectors, with PyTorch's ``padding_idx``."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._validation import asarray_of, check_memory, is_count, make_rng, positive_int
from .module import Frozen, Module, frozen_copy, grad_lock, one_shot

if TYPE_CHECKING:
    from typing import Any, Callable

    from .._typing import ArrayLike, DTypeLike, ParamShapes, Seed


def as_ids(ids, num_embeddings, name="ids"):
    """An integer array of indices in [0, num_embeddings), or a clear error."""
    arr = asarray_of(ids, name, "an integer array", kinds="iu")
    if arr.size and (arr.min() < 0 or arr.max() >= num_embeddings):
        raise ValueError(f"{name} must lie in [0, {num_embeddings}), got values in "
                         f"[{arr.min()}, {arr.max()}]")
    return arr.astype(np.intp, copy=False)


def scatter_add(target, index, rows):
    """``target[index[i]] += rows[i]`` for every i, repeated indices adding up
    (``np.add.at``, which is ~20x slower: it loops per row)."""
    if not len(index):
        return
    order = np.argsort(index, kind="stable")
    ids = index[order]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    target[ids[starts]] += np.add.reduceat(rows[order], starts, axis=0)


class Embedding(Module):
    """A lookup table of vectors (PyTorch's ``nn.Embedding``): ``out = weight[ids]``,
    ``ids`` of any shape -> ``ids.shape + (embedding_dim,)``.

    Parameters
    ----------
    num_embeddings : int
        Entries of the table (ids are in ``[0, num_embeddings)``).
    embedding_dim : int
        Features of each vector.
    padding_idx : int, optional
        An entry that starts at zero and never receives a gradient, so
        padding stays a zero vector; in ``[-num_embeddings, num_embeddings)``
        (negative counts from the end).  Default: none.
    dtype : {"float32", "float64"}, default "float32"
        The table's dtype.
    seed : int, numpy.random.Generator or None, default None
        The randomness of the initialisation.

    Attributes
    ----------
    weight : ndarray, (num_embeddings, embedding_dim)
        Initialised from N(0, 1), as PyTorch does.

    Notes
    -----
    ``forward_train(ids)`` returns ``(out, backprop)``; ``backprop(dout)``
    adds each occurrence's row into ``grads["weight"]``.  A recurrent layer
    can fold the lookup into its input projection
    (``forward_train_embedded``).

    Examples
    --------
    >>> import fastrnn as fr
    >>> emb = fr.Embedding(100, 16, padding_idx=0, seed=0)
    >>> emb([[3, 5, 0], [7, 0, 0]]).shape
    (2, 3, 16)
    >>> float(abs(emb([0])).sum())
    0.0
    """

    _config_keys = ("num_embeddings", "embedding_dim", "padding_idx", "dtype")

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 dtype: DTypeLike = "float32", seed: Seed = None) -> None:
        super().__init__(dtype)
        self.num_embeddings = positive_int(num_embeddings, "num_embeddings")
        self.embedding_dim = positive_int(embedding_dim, "embedding_dim")
        if padding_idx is not None:
            if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)):
                raise TypeError(f"padding_idx must be an int or None, got "
                                f"{type(padding_idx).__name__}")
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(f"padding_idx must be in [-{self.num_embeddings}, "
                                 f"{self.num_embeddings}), got {padding_idx}")
            padding_idx = int(padding_idx) % self.num_embeddings
        self.padding_idx = padding_idx
        ((name, shape),) = self.param_shapes(self.num_embeddings, self.embedding_dim)
        check_memory(shape[0] * shape[1], self.dtype,
                     f"Embedding({self.num_embeddings}, {self.embedding_dim})")
        weight = make_rng(seed).standard_normal(shape)
        if padding_idx is not None:
            weight[padding_idx] = 0
        self._add_parameter(name, weight)

    @classmethod
    def param_shapes(cls, num_embeddings: int | None = None, embedding_dim: int | None = None,
                     **config: Any) -> ParamShapes:
        """``weight`` (num_embeddings, embedding_dim); None for a config the
        constructor refuses."""
        if not (is_count(num_embeddings) and is_count(embedding_dim)):
            return None
        return [("weight", (num_embeddings, embedding_dim))]

    def freeze(self, precision: str | None = None) -> Frozen:
        """An inference-only copy (:func:`fastrnn.freeze`; ``precision``: None
        or the dtype's name)."""
        return frozen_copy(self, precision)

    @property
    def weight(self) -> np.ndarray:
        """The live ``(num_embeddings, embedding_dim)`` table (writing it in
        place changes the module, as ``parameters()["weight"]`` does)."""
        return self._params["weight"]

    def add_weight_grad(self, dweight: np.ndarray) -> None:
        """Add a whole-table gradient ``dweight`` (num_embeddings,
        embedding_dim) into ``grads["weight"]``, the ``padding_idx`` row left
        out, under the module's gradient lock (what a layer that folds the
        lookup into its own kernel, such as
        :meth:`~fastrnn.layers.recurrent.LSTM.forward_train_embedded`, does
        with the table's gradient).  ``dweight``'s padding row is zeroed."""
        if self.padding_idx is not None:
            dweight[self.padding_idx] = 0
        with grad_lock(self):
            self._grads["weight"] += dweight

    def __call__(self, ids: ArrayLike) -> np.ndarray:
        """Look the rows up (a new array)."""
        return self._params["weight"][as_ids(ids, self.num_embeddings)]

    def forward_train(self, ids: ArrayLike) -> tuple[np.ndarray, Callable[[ArrayLike], None]]:
        """``(out, backprop)``; ``backprop(dout)`` adds into ``grads["weight"]``
        (every occurrence of an id adds its row) and returns None (indices
        have no gradient)."""
        idx = as_ids(ids, self.num_embeddings)
        if idx is ids or not idx.flags.owndata:
            # The backprop reads the ids again later: a caller reusing its
            # array in between would otherwise send the gradient to other rows.
            idx = idx.copy()
        out = self._params["weight"][idx]

        def check(dout):
            d = np.asarray(dout, dtype=self.dtype)
            if d.shape != out.shape:
                raise ValueError(f"dout must have shape {out.shape}, got {d.shape}")
            return (d,)

        def backprop(d):
            flat, rows = idx.reshape(-1), d.reshape(-1, self.embedding_dim)
            if self.padding_idx is not None:
                keep = flat != self.padding_idx
                flat, rows = flat[keep], rows[keep]
            scatter_add(self._grads["weight"], flat, rows)

        return out, one_shot(backprop, self, check)

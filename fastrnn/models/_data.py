"""Variable-length sequence data for the task models: validation, padding
into time-major batches, and batching by length.

A dataset is a list of per-sequence arrays (token ids ``(T_i,)`` or float
features ``(T_i, F)``); batches are padded to their longest member only, and
the recurrent layers get the true lengths, so padding never reaches a state,
a pooled vector or a loss.
"""
from collections.abc import Sequence
from itertools import chain

import numpy as np

from .._validation import asarray_of


def _sequence_list(X, name):
    """``X`` as a list of per-sequence objects: a list / tuple, or the rows
    of an array (an ``(N, T)`` or ``(N, T, F)`` array is N equal-length
    sequences)."""
    if isinstance(X, np.ndarray):
        if X.ndim < 2:
            raise ValueError(f"{name} must be a list of sequences or an array (N, T[, F]), "
                             f"got an array of shape {X.shape}")
        return list(X)
    if isinstance(X, (list, tuple)):
        return list(X)
    raise TypeError(f"{name} must be a list of sequences or a numpy array, got {type(X).__name__}")


_INTP_MAX = np.iinfo(np.intp).max


def _token_array(s, name, min_length, index=None, vocab_size=None, what="token ids"):
    """One sequence of token ids as an intp array (ids not range-checked,
    except unsigned ones beyond intp, which the cast would wrap to negative
    numbers the message would then show); messages name ``name``
    (``name[index]`` with an index: formatted only on an error, as a
    dataset checks tens of thousands of sequences) and call the values
    ``what`` (``"tag labels"`` for a tagger's targets)."""
    try:
        arr = np.asarray(s)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{_named(name, index)} must be a sequence of integer ids ({exc})") from exc
    if arr.dtype == object or (arr.size and arr.dtype.kind not in "iu"):
        raise TypeError(f"{_named(name, index)} must hold integer {what}, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{_named(name, index)} must be 1-D (a list of {what}), got shape "
                         f"{arr.shape}")
    if arr.size < min_length:
        raise ValueError(f"{_named(name, index)} must have at least {min_length} token(s), got "
                         f"{arr.size}")
    if arr.dtype.kind == "u" and arr.size and vocab_size is not None and arr.max() > _INTP_MAX:
        raise ValueError(_id_range_problem(arr, vocab_size, _named(name, index)))
    return arr.astype(np.intp, copy=False)


def _named(name, index):
    return name if index is None else f"{name}[{index}]"


def _id_range_problem(arr, vocab_size, name):
    return (f"{name} must hold ids in [0, {vocab_size}), got values in "
            f"[{arr.min()}, {arr.max()}]")


def token_ids(s, vocab_size, name, min_length=0):
    """One sequence (a prompt): an intp array of ids in ``[0, vocab_size)``
    with at least ``min_length`` tokens; messages name ``name`` itself."""
    arr = _token_array(s, name, min_length, vocab_size=vocab_size)
    if arr.size and (arr.min() < 0 or arr.max() >= vocab_size):
        raise ValueError(_id_range_problem(arr, vocab_size, name))
    return arr


class RaggedTokens(Sequence):
    """Token sequences stored as one flat intp array: a sequence of their
    arrays (views of it, made on access), as every model expects, which also
    keeps each one's offset and length, so that :func:`pad_time_major` pads
    a batch with one gather instead of a Python pass over its sequences."""

    __slots__ = ("flat", "offsets", "lengths")

    def __init__(self, flat, lengths, offsets=None):
        if offsets is None:
            offsets = np.zeros(len(lengths), np.intp)
            np.cumsum(lengths[:-1], out=offsets[1:])
        self.flat, self.offsets, self.lengths = flat, offsets, lengths

    def __len__(self):
        return len(self.lengths)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return self.take(np.arange(len(self))[i])
        start = self.offsets[i]
        return self.flat[start:start + self.lengths[i]]

    def take(self, index):
        """The sequences ``index`` (same flat array)."""
        index = np.asarray(index, dtype=np.intp)
        return RaggedTokens(self.flat, self.lengths[index], self.offsets[index])


def _lists_of_ints(seqs, min_length):
    """The common input -- a list of lists of Python ints, each at least
    ``min_length`` long -- as :class:`RaggedTokens` in one pass; None for
    anything else (bools, floats, nested lists, numpy arrays or scalars,
    ints beyond intp, a short sequence), which the per-sequence path checks
    one by one, naming the culprit."""
    if not all(type(s) is list for s in seqs):
        return None
    lengths = np.fromiter(map(len, seqs), np.intp, len(seqs))
    if lengths.size and lengths.min() < min_length:
        return None
    items = list(chain.from_iterable(seqs))
    if not set(map(type, items)) <= {int}:
        return None
    try:
        flat = np.array(items, dtype=np.intp)
    except OverflowError:
        return None
    return RaggedTokens(flat, lengths)


def token_sequences(X, vocab_size, name="X", min_length=1, what="token ids"):
    """A list of int arrays with ids in ``[0, vocab_size)`` and at least
    ``min_length`` tokens each (a :class:`RaggedTokens` for a list of lists
    of ints); ``what`` names the values in messages (``"tag labels"``)."""
    seqs = _sequence_list(X, name)
    ragged = _lists_of_ints(seqs, min_length)
    if ragged is not None:
        seqs, every = ragged, ragged.flat
    else:
        seqs = [_token_array(s, name, min_length, i, vocab_size, what)
                for i, s in enumerate(seqs)]
        every = np.concatenate(seqs) if seqs else None
    if not seqs:
        raise ValueError(f"{name} must hold at least one sequence, got none")
    # One range check for all (per sequence: 10x slower).
    if every.size and (every.min() < 0 or every.max() >= vocab_size):
        i = next(i for i, a in enumerate(seqs) if a.size and (a.min() < 0 or a.max() >= vocab_size))
        raise ValueError(_id_range_problem(seqs[i], vocab_size, f"{name}[{i}]"))
    return seqs


def feature_array(s, input_size, dtype, name, min_length=1):
    """One ``(T, input_size)`` float array of ``dtype``; a 1-D sequence is
    univariate (allowed when ``input_size == 1``)."""
    arr = asarray_of(s, name, "real numbers", kinds="fiu")
    if arr.ndim == 1 and input_size == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != input_size:
        raise ValueError(f"{name} must have shape (T, {input_size}), got {arr.shape}")
    if arr.shape[0] < min_length:
        raise ValueError(f"{name} must have at least {min_length} step(s), got {arr.shape[0]}")
    return np.asarray(arr, dtype=dtype)


def feature_sequences(X, input_size, dtype, name="X", min_length=1):
    """A list of ``(T_i, input_size)`` float arrays of ``dtype`` (see
    :func:`feature_array`)."""
    seqs = [feature_array(s, input_size, dtype, f"{name}[{i}]", min_length)
            for i, s in enumerate(_sequence_list(X, name))]
    if not seqs:
        raise ValueError(f"{name} must hold at least one sequence, got none")
    return seqs


def class_labels(y, n, num_classes, name="y"):
    """``(n,)`` int array of labels in ``[0, num_classes)``."""
    if y is None:
        raise TypeError(f"{name} is required: one integer class label per sequence, got None")
    arr = np.asarray(y)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) (one label per sequence), got {arr.shape}")
    if n and (arr.min() < 0 or arr.max() >= num_classes):
        raise ValueError(f"{name} must hold labels in [0, {num_classes}), got values in "
                         f"[{arr.min()}, {arr.max()}]")
    return arr.astype(np.intp, copy=False)


def lengths_of(seqs):
    return np.fromiter((len(s) for s in seqs), dtype=np.intp, count=len(seqs))


class Dataset:
    """Sequences with their targets (a list or an array indexed by sequence)
    and, optionally, one conditioning row per sequence."""

    def __init__(self, inputs, targets=None, cond=None):
        self.inputs, self.targets, self.cond = inputs, targets, cond
        self.lengths = inputs.lengths if isinstance(inputs, RaggedTokens) else lengths_of(inputs)

    def __len__(self):
        return len(self.inputs)

    def subset(self, index):
        def pick(v):
            if v is None:
                return None
            if isinstance(v, RaggedTokens):
                return v.take(index)
            return [v[i] for i in index] if isinstance(v, list) else v[index]

        return Dataset(pick(self.inputs), pick(self.targets), pick(self.cond))


def pad_time_major(seqs, index, pad_value, dtype):
    """Stack ``seqs[index]`` into a ``(T_max, B, ...)`` array padded with
    ``pad_value``, and their lengths ``(B,)``."""
    if isinstance(seqs, RaggedTokens) and len(index):
        # One gather: step t of sequence b is flat[offset_b + t].
        lengths = seqs.lengths[index]
        steps = np.arange(lengths.max())[:, None]
        inside = steps < lengths
        out = np.full(inside.shape, pad_value, dtype=dtype)
        out[inside] = seqs.flat[(seqs.offsets[index] + steps)[inside]]
        return out, lengths
    chosen = [seqs[i] for i in index]
    lengths = lengths_of(chosen)
    T = int(lengths.max()) if len(chosen) else 0
    out = np.full((T, len(chosen)) + chosen[0].shape[1:], pad_value, dtype=dtype)
    if T:
        # One masked assignment, not one per sequence: the (B, T) view's
        # True cells, in order, are the sequences' steps one after another.
        out.swapaxes(0, 1)[valid_mask(lengths, T).T] = np.concatenate(chosen)
    return out, lengths


def valid_mask(lengths, T):
    """``(T, B)`` bool: True at the steps inside each sequence."""
    return np.arange(T)[:, None] < np.asarray(lengths)[None, :]


def length_batches(lengths, batch_size, shuffle=False, rng=None, pool=32):
    """Index batches of similar lengths (little padding).

    Without ``shuffle``: all sequences sorted by length, cut in order.  With
    it: a random permutation, sorted by length within pools of
    ``pool * batch_size`` sequences, cut into batches whose order is then
    shuffled, so every epoch sees different batches of near-equal lengths.
    """
    n = len(lengths)
    if not shuffle:
        order = np.argsort(lengths, kind="stable")
        return [order[i:i + batch_size] for i in range(0, n, batch_size)]
    perm = rng.permutation(n)
    span = pool * batch_size
    batches = []
    for start in range(0, n, span):
        chunk = perm[start:start + span]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]

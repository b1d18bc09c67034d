"""Reusable buffers for the kernels' internal arrays.

Every layer call needs internal arrays -- packed weights, the input
projection's chunk buffers, scratch rows, and in training the gates, states
and gate gradients -- that die when the call (or its backprop) ends.  Fresh
numpy arrays of that size come from ``mmap`` and cost a page fault per 4 KiB
on first touch, plus the kernel zeroing each page: measured 10-20 % of a
training step at batch 1 and ~8 % at batch 16.  So the functional layer
takes such arrays from this pool and gives them back when done.

The pool is per Python thread (``threading.local``): no locks, and two
threads calling one layer at once never share a buffer.  Arrays handed to
the caller (outputs, states, gradients) never come from it.  At most
``LIMIT_BYTES`` of idle buffers are kept per thread; the least recently
returned go first.
"""
import math
import threading
import weakref

import numpy as np

LIMIT_BYTES = 64 << 20

_local = threading.local()
# The buffers this pool made (by id; weak, so a dropped one is forgotten).
_ours = weakref.WeakValueDictionary()


def _free():
    free = getattr(_local, "free", None)
    if free is None:
        free = _local.free = []
    return free


# Below this size malloc serves arrays from its heap without page faults:
# plain numpy arrays, no pool bookkeeping (a few microseconds per call).
SMALL_BYTES = 128 << 10


def empty(shape, dtype):
    """An uninitialised array, on a pooled buffer when one is large enough
    (and not more than twice the size: a small array must not pin a big
    buffer)."""
    dtype = np.dtype(dtype)
    nbytes = (shape if isinstance(shape, int) else math.prod(shape)) * dtype.itemsize
    if nbytes < SMALL_BYTES:
        return np.empty(shape, dtype)
    free = _free()
    best = None
    for i, raw in enumerate(free):
        size = raw.nbytes
        if nbytes <= size <= 2 * nbytes + 4096 and (best is None or size < free[best].nbytes):
            best = i
    if best is not None:
        raw = free.pop(best)
    else:
        raw = np.empty(max(nbytes, 1), dtype=np.uint8)
        _ours[id(raw)] = raw
    return raw[:nbytes].view(dtype).reshape(shape)


def zeros(shape, dtype):
    a = empty(shape, dtype)
    a.fill(0)
    return a


def release(*arrays):
    """Give arrays from :func:`empty` back (None and foreign arrays are
    ignored).  The caller must hold no other reference it still uses."""
    free = _free()
    for a in arrays:
        raw = getattr(a, "base", None)
        if raw is None or _ours.get(id(raw)) is not raw or any(r is raw for r in free):
            continue
        free.append(raw)
    total = sum(r.nbytes for r in free)
    while free and total > LIMIT_BYTES:
        total -= free.pop(0).nbytes


def clear():
    """Drop every idle buffer of the calling thread."""
    _free().clear()

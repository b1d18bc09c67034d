"""Reusable buffers for the kernels' internal arrays.

Every layer call needs internal arrays -- packed weights, the input
projection's chunk buffers, scratch rows, and in training the gates, states
and gate gradients -- that die when the call (or its backprop) ends.  Fresh
numpy arrays of that size come from ``mmap`` and cost a page fault per 4 KiB
on first touch, plus the kernel zeroing each page: measured 10-20 % of a
training step at batch 1 and ~8 % at batch 16.  So the functional layer
takes such arrays from this pool and gives them back when done.

Buffers come in size classes, eight per doubling (a request is rounded up
by at most 12.5 %), and the idle ones are kept per class: taking and giving
back a buffer are a few dictionary operations whatever the pool holds (a
training step makes ~30 such requests).  A request with no idle buffer of
its class takes one of the next classes up to twice its size, never larger
(a small array must not pin a big buffer); a miss allocates its own class.

Every buffer starts on a 64-byte boundary (a cache line; an AVX-512
vector): the hidden-unit split has threads write neighbouring column
ranges of one row each step, and a line two threads write in turn
bounces between their cores (false sharing); a vector load across two
lines costs two.

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

from ._kernels.aligned import aligned_array
from ._validation import is_private

LIMIT_BYTES = 64 << 20

# Below this size malloc serves arrays from its heap without page faults:
# arrays of their own, no pool bookkeeping.
SMALL_BYTES = 128 << 10

# Every buffer's first byte is a multiple of this many bytes.
ALIGN = 64

_local = threading.local()
# The buffers this pool made (by id; weak, so a dropped one is forgotten).
_ours = weakref.WeakValueDictionary()


class _Pool:
    """One thread's idle buffers: by size class (stacks, most recent last)
    and in the order they were given back (for the limit)."""

    __slots__ = ("by_class", "returned", "total")

    def __init__(self):
        self.by_class = {}
        self.returned = {}     # id -> buffer, oldest first
        self.total = 0

    def take(self, size):
        raw = self.by_class[size].pop()
        del self.returned[id(raw)]
        self.total -= size
        return raw

    def evict_oldest(self):
        raw = self.returned.pop(next(iter(self.returned)))
        stack = self.by_class[raw.nbytes]
        # By identity: == on arrays compares their elements.
        del stack[next(i for i, r in enumerate(stack) if r is raw)]
        self.total -= raw.nbytes


def _pool():
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = _Pool()
    return pool


def size_class(nbytes):
    """``nbytes`` rounded up to its size class: a multiple of 1/8 to 1/16 of
    its power of two (and at least 1)."""
    step = 1 << max(0, nbytes.bit_length() - 4)
    return max(1, -(-nbytes // step) * step)


def aligned_empty(shape, dtype):
    """An uninitialised array of its own (never pooled: for arrays handed
    to the caller) starting on an ALIGN-byte boundary."""
    return aligned_array(shape, dtype, ALIGN)


def empty(shape, dtype):
    """An uninitialised array starting on an ALIGN-byte boundary, on a
    pooled buffer when it is large enough."""
    dtype = np.dtype(dtype)
    nbytes = (shape if isinstance(shape, int) else math.prod(shape)) * dtype.itemsize
    if nbytes < SMALL_BYTES:
        return aligned_array(shape, dtype, ALIGN)
    pool = _pool()
    size = size_class(nbytes)
    raw = None
    while size <= 2 * nbytes:
        if pool.by_class.get(size + ALIGN):
            raw = pool.take(size + ALIGN)
            break
        size = size_class(size + 1)
    if raw is None:
        raw = np.empty(size_class(nbytes) + ALIGN, dtype=np.uint8)
        _ours[id(raw)] = raw
    return aligned_array(shape, dtype, ALIGN, raw)


def copy(a):
    """A C-contiguous copy of ``a`` on a pooled buffer: what a training
    forward keeps of the caller's arrays for its backprop (a fresh large
    array costs a page fault per 4 KiB on first touch, as much as the copy
    itself).  Give it back with :func:`release` when the backprop is done."""
    out = empty(a.shape, a.dtype)
    np.copyto(out, a)
    return out


class Kept:
    """The private copies a training forward keeps for its backprop, which
    must differentiate the values the forward saw whatever the caller then
    does with its arrays (refills an input buffer, steps an optimizer).

    ``kept(a, given=None)`` returns ``a`` itself when it is private -- a new
    array that validation made of the caller's ``given`` (see
    :func:`fastrnn._validation.is_private`) -- else a pooled copy (see
    :func:`copy`); with no ``given`` (the module's own weights, which an
    optimizer writes in place) always a copy.  An array kept twice is
    copied once, so arguments that were one array stay one array.
    ``release()`` gives every copy back to the pool once the backprop is
    done with them.
    """

    __slots__ = ("_copies",)

    def __init__(self):
        self._copies = {}   # id(a) -> (a, its copy): a is held, so its id stays its own

    def __call__(self, a, given=None):
        if a is None or (given is not None and is_private(a, given)):
            return a
        entry = self._copies.get(id(a))
        if entry is None:
            entry = self._copies[id(a)] = (a, copy(a))
        return entry[1]

    def release(self):
        release(*(c for _, c in self._copies.values()))
        self._copies = {}


def zeros(shape, dtype):
    a = empty(shape, dtype)
    a.fill(0)
    return a


def release(*arrays):
    """Give arrays from :func:`empty` back (None and foreign arrays are
    ignored).  The caller must hold no other reference it still uses."""
    pool = _pool()
    for a in arrays:
        raw = getattr(a, "base", None)
        # (a buffer under SMALL_BYTES plus ALIGN spare is never ours)
        if raw is None or getattr(raw, "nbytes", 0) < SMALL_BYTES + ALIGN:
            continue
        key = id(raw)
        if key in pool.returned or _ours.get(key) is not raw:
            continue
        pool.returned[key] = raw
        pool.by_class.setdefault(raw.nbytes, []).append(raw)
        pool.total += raw.nbytes
    while pool.total > LIMIT_BYTES:
        pool.evict_oldest()


def idle():
    """The calling thread's idle buffers, least recently returned first."""
    return list(_pool().returned.values())


def clear():
    """Drop every idle buffer of the calling thread."""
    _local.pool = _Pool()

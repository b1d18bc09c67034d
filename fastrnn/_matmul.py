"""``op(a) @ op(b)`` for the layers around the recurrent kernels, on
fastrnn's OpenMP threads (``fastrnn._kernels.matmul``: one single-threaded
BLAS call per thread on its block of output rows).  Products too small to
pay for a parallel region run as one call on the calling thread.  Also the
bias gradients' column sums."""
import numpy as np

from ._kernels import matmul as _compiled
from ._runtime import get_num_threads, openmp_enabled, single_threaded_blas

# Below this many multiply-adds per thread, opening a parallel region (and
# two threads contending for OpenBLAS's buffer pool) costs more than it saves.
MIN_MACS_PER_THREAD = 1 << 20
# Each part gets at least this many output rows (and the kernel starts the
# parts at multiples of 48 rows, so that no bit depends on the split).
MIN_ROWS_PER_THREAD = 48


def _operand(a):
    """``a`` as a 2-D array BLAS can read: unit stride along the last axis
    and a row stride at least as long as a row."""
    if a.strides[-1] != a.itemsize or a.strides[0] < a.shape[1] * a.itemsize:
        return np.ascontiguousarray(a)
    return a


def _prepared(a, b, trans_a, trans_b, out, accumulate):
    """Checked operands of one product: ``(a, b, out, beta)``."""
    a, b = _operand(a), _operand(b)
    m, k = (a.shape[1], a.shape[0]) if trans_a else a.shape
    k2, n = (b.shape[1], b.shape[0]) if trans_b else b.shape
    if k != k2 or a.dtype != b.dtype or a.dtype not in (np.float32, np.float64):
        raise ValueError(f"matmul: operands {a.dtype} {a.shape}{'^T' if trans_a else ''} and "
                         f"{b.dtype} {b.shape}{'^T' if trans_b else ''} do not multiply")
    if out is None:
        out = np.empty((m, n), a.dtype)
        accumulate = False
    elif out.shape != (m, n) or out.dtype != a.dtype or not out.flags.c_contiguous:
        raise ValueError(f"matmul: out must be a C-contiguous {a.dtype} array of shape "
                         f"{(m, n)}, got {out.dtype} {out.shape}")
    return a, b, out, 1.0 if accumulate else 0.0


def matmul_pair(first, second):
    """Two independent products, each given as ``(a, b, trans_a, trans_b,
    out, accumulate)`` like :func:`matmul`'s arguments, at once: on two
    threads each runs whole on its own (a layer's backward ``dW`` and ``dx``
    have equal work, so neither waits; measured 1.3x faster than splitting
    each in turn for Linear(256, 128) over 704 rows, where ``dW``'s 128 rows
    split 48 / 80).  Returns both results; with one thread, or products too
    small for a parallel region, they run one after the other as
    :func:`matmul` would run them."""
    specs = [_prepared(*spec) for spec in (first, second)]
    trans = [spec[2:4] for spec in (first, second)]
    macs = min(out.size * (a.shape[0] if ta else a.shape[1])
               for (a, _, out, _), (ta, _) in zip(specs, trans))
    threads = get_num_threads() if openmp_enabled() else 1
    if threads < 2 or macs < MIN_MACS_PER_THREAD or specs[0][0].dtype != specs[1][0].dtype:
        return tuple(matmul(*spec) for spec in (first, second))
    with single_threaded_blas():
        _compiled.matmul_pair(*[(a, b, out, ta, tb, beta)
                                for (a, b, out, beta), (ta, tb) in zip(specs, trans)])
    return specs[0][2], specs[1][2]


def matmul(a, b, trans_a=False, trans_b=False, out=None, accumulate=False):
    """``op(a) @ op(b)`` with ``op`` the transpose where asked, for 2-D arrays
    of one float dtype; into ``out`` (added to it with ``accumulate``) or a
    new array.  Rows of the result are split over fastrnn's threads, in
    blocks aligned so that the result does not depend on the thread count."""
    a, b, out, beta = _prepared(a, b, trans_a, trans_b, out, accumulate)
    m, n = out.shape
    k = a.shape[0] if trans_a else a.shape[1]
    threads = get_num_threads() if openmp_enabled() else 1
    parts = max(1, min(threads, m // MIN_ROWS_PER_THREAD, m * n * k // MIN_MACS_PER_THREAD))
    with single_threaded_blas():
        return _compiled.matmul(a, b, out, trans_a, trans_b, beta, parts)


def column_sums(a, out):
    """``out[:] = a.sum(axis=0)`` for a C-contiguous float32 / float64
    ``(N, G)`` array, accumulated in the float64 ``out`` (G,), which is
    returned: a float32 sum over many rows would lose digits (the bias
    gradients)."""
    return _compiled.column_sums(a, out)

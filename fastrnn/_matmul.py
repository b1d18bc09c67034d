"""``op(a) @ op(b)`` for the layers around the recurrent kernels, on
fastrnn's OpenMP threads (``_products``: one single-threaded BLAS call per
thread on its block of output rows).  Products too small to pay for a
parallel region run as one call on the calling thread."""
import numpy as np

from . import _products
from ._runtime import blas_threads, get_num_threads, openmp_enabled

# Below this many multiply-adds per thread, opening a parallel region (and
# two threads contending for OpenBLAS's buffer pool) costs more than it saves.
MIN_MACS_PER_THREAD = 1 << 20
# Each part gets at least this many output rows (and _products starts the
# parts at multiples of 48 rows, so that no bit depends on the split).
MIN_ROWS_PER_THREAD = 48


def _operand(a):
    """``a`` as a 2-D array BLAS can read: unit stride along the last axis
    and a row stride at least as long as a row."""
    if a.strides[-1] != a.itemsize or a.strides[0] < a.shape[1] * a.itemsize:
        return np.ascontiguousarray(a)
    return a


def matmul(a, b, trans_a=False, trans_b=False, out=None, accumulate=False):
    """``op(a) @ op(b)`` with ``op`` the transpose where asked, for 2-D arrays
    of one float dtype; into ``out`` (added to it with ``accumulate``) or a
    new array.  Rows of the result are split over fastrnn's threads, in
    blocks aligned so that the result does not depend on the thread count."""
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
    threads = get_num_threads() if openmp_enabled() else 1
    parts = max(1, min(threads, m // MIN_ROWS_PER_THREAD, m * n * k // MIN_MACS_PER_THREAD))
    with blas_threads(1):
        return _products.matmul(a, b, out, trans_a, trans_b, 1.0 if accumulate else 0.0, parts)

"""Loss functions that return the loss and its gradient in one call.

Each loss returns ``(loss, dinput)``: ``loss`` a Python float, ``dinput`` the
gradient of ``loss`` with respect to the first argument, same shape and
dtype, ready to feed a module's ``backprop``.  Semantics follow PyTorch's
``torch.nn.functional`` losses with ``reduction='mean'``.

>>> loss, dlogits = cross_entropy(logits, targets, ignore_index=-1)
>>> loss, dpred = mse(pred, target)

Inputs are validated before anything is computed; messages name the
argument, what was expected and what was got.
"""
import numbers

import numpy as np

from ._kernels import losses as _compiled
from ._runtime import get_num_threads, openmp_enabled
from ._validation import FLOAT_DTYPES, asarray_of

__all__ = ["cross_entropy", "mse"]


# ------------------------------------------------------------------ checks
def _float_array(value, name):
    """``value`` as a float32/float64 ndarray (no cast: the dtype is the
    caller's choice and the gradient comes back in it)."""
    arr = asarray_of(value, name, "a float32 or float64 array")
    if arr.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {arr.dtype}")
    return arr


def _integer_array(value, name):
    """``value`` as an integer ndarray; floats (even integral ones) and bools
    are refused so that a mix-up of logits and targets fails loudly."""
    arr = asarray_of(value, name, "an integer array")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array, got dtype {arr.dtype}")
    return arr


def _check_ignore_index(ignore_index):
    if ignore_index is None:
        return None
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, numbers.Integral):
        raise TypeError(f"ignore_index must be None or an int, got {type(ignore_index).__name__} "
                        f"({ignore_index!r})")
    return int(ignore_index)


def _check_targets_range(targets, num_classes, ignore_index):
    """Every target in [0, num_classes) unless it equals ``ignore_index``."""
    bad = (targets < 0) | (targets >= num_classes)
    if ignore_index is not None:
        bad &= targets != ignore_index
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        allowed = f"[0, {num_classes})"
        if ignore_index is not None:
            allowed += f" or ignore_index={ignore_index}"
        raise ValueError(f"targets must be class indices in {allowed}, "
                         f"got {int(targets[where])} at index {where}")


# ------------------------------------------------------------------ losses
def cross_entropy(logits, targets, ignore_index=None):
    """Softmax cross-entropy averaged over the non-ignored targets.

    Parameters
    ----------
    logits : ndarray of float32 or float64, shape (..., C)
        Unnormalised class scores; the last axis holds the ``C`` classes and
        any leading axes (``(N, C)``, ``(T, B, C)``, ...) are positions.
    targets : ndarray of integers, shape ``logits.shape[:-1]``
        The class index of every position, in ``[0, C)``.
    ignore_index : int or None, optional
        Positions whose target equals this value add nothing to the loss,
        are not counted in the mean, and get an all-zero gradient row.
        It may lie outside ``[0, C)`` (e.g. ``-1`` or ``-100`` for padding).

    Returns
    -------
    loss : float
        ``mean_i(logsumexp(logits[i]) - logits[i, targets[i]])`` over the
        non-ignored positions ``i``.  If every target is ignored (or there
        are no positions) the loss is ``0.0`` and the gradient all zeros
        (PyTorch returns ``nan`` there; a padded-out batch should not poison
        a training run).
    dlogits : ndarray, shape and dtype of ``logits``
        ``(softmax(logits[i]) - onehot(targets[i])) / count`` on the counted
        rows, 0 on ignored rows.

    Raises
    ------
    TypeError
        If ``logits`` is not float32/float64, ``targets`` is not an integer
        array, or ``ignore_index`` is neither None nor an int.
    ValueError
        If ``logits`` is 0-d or has no classes, ``targets`` does not have
        ``logits.shape[:-1]``, or a target is out of range.

    Notes
    -----
    Computed in float64 with the row maximum subtracted before
    exponentiating (log-sum-exp), so logits of any magnitude give a finite
    loss; the gradient is cast back to the logits dtype.
    """
    logits = _float_array(logits, "logits")
    targets = _integer_array(targets, "targets")
    ignore_index = _check_ignore_index(ignore_index)
    if logits.ndim == 0:
        raise ValueError("logits must have at least 1 dimension (..., C), got a 0-d array")
    num_classes = logits.shape[-1]
    if num_classes == 0:
        raise ValueError(f"logits must have at least one class in its last axis, got shape {logits.shape}")
    if targets.shape != logits.shape[:-1]:
        raise ValueError(f"targets must have shape {logits.shape[:-1]} (logits' shape without its "
                         f"last axis), got {targets.shape}")
    _check_targets_range(targets, num_classes, ignore_index)

    info = np.iinfo(np.intp)
    if ignore_index is not None and not info.min <= ignore_index <= info.max:
        ignore_index = None   # no integer target can equal it
    grad = np.empty(logits.shape, logits.dtype)
    total, count = _compiled.softmax_cross_entropy(
        np.ascontiguousarray(logits).reshape(-1, num_classes),
        np.ascontiguousarray(targets, dtype=np.intp).reshape(-1), ignore_index,
        grad.reshape(-1, num_classes), get_num_threads() if openmp_enabled() else 1)
    return (total / count if count else 0.0), grad


def mse(pred, target):
    """Mean squared error over all elements.

    Parameters
    ----------
    pred : ndarray of float32 or float64
        Predictions (any shape with at least one element).
    target : array-like of real numbers, shape of ``pred``
        Targets; integers are accepted (they are exact in float64), no
        broadcasting is done.

    Returns
    -------
    loss : float
        ``mean((pred - target) ** 2)``, accumulated in float64.
    dpred : ndarray, shape and dtype of ``pred``
        ``2 * (pred - target) / pred.size``.

    Raises
    ------
    TypeError
        If ``pred`` is not float32/float64 or ``target`` is not a real
        numeric (integer or float) array.
    ValueError
        If the shapes differ or ``pred`` is empty.
    """
    pred = _float_array(pred, "pred")
    target = asarray_of(target, "target", "a real numeric (integer or float) array")
    if target.dtype.kind not in "iuf":
        raise TypeError(f"target must be a real numeric (integer or float) array, got dtype {target.dtype}")
    if target.shape != pred.shape:
        raise ValueError(f"target must have shape {pred.shape} (pred's shape), got {target.shape}")
    if pred.size == 0:
        raise ValueError(f"pred must have at least one element, got shape {pred.shape}")
    diff = pred.astype(np.float64) - target.astype(np.float64)
    n = diff.size
    loss = float(np.mean(diff * diff))
    dpred = (2.0 / n) * diff
    return loss, dpred.astype(pred.dtype, copy=False)

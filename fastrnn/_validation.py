"""The generic checks and helpers every layer of fastrnn shares (the lowest
Python module: it imports nothing of fastrnn's).

Everything a kernel trusts is established here, in Python, before any
``nogil`` code runs: dtype, contiguity, strides, shapes, ranges, sizes
against BLAS's 32-bit indices and the machine's memory.  Messages name the
argument, what was expected and what was got.  Also the seeded random
generators (``make_rng``) of the layers and datasets.
"""
import math
import numbers
import operator
import os

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# The kernels index with Py_ssize_t but call BLAS with 32-bit ints.
BLAS_INT_MAX = 2**31 - 1


def resolve_dtype(dtype):
    """``"float32"`` / ``"float64"`` (or the numpy equivalents) -> np.dtype."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be 'float32' or 'float64', got {dtype!r}") from exc
    if dt not in FLOAT_DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dt.name!r}")
    return dt


def as_array(value, name, dtype):
    """A C-contiguous array of ``dtype`` from any real numeric array-like.

    Other real precisions (and integers) are cast; complex, object, string or
    ragged inputs raise ``TypeError``.  A scalar stays 0-d (not
    ``ascontiguousarray``'s 1-d), so a shape check reports the ``()`` the
    caller passed.
    """
    if isinstance(value, np.ndarray) and value.dtype == dtype and value.flags.c_contiguous:
        return value
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{name} must be a numeric array, got {type(value).__name__} ({exc})") from exc
    if arr.dtype.kind not in "fiub":
        raise TypeError(
            f"{name} must be a real numeric array, got dtype {arr.dtype} "
            f"(from {type(value).__name__})"
        )
    return np.asarray(arr, dtype=dtype, order="C")


def asarray_of(value, name, expected, kinds=None):
    """``np.asarray(value)`` without a cast; a ragged or unconvertible value,
    or (with ``kinds``, e.g. ``"iu"``) a dtype of another kind, raises
    ``TypeError``: "<name> must be <expected>, got <what>"."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__} ({exc})") from exc
    if kinds is not None and arr.dtype.kind not in kinds:
        raise TypeError(f"{name} must be {expected}, got dtype {arr.dtype}")
    return arr


def is_private(checked, given):
    """Whether ``checked``, the array validation made of the caller's
    ``given``, is a new array nobody else holds (a conversion or a cast), so
    that a training forward may keep it for its backprop without a copy.

    ``given`` itself, a view of it, or what an array-like other than an
    ndarray handed out (its ``__array__`` may return its own buffer, as
    xarray's does) is not: the caller can still write into it."""
    if checked is given or not checked.flags.owndata:
        return False
    return isinstance(given, np.ndarray) or not hasattr(type(given), "__array__")


def overlap(a, b):
    """Whether arrays ``a`` and ``b`` share memory.  ``np.may_share_memory``
    (a bounds test) settles nearly every call; the exact test runs only when
    the bounds overlap, with bounded work (crafted strides can make it
    exponential): past that, the answer is yes (a needless copy at worst)."""
    if not np.may_share_memory(a, b):
        return False
    try:
        return bool(np.shares_memory(a, b, max_work=1 << 16))
    except np.exceptions.TooHardError:
        return True


def unaliased(grad, outputs):
    """``grad`` (an incoming gradient), copied if it shares memory with one
    of ``outputs``, the arrays a backprop writes into before it is done
    reading ``grad``: otherwise those writes would change the gradient it
    is reading."""
    for out in outputs:
        if overlap(grad, out):
            return grad.copy()
    return grad


def check_shape(arr, name, expected):
    """Raise ``ValueError`` unless ``arr.shape`` equals ``expected``."""
    if arr.shape != tuple(expected):
        raise ValueError(f"{name} must have shape {tuple(expected)}, got {arr.shape}")


def is_count(value):
    """Whether ``value`` is an int >= 1 (not a bool): what a size in a
    configuration must be (``positive_int`` checks one with an error)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1


def real_number(value, name, minimum=None, strict=False, below=None):
    """``value`` as a finite Python float, ``>= minimum`` (``> minimum`` with
    ``strict``) and ``< below`` where given."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} ({value!r})")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None:
        if strict and not value > minimum:
            raise ValueError(f"{name} must be > {minimum}, got {value}")
        if not strict and not value >= minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if below is not None and value >= below:
        raise ValueError(f"{name} must be < {below}, got {value}")
    return value


def positive_number(value, name, integral=False):
    """``value`` unchanged if it is a positive int (``integral``) or a
    positive real number; the message says "a positive int / number"."""
    kind, expected = (numbers.Integral, "a positive int") if integral else \
        (numbers.Real, "a positive number")
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__} ({value!r})")
    if not value > 0:
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return value


def positive_int(value, name, minimum=1):
    """An int >= ``minimum`` (bools and floats are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    value = operator.index(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def as_lengths(lengths, batch, steps):
    """Sequence lengths as an intp array of shape (batch,), each in [0, steps]."""
    try:
        arr = np.asarray(lengths)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"lengths must be an array of integers, got {type(lengths).__name__}") from exc
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            pass  # integral floats (a float tensor; [] for 0 rows) are accepted
        elif arr.dtype.kind == "b" or arr.dtype.kind not in "f":
            raise TypeError(f"lengths must be integers, got dtype {arr.dtype}")
        else:
            raise TypeError(f"lengths must be integers, got non-integral values of dtype {arr.dtype}")
    if arr.shape != (batch,):
        raise ValueError(f"lengths must have shape ({batch},) (one per batch row), got {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() > steps):
        raise ValueError(
            f"lengths must lie in [0, {steps}] (the sequence length), "
            f"got min {arr.min()} and max {arr.max()}"
        )
    return np.ascontiguousarray(arr, dtype=np.intp)


def check_blas_size(rows, cols, what):
    """The kernels' GEMMs take 32-bit sizes: refuse problems that overflow them."""
    if rows * cols > BLAS_INT_MAX:
        raise ValueError(
            f"{what} is too large for 32-bit BLAS indexing: {rows} x {cols} elements "
            f"(at most {BLAS_INT_MAX}); split the batch or the sequence"
        )


def physical_memory():
    """Bytes of RAM on this machine, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_bytes(need, what, error=MemoryError):
    """Refuse, before allocating anything, ``need`` bytes that would not fit
    in this machine's memory (``what`` names the call and its sizes): an
    absurd size must not build arrays until the system runs out, nor loop
    for hours first.  ``error``: ``MemoryError`` for a size the data or the
    model implies, ``ValueError`` for a count the caller passed (a
    forecast's ``steps``, a decoder's ``max_len``)."""
    have = physical_memory()
    if have is not None and need > have:
        raise error(f"{what} needs {need} bytes ({need / 2**30:.1f} GiB); this machine has "
                    f"{have / 2**30:.1f} GiB")


def unwritable(path):
    """Why this process could not write a file at ``path`` (a phrase naming
    the culprit), or None: for outputs written after long work (plots,
    checkpoints), checked before it.  ``path`` is not a folder, its folder
    exists, and the file (if it exists) or the folder (to create it) is
    writable -- by ``os.access``, which answers for this process's user (for
    root, yes to any folder on a writable file system, as the write would)."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        return f"{path!r} is a folder"
    if not os.path.exists(folder):
        return f"{folder!r} does not exist"
    if not os.path.isdir(folder):
        return f"{folder!r} is not a folder"
    if os.path.exists(path):
        if not os.access(path, os.W_OK):
            return f"{path!r} is not writable"
    elif not os.access(folder, os.W_OK | os.X_OK):
        return f"{folder!r} is not writable"
    return None


def state_parts(state, names, dtype, expected, what, hint=""):
    """Split a state argument into arrays of shape ``expected`` (or None).

    ``state`` is None, one array (``len(names) == 1``), or a tuple with one
    entry per name (LSTM's ``(h, c)``), any entry of which may be None.
    """
    if state is None:
        return [None] * len(names)
    if len(names) > 1:
        if not isinstance(state, (tuple, list)) or len(state) != len(names):
            raise TypeError(f"{what} must be a tuple ({', '.join(names)}) or None, got "
                            f"{type(state).__name__}")
        parts = list(state)
    else:
        parts = [state]
    out = []
    for name, s in zip(names, parts):
        if s is not None:
            s = as_array(s, name, dtype)
            if s.shape != tuple(expected):
                raise ValueError(f"{name} must have shape {tuple(expected)}{hint}, got {s.shape}")
        out.append(s)
    return out


def check_bools(**flags):
    """Raise ``TypeError`` naming the first argument that is not a bool."""
    for name, flag in flags.items():
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{name} must be a bool, got {type(flag).__name__} ({flag!r})")


def make_rng(seed, name="seed"):
    """``np.random.Generator`` from None, an int or a Generator."""
    if seed is None or isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if seed is not None and seed < 0:
            raise ValueError(f"{name} must be a non-negative int, got {seed}")
        return np.random.default_rng(seed)
    if isinstance(seed, np.random.Generator):
        return seed
    raise TypeError(f"{name} must be None, an int or a numpy Generator, got {type(seed).__name__}")


def check_memory(count, dtype, what):
    """Refuse, with a clear ``MemoryError``, a module whose ``count``
    parameters and their gradients would not fit in this machine's memory
    (before allocating any: a forged ``num_layers=10**8`` would otherwise
    build arrays until the system runs out)."""
    need = 2 * count * np.dtype(dtype).itemsize
    have = physical_memory()
    if have is not None and need > have:
        raise MemoryError(f"{what} needs {need / 2**30:.1f} GiB for its {count} parameters and "
                          f"their gradients; this machine has {have / 2**30:.1f} GiB")


def evenly_spaced_rows(shape, strides, itemsize):
    """Whether rows (t, b) of a (T, B, W) layout sit one row stride apart in
    the order t * B + b, each row's W values contiguous (the stride of a
    length-1 axis is ignored: numpy may set it to anything)."""
    T, B, W = shape
    if W > 1 and strides[2] != itemsize:
        return False
    if B > 1:
        ld = strides[1]
        if T > 1 and strides[0] != B * ld:
            return False
    elif T > 1:
        ld = strides[0]
    else:
        return True
    return ld >= W * itemsize and ld % itemsize == 0

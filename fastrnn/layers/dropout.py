"""``fr.Dropout``: inverted dropout (identity at inference)."""
from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np

from .._validation import as_array, FLOAT_DTYPES, make_rng
from .module import Frozen, Module, frozen_copy, one_shot

if TYPE_CHECKING:
    from typing import Any, Callable

    from .._typing import ArrayLike, DTypeLike, ParamShapes, Seed


class Dropout(Module):
    """Dropout (PyTorch's ``nn.Dropout``): in training, zero each element
    with probability ``p`` and scale the rest by ``1 / (1 - p)``; inference
    is the identity.

    Parameters
    ----------
    p : float in [0, 1], default 0.5
        The probability of zeroing an element.
    dtype : {"float32", "float64"}, default "float32"
        For non-float inputs; a float32 or float64 input keeps its dtype.
    seed : int, numpy.random.Generator or None, default None
        Seeds the masks: the same seed gives the same sequence of masks.

    Notes
    -----
    ``layer(x)`` returns ``x`` unchanged (inference);
    ``forward_train(x)`` returns ``(y, backprop)`` with a fresh mask,
    ``backprop(dy)`` applying the same mask.  No parameters.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> drop = fr.Dropout(0.5, seed=0)
    >>> y, backprop = drop.forward_train(np.ones(1000, np.float32))
    >>> sorted(set(y.tolist()))
    [0.0, 2.0]
    >>> bool((drop(np.ones(3)) == 1).all())
    True
    """

    _config_keys = ("p", "dtype")

    @classmethod
    def param_shapes(cls, **config: Any) -> ParamShapes:
        """``[]``: this module has no parameters."""
        return []

    def __init__(self, p: float = 0.5, dtype: DTypeLike = "float32", seed: Seed = None) -> None:
        super().__init__(dtype)
        if isinstance(p, bool) or not isinstance(p, numbers.Real):
            raise TypeError(f"p must be a float in [0, 1], got {type(p).__name__}")
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p}")
        self.p = float(p)
        self._rng = make_rng(seed)

    def _as_float(self, x, name="x"):
        dt = getattr(x, "dtype", None)
        return as_array(x, name, dt if dt in FLOAT_DTYPES else self.dtype)

    def freeze(self, precision: str | None = None) -> Frozen:
        """An inference-only copy (:func:`fastrnn.freeze`; ``precision``: None
        or the dtype's name)."""
        return frozen_copy(self, precision)

    def __call__(self, x: ArrayLike) -> np.ndarray:
        """Inference: ``x`` unchanged."""
        return self._as_float(x)

    def forward_train(self, x: ArrayLike) -> tuple[np.ndarray, Callable[[ArrayLike], np.ndarray]]:
        """``(y, backprop)``: ``y = x * mask``; ``backprop(dy)`` returns
        ``dy * mask`` (the mask holds 0 or 1 / (1 - p)).  Any shape, empty
        ones included.  The backprop reads only the mask (its own), so the
        caller may reuse ``x``; a ``dy`` it refuses does not use it up."""
        x = self._as_float(x)
        if self.p == 0.0:
            mask = np.ones_like(x)
        elif self.p == 1.0:
            mask = np.zeros_like(x)
        else:
            mask = (self._rng.random(x.shape) >= self.p).astype(x.dtype)
            mask *= x.dtype.type(1.0 / (1.0 - self.p))
        shape, dtype = x.shape, x.dtype   # not x: the closure need not hold the caller's array

        def check(dy):
            d = as_array(dy, "dy", dtype)
            if d.shape != shape:
                raise ValueError(f"dy must have shape {shape}, got {d.shape}")
            return (d,)

        def backprop(dy):
            return dy * mask

        return x * mask, one_shot(backprop, check=check)

"""``fr.Linear``: an affine map on the last axis of any-rank input."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .. import _workspace as ws
from .._matmul import column_sums, matmul, matmul_pair
from .._validation import (as_array, check_bools, check_memory, is_count, is_private, make_rng,
                           positive_int, unaliased)
from .module import Frozen, Module, frozen_copy, one_shot

if TYPE_CHECKING:
    from typing import Any, Callable

    from .._typing import ArrayLike, DTypeLike, ParamShapes, Seed


class Linear(Module):
    """A fully connected layer (PyTorch's ``nn.Linear``): ``y = x @ weight.T + bias``
    over the last axis.

    Parameters
    ----------
    in_features : int
        Features of ``x``'s last axis.
    out_features : int
        Features of ``y``'s last axis.
    bias : bool, default True
        Whether the layer has ``bias``.
    dtype : {"float32", "float64"}, default "float32"
        The parameters' and the computation's dtype; inputs are cast to it.
    seed : int, numpy.random.Generator or None, default None
        The randomness of the initialisation.

    Attributes
    ----------
    weight : ndarray, (out_features, in_features)
    bias : ndarray, (out_features,)
        (with ``bias``)

    Notes
    -----
    ``layer(x)`` maps ``x`` of shape ``(..., in_features)`` to ``(...,
    out_features)``; ``forward_train(x)`` returns ``(y, backprop)``,
    ``backprop(dy)`` returning ``dx`` and adding into ``grads``.  Every
    parameter is initialised from ``U(-k, k)``, ``k = 1 / sqrt(in_features)``,
    as PyTorch does.  The products run on fastrnn's threads (one
    single-threaded BLAS call each); results do not depend on their count.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> layer = fr.Linear(20, 5, seed=0)
    >>> layer(np.zeros((8, 3, 20), np.float32)).shape
    (8, 3, 5)
    """

    _config_keys = ("in_features", "out_features", "bias", "dtype")

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: DTypeLike = "float32", seed: Seed = None) -> None:
        super().__init__(dtype)
        self.in_features = positive_int(in_features, "in_features")
        self.out_features = positive_int(out_features, "out_features")
        check_bools(bias=bias)
        self.bias = bool(bias)
        shapes = self.param_shapes(self.in_features, self.out_features, self.bias)
        check_memory(sum(math.prod(shape) for _, shape in shapes), self.dtype,
                     f"Linear({self.in_features}, {self.out_features})")
        rng = make_rng(seed)
        bound = 1.0 / math.sqrt(self.in_features)
        for name, shape in shapes:   # weight, then bias: both U(-bound, bound)
            self._add_parameter(name, rng.uniform(-bound, bound, shape))

    @classmethod
    def param_shapes(cls, in_features: int | None = None, out_features: int | None = None,
                     bias: bool = True, **config: Any) -> ParamShapes:
        """``weight`` (out_features, in_features) and, with ``bias``, ``bias``
        (out_features,); None for a config the constructor refuses."""
        if not (is_count(in_features) and is_count(out_features) and isinstance(bias, bool)):
            return None
        return [("weight", (out_features, in_features))] + \
            ([("bias", (out_features,))] if bias else [])

    def _check(self, x):
        x = as_array(x, "x", self.dtype)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"x must have in_features {self.in_features} in its last axis, "
                             f"got shape {x.shape}")
        return x

    def _apply(self, x2, weight):
        # On fastrnn's threads, BLAS single-threaded like every kernel of
        # fastrnn (a threaded BLAS call leaves its workers spinning on the
        # cores the next recurrent layer's OpenMP threads need).
        y = matmul(x2, weight, trans_b=True)
        if self.bias:
            y += self._params["bias"]
        return y

    def freeze(self, precision: str | None = None) -> Frozen:
        """An inference-only copy (:func:`fastrnn.freeze`; ``precision``: None
        or the dtype's name)."""
        return frozen_copy(self, precision)

    def __call__(self, x: ArrayLike) -> np.ndarray:
        """``x`` (..., in_features) -> (..., out_features); any number of
        rows, none included."""
        x = self._check(x)
        return self._apply(x.reshape(-1, self.in_features), self._params["weight"]).reshape(
            x.shape[:-1] + (self.out_features,))

    def forward_train(self, x: ArrayLike) -> tuple[np.ndarray, Callable[[ArrayLike], np.ndarray]]:
        """``(y, backprop)``; ``backprop(dy)`` returns ``dx`` and adds the
        parameter gradients into ``self.grads``.

        The backprop differentiates the values this call saw: the caller may
        overwrite ``x``, or an optimizer step the weight, before calling it.
        A ``dy`` it refuses (wrong shape or type) does not use it up.
        """
        checked = self._check(x)
        return self._forward_train(checked, is_private(checked, x))

    def _forward_train(self, x, x_private):
        """:meth:`forward_train` on a checked ``x``; ``x_private``: nobody
        else holds ``x`` (an array a composite module made itself), so the
        backprop keeps it without a copy."""
        # The backprop reads x and the weight: copies of both, unless x is
        # private (one pass over each: measured ~3% of forward + backward
        # for 704 rows of Linear(256, 128)).
        keep = ws.Kept()
        x2 = (x if x_private else keep(x)).reshape(-1, self.in_features)
        weight = keep(self._params["weight"])
        y = self._apply(x2, weight).reshape(x.shape[:-1] + (self.out_features,))
        y_shape, x_shape = y.shape, x.shape

        def check(dy):
            dy = as_array(dy, "dy", self.dtype)
            if dy.shape != y_shape:
                raise ValueError(f"dy must have shape {y_shape}, got {dy.shape}")
            # The products add into the gradients while they read dy.
            return (unaliased(dy, self._grads.values()),)

        def backprop(dy):
            dy2 = dy.reshape(-1, self.out_features)
            _, dx = matmul_pair((dy2, x2, True, False, self._grads["weight"], True),
                                (dy2, weight, False, False, None, False))
            if self.bias:
                # Summed in float64 (one pass, no float64 copy of dy).
                self._grads["bias"] += column_sums(
                    np.ascontiguousarray(dy2), np.empty(self.out_features)).astype(self.dtype)
            keep.release()
            return dx.reshape(x_shape)

        return y, one_shot(backprop, self, check)

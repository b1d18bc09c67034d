"""``fr.SequenceRegressor``: time-series forecasting, one or many steps ahead."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._validation import asarray_of, check_bytes, positive_int
from ..losses import mse
from ._base import SequenceModel, config_count
from ._data import Dataset, feature_array
from ._pooling import POOLINGS

if TYPE_CHECKING:
    from .._typing import ArrayLike, DTypeLike, Seed, Sequences


class SequenceRegressor(SequenceModel):
    """A window of a series in, the next ``horizon`` values out.

    ``pred = Linear(pool(RNN(x)))`` reshaped to ``(horizon, output_size)``:
    all steps ahead at once from the last state (direct multi-step
    forecasting, no error feedback).  :meth:`forecast` rolls further ahead
    by feeding predictions back in.

    Parameters
    ----------
    input_size : int
        Features per step of the input windows.
    output_size : int, optional
        Values predicted per step ahead (default ``input_size``).
    horizon : int
        Steps ahead predicted (default 1).
    hidden_size, cell, num_layers, bidirectional, pooling, dropout, dtype, seed
        As :class:`SequenceClassifier` (``pooling="last"`` by default).

    Notes
    -----
    The data: ``X``, ``(N, T, input_size)`` array or a list of ``(T_i, input_size)``
    arrays (``(N, T)`` / 1-D windows when ``input_size == 1``).  ``y``:
    ``(N, horizon, output_size)``; with ``horizon == 1`` also
    ``(N, output_size)``, and ``(N,)`` when both are 1.
    ``fr.datasets.sliding_windows(series, window, horizon)`` makes both.

    Examples
    --------
    >>> import fastrnn as fr
    >>> series = fr.datasets.sine_wave(600, period=50.0, seed=0)
    >>> X, y = fr.datasets.sliding_windows(series, window=48, horizon=12)
    >>> X.shape, y.shape
    ((541, 48, 1), (541, 12, 1))
    >>> reg = fr.SequenceRegressor(input_size=1, horizon=12, cell="gru", seed=0)
    >>> _ = reg.fit(X, y, epochs=2, validation=0.2, early_stopping=3, progress=False)
    >>> reg.predict(X[-1:]).shape
    (1, 12, 1)
    """

    _config_keys = ("input_size", "output_size", "horizon", "hidden_size", "cell",
                    "num_layers", "bidirectional", "pooling", "dropout", "dtype")

    def __init__(self, input_size: int, output_size: int | None = None, horizon: int = 1,
                 hidden_size: int = 64, cell: str = "lstm", num_layers: int = 1,
                 bidirectional: bool = False, pooling: str = "last", dropout: float = 0.0,
                 dtype: DTypeLike = "float32", seed: Seed = None) -> None:
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        super().__init__(vocab_size=None, input_size=input_size, embed_size=1,
                         hidden_size=hidden_size, cell=cell, num_layers=num_layers,
                         bidirectional=bidirectional, dropout=dropout, pad_id=None,
                         dtype=dtype, seed=seed)
        self.output_size = self.input_size if output_size is None else \
            positive_int(output_size, "output_size")
        self.horizon = positive_int(horizon, "horizon")
        self.pooling = pooling
        self.head = self._add_head(dtype)

    @classmethod
    def _children(cls, config):
        out = config_count(config, "input_size" if config.get("output_size") is None
                           else "output_size")
        return cls._with_head(config, config.get("bidirectional"),
                              config_count(config, "horizon") * out)

    # ---------------------------------------------------------------- hooks
    def _targets(self, y, n, name):
        if y is None:
            raise TypeError(f"{name} is required: the values to predict, got None")
        arr = asarray_of(y, name, "a float array (real numbers)", kinds="fiu").astype(self.dtype, copy=False)
        full = (n, self.horizon, self.output_size)
        allowed = [full]
        if self.horizon == 1:
            allowed.append((n, self.output_size))
            if self.output_size == 1:
                allowed.append((n,))
        if arr.shape not in allowed:
            raise ValueError(f"{name} must have shape {' or '.join(map(str, allowed))}, "
                             f"got {arr.shape}")
        return arr.reshape(full)

    def _dataset(self, X, y, where=""):
        inputs = self._sequences(X, f"{where}X")
        return Dataset(inputs, self._targets(y, len(inputs), f"{where}y"))

    def _forward(self, batch, train):
        result = self._many_to_one(batch, train)
        B = len(batch["lengths"])
        if not train:
            return result.reshape(B, self.horizon, self.output_size)
        pred, backprop = result
        return pred.reshape(B, self.horizon, self.output_size), \
            lambda dpred: backprop(dpred.reshape(B, -1))

    def _loss(self, pred, batch):
        targets = batch["targets"]
        loss, grad = mse(pred, targets)
        n = targets.size
        mae = float(np.abs(pred - targets).sum())
        return loss, grad, {"loss": (loss * n, n), "mae": (mae, n)}

    # ------------------------------------------------------------ inference
    def predict(self, X: Sequences, batch_size: int = 256) -> np.ndarray:
        """Forecasts: ``(N, horizon, output_size)``, or ``(N, output_size)``
        when ``horizon == 1``."""
        data = Dataset(self._sequences(X))
        out = np.empty((len(data), self.horizon, self.output_size), dtype=self.dtype)
        for index, pred, _ in self._predictions(data, batch_size):
            out[index] = pred
        return out[:, 0] if self.horizon == 1 else out

    def forecast(self, context: ArrayLike, steps: int) -> np.ndarray:
        """Roll ahead ``steps`` values from one series ``context`` (T, F).

        Each prediction is appended to the window, which slides on by the
        same amount (so the model always sees windows of ``len(context)``
        steps, as in training).  Needs ``output_size == input_size``.

        Returns
        -------
        ndarray, shape (steps, output_size)

        Raises
        ------
        ValueError
            ``steps`` whose forecast would not fit in this machine's memory
            (refused before any prediction is made).
        """
        if self.output_size != self.input_size:
            raise ValueError(f"forecast feeds predictions back as inputs, so output_size "
                             f"({self.output_size}) must equal input_size ({self.input_size})")
        steps = positive_int(steps, "steps")
        check_bytes(steps * self.output_size * self.dtype.itemsize,
                    f"steps={steps} (output_size {self.output_size}, {self.dtype.name})",
                    ValueError)
        window = feature_array(context, self.input_size, self.dtype, "context")
        T = len(window)
        # Filled in place, with a running count: each round costs the same
        # whatever the number of steps made so far (linear in ``steps``).
        out = np.empty((steps, self.output_size), dtype=self.dtype)
        made = 0
        while made < steps:
            ahead = self.predict([window]).reshape(self.horizon, self.output_size)
            n = min(self.horizon, steps - made)
            out[made:made + n] = ahead[:n]
            made += n
            window = np.concatenate([window, ahead])[-T:]
        return out

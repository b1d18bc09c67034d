"""Streams: a frozen recurrent layer or cell stepped one input at a time."""
import numpy as np

from .. import functional as F
from .._validation import as_array, asarray_of, positive_int, state_parts


class Stream:
    """The state of a frozen recurrent layer (every layer of a stack) or
    cell for ``batch_size`` independent streams, advanced one input at a
    time by :meth:`step`.

    Made by ``fr.freeze(module).stream(batch_size)``.  Stepping a sequence
    through :meth:`step` gives bit for bit the outputs of one call of the
    frozen module on the whole sequence (inference: no dropout).  A step
    runs on the calling thread, unless it is large (``B * G*H * (I + H)``
    multiply-adds per layer from ``fastrnn.functional.STEP_SPLIT_MIN_MACS``)
    and has rows enough to split over the kernels' threads.

    A stream is not thread-safe: give each Python thread its own (they may
    share one frozen module).

    Attributes
    ----------
    batch_size, num_layers, input_size, hidden_size : int
    dtype : numpy.dtype

    Examples
    --------
    >>> import numpy as np, fastrnn as fr
    >>> frozen = fr.freeze(fr.GRU(4, 8, num_layers=2, seed=0))
    >>> stream = frozen.stream(batch_size=3)
    >>> x = np.ones((10, 3, 4), np.float32)
    >>> ys = [stream.step(x_t) for x_t in x]
    >>> bool((np.stack(ys) == frozen(x)[0]).all())
    True
    >>> stream.reset(rows=[0])       # stream 0 starts over
    """

    __slots__ = ("batch_size", "num_layers", "input_size", "hidden_size", "dtype", "_h", "_c",
                 "_stacked", "_layers")

    def __init__(self, packed, has_cell, batch_size, stacked):
        """``packed``: one :class:`fastrnn.functional.PackedDirection` per
        layer (input to output); ``stacked``: states read and set as
        (num_layers, B, H) (a layer's) rather than (B, H) (a cell's)."""
        B = positive_int(batch_size, "batch_size")
        first = packed[0]
        self.batch_size, self.num_layers = B, len(packed)
        self.input_size, self.hidden_size, self.dtype = first.input_size, first.hidden_size, \
            first.dtype
        self._stacked = stacked
        steps = [F.stepper(p, F.StepBuffers(p, B)) for p in packed]
        shape = (self.num_layers, B, self.hidden_size)
        self._h = np.zeros(shape, self.dtype)
        self._c = np.zeros(shape, self.dtype) if has_cell else None
        # Every layer but the last writes its output here; the last one's is
        # a new array per step (the caller may keep it).
        outs = [np.empty((B, self.hidden_size), self.dtype) for _ in packed[:-1]]
        # Per layer: its step, its rows of the state, its output buffer.
        self._layers = list(zip(steps, self._h,
                                [None] * len(packed) if self._c is None else self._c,
                                outs + [None]))

    def step(self, x):
        """Advance every stream by one input.

        Parameters
        ----------
        x : array_like, shape (batch_size, input_size)

        Returns
        -------
        ndarray, shape (batch_size, hidden_size)
            The last layer's output at this step (a new array).
        """
        B, I = self.batch_size, self.input_size
        if not (type(x) is np.ndarray and x.dtype == self.dtype and x.shape == (B, I)
                and x.flags.c_contiguous):
            x = as_array(x, "x", self.dtype)
            if x.shape != (B, I):
                raise ValueError(f"x must have shape (batch_size, input_size) = {(B, I)}, got "
                                 f"{x.shape}")
        for step, h, c, out in self._layers:
            if out is None:            # the last layer: a new array
                out = np.empty((B, self.hidden_size), self.dtype)
            step(x, h, c, out)
            x = out
        return x

    def reset(self, rows=None):
        """Zero the state of every stream (``rows`` None) or of the given
        ones (integer indices or a boolean mask of ``batch_size``)."""
        if rows is None:
            self._h.fill(0)
            if self._c is not None:
                self._c.fill(0)
            return
        idx = asarray_of(rows, "rows", "integer indices or a boolean mask", "iub")
        if idx.dtype.kind == "b":
            if idx.shape != (self.batch_size,):
                raise ValueError(f"rows: a boolean mask must have shape ({self.batch_size},), "
                                 f"got {idx.shape}")
        else:
            if idx.ndim > 1:
                raise ValueError(f"rows must be 1-D, got shape {idx.shape}")
            if idx.size and (idx.min() < -self.batch_size or idx.max() >= self.batch_size):
                raise ValueError(f"rows must index the {self.batch_size} streams, got "
                                 f"{idx.min()} .. {idx.max()}")
        self._h[:, idx] = 0
        if self._c is not None:
            self._c[:, idx] = 0

    @property
    def state(self):
        """A copy of the state: ``h``, or ``(h, c)`` for LSTM, each
        (num_layers, batch_size, hidden_size) for a layer's stream and
        (batch_size, hidden_size) for a cell's.  Setting it copies the
        given arrays in (checked like the module's ``hx``)."""
        parts = [self._h] if self._c is None else [self._h, self._c]
        parts = [p.copy() if self._stacked else p[0].copy() for p in parts]
        return parts[0] if self._c is None else tuple(parts)

    @state.setter
    def state(self, value):
        names = ("h", "c") if self._c is not None else ("h",)
        B, H = self.batch_size, self.hidden_size
        shape = (self.num_layers, B, H) if self._stacked else (B, H)
        parts = state_parts(value, names, self.dtype, shape, "state")
        if any(part is None for part in parts):
            raise TypeError(f"state must be given in full ({', '.join(names)}), got None")
        for target, part in zip((self._h, self._c), parts):
            target[...] = part if self._stacked else part[None]

    def __repr__(self):
        return (f"Stream(batch_size={self.batch_size}, num_layers={self.num_layers}, "
                f"input_size={self.input_size}, hidden_size={self.hidden_size})")

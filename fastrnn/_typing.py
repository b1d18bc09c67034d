"""The type aliases of fastrnn's public signatures (``py.typed``: the
package ships its annotations).  Modules import them under
``typing.TYPE_CHECKING`` with ``from __future__ import annotations``, so
nothing here runs at import."""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Optional, Union

import numpy as np
import numpy.typing as npt

#: Anything numpy turns into an array.
ArrayLike = npt.ArrayLike
#: ``"float32"`` / ``"float64"`` (or the numpy dtype).
DTypeLike = Union[str, np.dtype, type]
#: A seed: an int, a numpy Generator, or None (fresh randomness).
Seed = Union[int, np.random.Generator, None]
#: A file path.
PathLike = Union[str, "os.PathLike[str]"]
#: A recurrent state: ``h``, or LSTM's ``(h, c)``.
State = Union[np.ndarray, tuple[np.ndarray, np.ndarray]]
#: A state argument: ``h``, or LSTM's ``(h, c)`` (an entry None: zeros).
StateLike = Union[ArrayLike, tuple[Optional[ArrayLike], Optional[ArrayLike]]]
#: What ``param_shapes`` returns: the ``(name, shape)`` of every parameter,
#: in order, or None (a config the constructor refuses).
ParamShapes = Optional[Iterable[tuple[str, tuple[int, ...]]]]
#: Variable-length sequences: a padded array, or a list of per-sequence
#: arrays (features) or id lists (tokens).
Sequences = Union[ArrayLike, Sequence[ArrayLike]]

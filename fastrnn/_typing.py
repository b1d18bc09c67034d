"""The type aliases of fastrnn's public signatures (``py.typed``: the
package ships its annotations).  Modules import them under
``typing.TYPE_CHECKING`` with ``from __future__ import annotations``, so
nothing here runs at import."""
from __future__ import annotations

import os
from typing import Union

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

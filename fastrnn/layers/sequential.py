"""``fr.Sequential``: modules applied one after the other."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .module import Frozen, Module, checked_precision, one_shot

if TYPE_CHECKING:
    from typing import Callable

    import numpy as np

    from .._typing import ArrayLike


def _main_output(result):
    """A recurrent layer returns ``(out, state)``: the sequence goes on."""
    return result[0] if isinstance(result, tuple) else result


class Sequential(Module):
    """Modules applied in turn (PyTorch's ``nn.Sequential``):
    ``Sequential(m0, m1, ...)(x) == ... m1(m0(x))``.

    Parameters
    ----------
    *modules : fastrnn modules
        The children, in order.

    Notes
    -----
    Children are named ``"0"``, ``"1"``, ... (parameters ``"0.weight"``,
    ...).  A recurrent layer passes on its output sequence; its final state
    is dropped (use the layer directly to keep it).  ``backprop(dy)`` runs
    the children's backprops in reverse and returns the gradient w.r.t. the
    input (None after an ``Embedding``).

    ``fr.save`` / ``fr.load`` handle a Sequential whose children (nested
    Sequentials included) are saveable.  Its children are its configuration
    (its own ``get_config()`` is empty): ``fastrnn.io`` records each child's
    class and config and rebuilds ``Sequential(*children)``.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> model = fr.Sequential(fr.Embedding(100, 8, seed=0), fr.GRU(8, 16, seed=0),
    ...                       fr.Linear(16, 3, seed=0))
    >>> model(np.zeros((5, 2), dtype=np.int64)).shape        # (T, B) ids -> (T, B, 3)
    (5, 2, 3)
    """

    def __init__(self, *modules: Module) -> None:
        if not modules:
            raise ValueError("Sequential needs at least one module")
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                hint = " (pass the modules as separate arguments, Sequential(*modules))" \
                    if isinstance(m, (list, tuple)) else ""
                raise TypeError(f"Sequential: modules[{i}] must be a fastrnn Module{hint}, got "
                                f"{type(m).__name__}")
        super().__init__()
        for i, m in enumerate(modules):
            self._add_module(str(i), m)
        # The dtype of the parameters (parameter-free modules follow the stream).
        dtypes = {m.dtype for m in modules if m.parameters()}
        if len(dtypes) > 1:
            raise ValueError(f"Sequential modules with parameters must share one dtype, got "
                             f"{sorted(d.name for d in dtypes)}")
        if dtypes:
            self.dtype = dtypes.pop()
        self.modules = list(modules)

    def __len__(self):
        return len(self.modules)

    def __repr__(self):
        return f"Sequential({', '.join(repr(m) for m in self.modules)})"

    def __getitem__(self, i):
        return self.modules[i]

    @property
    def frozen_precisions(self) -> tuple[str, ...]:
        """The low precisions of any child's (:func:`fastrnn.freeze`)."""
        return tuple(sorted({p for m in self.modules for p in m.frozen_precisions}))

    def freeze(self, precision: str | None = None) -> FrozenSequential:
        """An inference-only copy (:func:`fastrnn.freeze`): each child frozen,
        those that can at a low ``precision``, the others as they are."""
        name = checked_precision(self, precision)
        return FrozenSequential([m.freeze(name if name in m.frozen_precisions else None)
                                 for m in self.modules], self.dtype, name)

    def __call__(self, x: ArrayLike) -> np.ndarray:
        for m in self.modules:
            x = _main_output(m(x))
        return x

    def forward_train(self, x: ArrayLike
                      ) -> tuple[np.ndarray, Callable[[ArrayLike], np.ndarray | None]]:
        """``(y, backprop)``; ``backprop(dy)`` returns ``dx``."""
        backprops = []
        for m in self.modules:
            result, bp = m.forward_train(x)
            backprops.append(bp)
            x = _main_output(result)

        def backprop(dy):
            for bp in reversed(backprops):
                dy = _main_output(bp(dy))
            return dy

        return x, one_shot(backprop, first=backprops[-1])


class FrozenSequential(Frozen):
    """A frozen :class:`Sequential`: its children frozen, applied in turn."""

    __slots__ = ("_children", "_dtype")

    def __init__(self, children, dtype, precision=None):
        super().__init__(None, precision)
        self._children = list(children)
        self._dtype = dtype

    @property
    def module_type(self):
        return Sequential

    @property
    def dtype(self):
        return self._dtype

    def __len__(self):
        return len(self._children)

    def __getitem__(self, i):
        return self._children[i]

    def __call__(self, x):
        for f in self._children:
            x = _main_output(f(x))
        return x

    def _frozen_repr(self):
        return f"Sequential({', '.join(f._frozen_repr() for f in self._children)})"

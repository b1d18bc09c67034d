"""The classes ``fr.load`` may rebuild, by the name written in files, and
what each is predicted to hold from its configuration."""
from __future__ import annotations

import importlib
import inspect
from typing import TYPE_CHECKING

from ..layers.attention import AdditiveAttention, DotAttention, GeneralAttention, SelfAttention
from ..layers.cells import GRUCell, LSTMCell, RNNCell
from ..layers.dropout import Dropout
from ..layers.embedding import Embedding
from ..layers.linear import Linear
from ..layers.module import Module
from ..layers.recurrent import GRU, LSTM, RNN
from ..layers.sequential import Sequential
from .format import CLASS_NAME_RE

if TYPE_CHECKING:
    from typing import Callable, Iterable


REGISTRY = {}       # name in the file -> class
PARAM_SHAPES = {}   # class -> callable(arguments) -> iterable of (name, shape)


def register_module(cls: type[Module], name: str | None = None, *,
                    param_shapes: Callable[[dict], Iterable[tuple[str, tuple[int, ...]]] | None]
                    | None = None) -> type[Module]:
    """Make a :class:`~fastrnn.layers.module.Module` subclass saveable and loadable.

    Parameters
    ----------
    cls : type
        A subclass of ``Module`` whose ``get_config()`` returns keyword
        arguments of its constructor (JSON-able values).
    name : str, optional
        The name written in files (default ``cls.__name__``).  Names are
        unique: registering another class under a taken name is an error.
    param_shapes : callable, optional
        ``param_shapes(arguments)`` -> iterable of ``(name, shape)`` pairs:
        the parameters ``cls(**arguments)`` would have, where ``arguments``
        is the constructor's bound arguments with defaults applied, or None
        when it cannot tell (the constructor then reports the problem).
        Default: the class's own ``param_shapes`` classmethod (every layer
        of fastrnn's has one; :class:`~fastrnn.layers.module.Module`'s
        cannot tell).  :func:`load` checks a file's parameter list against
        it BEFORE constructing the module, so that a forged config (say
        ``hidden_size=10**6``) is refused without allocating anything.

    Returns
    -------
    type
        ``cls`` (so the function also works as a class decorator).

    Raises
    ------
    TypeError
        ``cls`` is not a ``Module`` subclass, or ``param_shapes`` is not callable.
    ValueError
        ``name`` is not an identifier, or is already taken by another class,
        or ``cls`` is already registered under another name.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> @fr.register_module
    ... class Gain(fr.Module):
    ...     _config_keys = ("size",)
    ...     def __init__(self, size):
    ...         super().__init__()
    ...         self.size = size
    ...         self._add_parameter("weight", np.ones(size))
    >>> path = os.path.join(tempfile.mkdtemp(), "gain.frnn")
    >>> fr.save(Gain(3), path)
    >>> type(fr.load(path)).__name__
    'Gain'
    """
    if not (isinstance(cls, type) and issubclass(cls, Module)):
        raise TypeError(f"register_module expects a fastrnn Module subclass, got {cls!r}")
    if name is None:
        name = cls.__name__
    if not isinstance(name, str) or not CLASS_NAME_RE.match(name):
        raise ValueError(f"register_module: name must be a Python identifier, got {name!r}")
    if param_shapes is not None and not callable(param_shapes):
        raise TypeError(f"param_shapes must be callable or None, got {type(param_shapes).__name__}")
    taken = REGISTRY.get(name)
    if taken is not None and taken is not cls:
        raise ValueError(f"register_module: name {name!r} is already taken by {taken!r}")
    for other, other_cls in REGISTRY.items():
        if other_cls is cls and other != name:
            raise ValueError(f"register_module: {cls!r} is already registered as {other!r}")
    REGISTRY[name] = cls
    if param_shapes is not None:
        PARAM_SHAPES[cls] = param_shapes
    return cls


def registered_modules():
    """The classes :func:`load` may rebuild.

    Returns
    -------
    dict
        A copy of the registry: name written in files -> class.
    """
    register_task_models()
    return dict(REGISTRY)


def register_task_models():
    """fastrnn's task models register themselves when ``fastrnn.models`` is
    imported, which ``import fastrnn`` leaves until they are used: a file
    holding one must load in a process that has not touched them."""
    importlib.import_module("fastrnn.models")


def predict_param_shapes(cls, **arguments):
    """The ``(name, shape)`` pairs ``cls(**arguments)`` would have (an
    iterable, possibly lazy): from the ``param_shapes`` it was registered
    with, else from the class's own :meth:`~fastrnn.layers.module.Module.param_shapes`;
    None when the arguments do not bind or it cannot tell.  Composite
    classes build their own predictors from their children's with this."""
    try:
        bound = inspect.signature(cls).bind(**arguments)
    except TypeError:
        return None
    bound.apply_defaults()
    return predicted_shapes(cls, dict(bound.arguments))


def predicted_shapes(cls, arguments):
    """``cls``'s parameters for its bound constructor ``arguments`` (defaults
    applied): from the predictor it was registered with, else its own."""
    shapes_of = PARAM_SHAPES.get(cls)
    return cls.param_shapes(**arguments) if shapes_of is None else shapes_of(arguments)


# The layers: each says its own parameter shapes (Module.param_shapes).
for _cls in (RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell, Linear, Embedding, Dropout, DotAttention,
             GeneralAttention, AdditiveAttention, SelfAttention):
    register_module(_cls)

# Containers: classes built as ``cls(*children)`` rather than from keyword
# arguments, that name their i-th child ``str(i)`` and own no parameters
# themselves (see "Containers" in the module docstring).  io.py turns the
# children's class names back into classes, so the layers never import it.
# class -> callable(module) -> its children, in order.
CONTAINERS = {}
register_module(Sequential)
CONTAINERS[Sequential] = lambda seq: seq.modules


def registered_name(cls):
    for name, registered in REGISTRY.items():
        if registered is cls:
            return name
    return None


def accepted_keywords(cls):
    """Names the constructor accepts as keywords (no ``*args`` / ``**kwargs``)."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    signature = inspect.signature(cls)
    return signature, [p.name for p in signature.parameters.values() if p.kind in kinds]

"""The module protocol every layer, attention block and model follows.

* ``__call__``: inference; ``forward_train`` -> ``(outputs, backprop)``.
* ``parameters()``: live arrays by (dotted) name; ``grads``: same keys, the
  accumulated gradients; ``zero_grad()``.
* ``state_dict()`` / ``load_state_dict()``: copies in, copies out, checked
  key by key.
* ``freeze(precision=None)`` (:func:`freeze`): an inference-only copy that
  prepares its weights once (the recurrent layers and cells: optionally at
  a lower precision, ``frozen_precisions``).

A module registers its own arrays with ``_add_parameter`` and its children
with ``_add_module``; nested names are dotted (``encoder.rnn.weight_ih_l0``).
"""
from __future__ import annotations

import os
import threading
import weakref
from typing import TYPE_CHECKING

import numpy as np

from .._flat import covers, relayout_done
from .._validation import resolve_dtype

if TYPE_CHECKING:
    from typing import Any, Mapping

    from .._typing import ArrayLike, DTypeLike, ParamShapes


class Module:
    """The base class of every fastrnn module: parameters and their gradients,
    state dicts, the configuration that rebuilds it, and freezing.

    Parameters
    ----------
    dtype : {"float32", "float64"}, default "float32"
        The dtype of the parameters a subclass adds.

    Notes
    -----
    The protocol every layer, attention block and model follows:
    ``module(...)`` runs inference; ``module.forward_train(...)`` returns
    ``(outputs, backprop)``, whose ``backprop`` returns the inputs' gradients
    and adds the parameters' into ``grads``.  A subclass registers its arrays
    with ``_add_parameter(name, value)`` and its children with
    ``_add_module(name, module)`` (nested names are dotted), lists its
    constructor arguments in ``_config_keys`` (for ``get_config``), and says
    its parameters' shapes from a config in :meth:`param_shapes`.
    ``fastrnn.register_module`` makes it saveable.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> class Scale(fr.Module):
    ...     _config_keys = ("size", "dtype")
    ...     def __init__(self, size, dtype="float32"):
    ...         super().__init__(dtype)
    ...         self.size = size
    ...         self._add_parameter("weight", np.ones(size))
    ...     def __call__(self, x):
    ...         return x * self.parameters()["weight"]
    >>> m = Scale(3)
    >>> m(np.arange(3.0)), list(m.state_dict()), m.get_config()
    (array([0., 1., 2.]), ['weight'], {'size': 3, 'dtype': 'float32'})
    """

    # Constructor arguments that rebuild the module (with ``get_config``).
    _config_keys = ()

    def __init__(self, dtype: DTypeLike = "float32") -> None:
        self.dtype = resolve_dtype(dtype)
        self._params = {}
        self._grads = {}
        self._modules = {}

    # ------------------------------------------------------------ registry
    def _add_parameter(self, name, value):
        arr = np.ascontiguousarray(value, dtype=self.dtype)
        self._params[name] = arr
        self._grads[name] = np.zeros_like(arr)
        return arr

    def _add_module(self, name, module):
        if not isinstance(module, Module):
            raise TypeError(f"{name} must be a fastrnn Module, got {type(module).__name__}")
        self._modules[name] = module
        return module

    def _walk(self, table):
        out = dict(getattr(self, table))
        for prefix, child in self._modules.items():
            for key, arr in child._walk(table).items():
                out[f"{prefix}.{key}"] = arr
        return out

    # ------------------------------------------------------------- protocol
    def parameters(self) -> dict[str, np.ndarray]:
        """Live parameter arrays by name (updating them in place updates the module)."""
        return self._walk("_params")

    @property
    def grads(self) -> dict[str, np.ndarray]:
        """Accumulated gradients, same keys and shapes as :meth:`parameters`."""
        return self._walk("_grads")

    def zero_grad(self) -> None:
        """Reset every accumulated gradient to zero."""
        for g in self._walk("_grads").values():
            g.fill(0)

    def flatten_parameters(self) -> tuple[np.ndarray, np.ndarray]:
        """Lay every parameter out in one contiguous buffer, and every
        gradient in another, in :meth:`parameters` order; the module's arrays
        become views into them (values unchanged).  Returns ``(params,
        grads)``, the two 1-D buffers.

        Optimizers and :func:`fastrnn.optim.clip_grad_norm` then update and
        measure all parameters with a few whole-buffer operations instead of
        several per array, and a data-parallel step averages the gradients
        with one collective call.  Arrays taken from :meth:`parameters` or
        :attr:`grads` before the call are no longer the module's.  Calling it
        again on a flat module changes nothing.  ``fit`` calls it.
        """
        slots, seen = [], {}
        self._collect_slots(slots, seen)
        params = [p for p, _ in seen.values()]
        if not params:
            raise ValueError("flatten_parameters: this module has no parameters")
        dtypes = {p.dtype for p in params}
        if len(dtypes) > 1:
            raise ValueError(f"flatten_parameters needs one dtype, got {sorted(d.name for d in dtypes)}")
        flat = getattr(self, "_flat", None)
        if flat is not None and covers(flat, list(seen.values())):
            return flat
        total = sum(p.size for p in params)
        flat_p = np.empty(total, params[0].dtype)
        flat_g = np.empty(total, params[0].dtype)
        views, offset = {}, 0
        for key, (p, g) in seen.items():
            n = p.size
            flat_p[offset:offset + n] = p.ravel()
            flat_g[offset:offset + n] = g.ravel()
            views[key] = (flat_p[offset:offset + n].reshape(p.shape),
                          flat_g[offset:offset + n].reshape(p.shape))
            offset += n
        for module, name, key in slots:
            module._params[name], module._grads[name] = views[key]
        relayout_done()
        self._flat = (flat_p, flat_g)
        return self._flat

    def _collect_slots(self, slots, seen):
        """``slots``: (module, name, array id) of every parameter entry, in
        :meth:`parameters` order; ``seen``: array id -> (param, grad), each
        distinct array once (a shared array keeps one view)."""
        for name, p in self._params.items():
            key = id(p)
            seen.setdefault(key, (p, self._grads[name]))
            slots.append((self, name, key))
        for child in self._modules.values():
            child._collect_slots(slots, seen)

    #: The precisions below its dtype a frozen copy of this module can store
    #: its weights at (:func:`freeze`): ``("int8", "bf16")`` for the
    #: recurrent layers and cells, none for the others.
    frozen_precisions: tuple[str, ...] = ()

    def freeze(self, precision: str | None = None) -> Frozen:
        """An inference-only copy of this module (see :func:`freeze`); a
        module that supports it overrides this."""
        raise TypeError(f"freeze: {type(self).__name__} cannot be frozen yet (supported: RNN, "
                        "LSTM, GRU, RNNCell, LSTMCell, GRUCell, Linear, Embedding, Dropout, "
                        "Sequential of those, the task models and Seq2Seq)")

    def _twin(self):
        """A private copy: same class, configuration and parameter values,
        sharing no array with this module."""
        twin = type(self)(**self.get_config())
        twin.load_state_dict(self.state_dict())
        for p in twin.parameters().values():
            p.flags.writeable = False
        return twin

    def __repr__(self):
        config = self.get_config()
        if config.get("dtype") == "float32":
            del config["dtype"]
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in config.items())})"

    @classmethod
    def param_shapes(cls, **config: Any) -> ParamShapes:
        """The ``(name, shape)`` of every parameter ``cls(**config)`` has of
        its own (a container's children say theirs), in order, without
        building it: what :func:`fastrnn.load` compares a file's list with
        before it allocates anything.  None when the class cannot tell or
        the config is one its constructor refuses (the constructor says
        why).  Each layer class overrides it (its constructor makes the
        parameters it lists); this default cannot tell."""
        return None

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this module (JSON-able):
        ``type(self)(**module.get_config())`` has the same structure."""
        config = {}
        for key in self._config_keys:
            value = getattr(self, key)
            config[key] = value.name if isinstance(value, np.dtype) else value
        return config

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameters, by name."""
        return {k: v.copy() for k, v in self.parameters().items()}

    def load_state_dict(self, state_dict: Mapping[str, ArrayLike]) -> None:
        """Copy parameters in from ``state_dict`` (array-likes by name).

        Unknown, missing or mis-shaped entries raise ``ValueError`` naming the
        key; nothing is modified unless every entry is valid.
        """
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"state_dict must be a mapping of names to arrays, got "
                            f"{type(state_dict).__name__}")
        params = self.parameters()
        unknown = sorted(set(state_dict) - set(params))
        missing = sorted(set(params) - set(state_dict))
        if unknown:
            raise ValueError(f"load_state_dict: unknown key(s) {unknown}; expected keys {sorted(params)}")
        if missing:
            raise ValueError(f"load_state_dict: missing key(s) {missing}")
        staged = {}
        for key, target in params.items():
            value = state_dict[key]
            if hasattr(value, "detach"):  # a torch tensor: take its data
                value = value.detach().cpu().numpy()
            try:
                arr = np.asarray(value)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"load_state_dict: {key!r} is not an array ({exc})") from exc
            if arr.dtype.kind not in "fiu":
                raise ValueError(f"load_state_dict: {key!r} must be numeric, got dtype {arr.dtype}")
            if arr.shape != target.shape:
                raise ValueError(f"load_state_dict: {key!r} must have shape {target.shape}, got {arr.shape}")
            staged[key] = arr
        # A value that is (a view of) one of this module's own parameters --
        # another module's state_dict() copies, but parameters() does not --
        # would be overwritten before it is read (a swap would lose one side).
        targets = list(params.values())
        for key, arr in staged.items():
            if any(np.may_share_memory(arr, t) for t in targets):
                staged[key] = arr.copy()
        for key, arr in staged.items():
            params[key][...] = arr


# One lock per module with parameters, held while a backprop adds into its
# gradients: backprops of one module from several Python threads then
# accumulate exactly what they would one after the other (the kernels add
# into the gradient arrays in place, outside the GIL).  Kept outside the
# instances so modules stay copyable.
_GRAD_LOCKS = weakref.WeakKeyDictionary()
_GRAD_LOCKS_GUARD = threading.Lock()


def grad_lock(module):
    with _GRAD_LOCKS_GUARD:
        lock = _GRAD_LOCKS.get(module)
        if lock is None:
            lock = _GRAD_LOCKS[module] = threading.RLock()  # re-entered by composites
        return lock


def one_shot(backprop, module=None, check=None, first=None):
    """Wrap a backprop closure so that it runs at most once (a second call
    raises ``RuntimeError``); with ``module``, the call holds that module's
    gradient lock.

    Only a call that ran uses it up: a call refused for its arguments leaves
    it for a corrected retry.  ``check``, if given, validates the arguments
    before anything is computed and returns the positional arguments that
    ``backprop`` takes; an error it raises is a refusal.  ``first``: the
    one-shot backprop that a composite's ``backprop`` calls before it does
    anything else (the sequence's last module, a wrapped layer), whose
    refusal is then this call's refusal too.  A call that got past those
    checks uses it up even if it fails later (its workspace may be spent).
    """
    used = []

    def wrapper(*args, **kwargs):
        if used:
            raise RuntimeError("this backprop was already called; run forward_train again")
        if check is not None:
            try:
                args, kwargs = check(*args, **kwargs), {}
            except Exception as exc:
                exc._fastrnn_refused_by = wrapper
                raise
        used.append(True)
        try:
            if module is None:
                return backprop(*args, **kwargs)
            with grad_lock(module):   # looked up per call: a forked child has new locks
                return backprop(*args, **kwargs)
        except Exception as exc:
            if first is not None and getattr(exc, "_fastrnn_refused_by", None) is first:
                used.clear()
                exc._fastrnn_refused_by = wrapper
            raise

    wrapper.__doc__ = backprop.__doc__
    return wrapper


def _after_fork_in_child():
    """Fresh gradient locks in a forked child: a lock another thread of the
    parent held at the fork would never be released there."""
    global _GRAD_LOCKS_GUARD
    _GRAD_LOCKS_GUARD = threading.Lock()
    _GRAD_LOCKS.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


def freeze(module: Module, precision: str | None = None) -> Frozen:
    """A frozen, inference-only copy of ``module``, optionally with its
    recurrent weights at a lower precision.

    Freezing copies the weights and prepares them once (the recurrent
    layers and cells pack them into the step kernel's layout), so a call
    does only what the inputs need: ``frozen(x, hx=None, lengths=None)``
    returns exactly what ``module(x, hx, lengths)`` returns, bit for bit,
    without packing the weights again.  Training the module afterwards, or
    changing its arrays, does not change the frozen copy.  One frozen
    object may serve calls from several Python threads at once (the kernels
    release the GIL; each call has its own buffers).

    Frozen recurrent layers (unidirectional) and cells also step a stream
    one input at a time: see ``frozen.stream(batch_size)``.

    **Lower precision** (``precision="int8"`` or ``"bf16"``, float32
    modules): the recurrent layers and cells -- alone, in a ``Sequential``
    or in a model -- store their weights once at that precision and run
    their products on it; everything else (the cell's gates and state,
    ``Linear``, ``Embedding``, attention) stays float32.

    - ``"int8"``: dynamic quantization, as PyTorch's ``quantize_dynamic`` and
      ONNX Runtime's ``DynamicQuantizeLSTM``.  Each weight row (a gate unit)
      is quantized symmetrically to [-127, 127] with its own scale; at every
      product each input row (``x_t``, and ``h_{t-1}`` at every step) is
      quantized the same way with a scale of its own, the products are
      summed exactly in int32 and scaled back to float32 before the gates.
      A row's result does not depend on the other rows of the batch, nor on
      the thread count.  A layer of fewer than 16 inputs keeps its input
      projection in float32 (a few inputs share one scale, which the
      largest sets).  Kernels: AVX-512 VNNI, AVX2, and a portable one,
      slower than float32 (freezing warns where it is the one that runs).
    - ``"bf16"``: the weights and, at every product, the input rows rounded
      to bfloat16 (to nearest even), summed in float32 (OpenVINO's default
      on such CPUs).  Needs a CPU with AVX-512 BF16; refused elsewhere.

    The results then differ from the float32 module's by the rounding of
    the weights and inputs (``fastrnn bench --precision int8`` measures it
    beside PyTorch's, ONNX Runtime's and OpenVINO's, and
    ``bench/low_precision_accuracy.py`` the demos' task accuracy); weights
    must be finite.

    Parameters
    ----------
    module : Module
        ``RNN``, ``LSTM``, ``GRU``, ``RNNCell``, ``LSTMCell``, ``GRUCell``,
        ``Linear``, ``Embedding``, ``Dropout`` (the identity in inference),
        a ``Sequential`` of these; a task model (``SequenceClassifier``,
        ``SequenceTagger``, ``SequenceRegressor``, ``LanguageModel``) or
        ``Seq2Seq``, whose frozen copy has the model's inference methods
        (``predict``, ``predict_proba``, ``evaluate``, ``forecast``,
        ``generate``, ``translate``).
    precision : {None, "float32", "float64", "int8", "bf16"}, default None
        The precision of the frozen recurrent weights: None or the module's
        dtype keeps them as they are (the results are then the module's,
        bit for bit); ``"int8"`` or ``"bf16"`` as above (float32 modules
        only; a ``Linear``, ``Embedding`` or ``Dropout`` frozen alone
        refuses them).

    Returns
    -------
    Frozen
        Callable like the module's inference; ``frozen.module_type`` names
        the module's class.

    Examples
    --------
    >>> import numpy as np, fastrnn as fr
    >>> lstm = fr.LSTM(8, 16, seed=0)
    >>> frozen = fr.freeze(lstm)
    >>> x = np.ones((5, 2, 8), np.float32)
    >>> out, (h, c) = frozen(x)
    >>> bool((out == lstm(x)[0]).all())
    True
    >>> quantized = fr.freeze(lstm, precision="int8")
    >>> quantized
    fr.freeze(LSTM(8, 16), precision='int8')
    >>> bool(np.abs(quantized(x)[0] - out).max() < 0.05)
    True
    """
    if not isinstance(module, Module):
        raise TypeError(f"freeze: module must be a fastrnn Module, got {type(module).__name__}")
    return module.freeze() if precision is None else module.freeze(precision=precision)


def checked_precision(module: Module, precision: str | None) -> str:
    """``precision`` for freezing ``module`` -> its name (the module's dtype
    name for None); a ValueError names what the module accepts."""
    from .. import functional as F   # here: freezing alone needs the kernels
    name = F.check_precision(precision, module.dtype, type(module).__name__)
    if name in F.LOW_PRECISIONS and name not in module.frozen_precisions:
        raise ValueError(f"precision={precision!r}: a frozen {type(module).__name__} keeps its "
                         f"weights in {name_of(module.dtype)}; low precisions apply to the "
                         "recurrent layers and cells (RNN, LSTM, GRU, RNNCell, LSTMCell, "
                         "GRUCell), alone or in the Sequentials and models that hold them")
    return name


def name_of(dtype) -> str:
    return np.dtype(dtype).name


def frozen_copy(module: Module, precision: str | None) -> Frozen:
    """``freeze`` of a module whose frozen copy is itself, copied (Linear,
    Embedding, Dropout): ``precision`` may only name its dtype."""
    checked_precision(module, precision)
    return Frozen(module._twin())


class Frozen:
    """An inference-only copy of a module (:func:`freeze`): called like the
    module's inference, holding its own copy of the weights."""

    __slots__ = ("_module", "_precision")

    def __init__(self, twin, precision=None):
        """``twin``: a private copy of the module (``Module._twin``);
        ``precision``: that of its recurrent weights (None: their dtype)."""
        self._module = twin
        self._precision = precision

    @property
    def precision(self):
        """The precision of the frozen recurrent weights: the dtype's name,
        ``"int8"`` or ``"bf16"``."""
        return self._precision or name_of(self.dtype)

    @property
    def module_type(self):
        """The class of the module this was frozen from."""
        return type(self._module)

    @property
    def dtype(self):
        return self._module.dtype

    def __call__(self, *args, **kwargs):
        return self._module(*args, **kwargs)

    def _frozen_repr(self):
        """What ``fr.freeze(...)`` was called on, as its repr."""
        return repr(self._module)

    def __repr__(self):
        low = self.precision != name_of(self.dtype)
        return f"fr.freeze({self._frozen_repr()}" + (f", precision={self.precision!r})" if low
                                                     else ")")

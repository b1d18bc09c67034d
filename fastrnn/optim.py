"""Optimizers and gradient clipping for fastrnn modules.

The update rules are PyTorch's (``torch.optim``, single-tensor path):

>>> opt = Adam(model, lr=1e-3)
>>> for x, y in batches:
...     model.zero_grad()
...     out, backprop = model.forward_train(x)
...     loss, dout = cross_entropy(out, y)
...     backprop(dout)
...     clip_grad_norm(model, 1.0)
...     opt.step()

An optimizer takes a module or a list/tuple of modules.  A module is
anything with a callable ``parameters()`` (name -> live ndarray) and a
``grads`` attribute (same names -> live gradient arrays); parameters are
updated in place, so the module sees the new values.  An array reached
through several modules (a module listed twice, or a parent and its child)
is updated once, with the gradient array found at its first occurrence.

``lr`` and the other hyper-parameters are public attributes; they may be
changed between steps (learning-rate schedules) and are re-validated by
every :meth:`step`.
"""
import math
import numbers

import numpy as np

from ._validation import FLOAT_DTYPES, real_number
from ._kernels import optim as _compiled
from ._flat import covers, relayouts
from ._runtime import get_num_threads, openmp_enabled

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "clip_grad_norm", "clip_grad_value"]


# ------------------------------------------------------------------ helpers
def _is_module(obj):
    return callable(getattr(obj, "parameters", None)) and hasattr(obj, "grads")


def _collect(modules):
    """``[(param, grad), ...]`` of every distinct parameter array, in order.

    Parameters are deduplicated by identity, so an array shared between the
    modules given is updated (and counted, for clipping) once.
    """
    if _is_module(modules):
        modules = [modules]
    elif not isinstance(modules, (list, tuple)):
        raise TypeError(f"modules must be a module (with parameters() and grads) or a list/tuple of "
                        f"modules, got {type(modules).__name__}")
    if not modules:
        raise ValueError("modules must contain at least one module, got an empty sequence")
    pairs, seen = [], set()
    for i, module in enumerate(modules):
        if not _is_module(module):
            raise TypeError(f"modules[{i}] must be a module (with parameters() and grads), "
                            f"got {type(module).__name__}")
        params, grads = module.parameters(), module.grads
        for name, param in params.items():
            if id(param) in seen:
                continue
            if not isinstance(param, np.ndarray) or param.dtype not in FLOAT_DTYPES:
                raise TypeError(f"parameter {name!r} of modules[{i}] must be a float32 or float64 "
                                f"ndarray, got {type(param).__name__}")
            if not param.flags.writeable:
                raise ValueError(f"parameter {name!r} of modules[{i}] must be writeable (it is "
                                 f"updated in place), got a read-only array")
            if name not in grads:
                raise ValueError(f"grads of modules[{i}] must have an entry for parameter {name!r}, "
                                 f"got keys {sorted(grads)}")
            grad = grads[name]
            if not isinstance(grad, np.ndarray) or grad.shape != param.shape:
                shape = getattr(grad, "shape", type(grad).__name__)
                raise ValueError(f"grads[{name!r}] of modules[{i}] must be an ndarray of shape "
                                 f"{param.shape}, got {shape}")
            seen.add(id(param))
            pairs.append((param, grad))
    return pairs


def _flat_buffers(pairs):
    """``(params, grads)``: the two 1-D buffers the pairs exactly cover, in
    order, when their module was flattened (``Module.flatten_parameters``);
    else None."""
    if not pairs:
        return None
    base = pairs[0][0].base
    if base is None or base.ndim != 1 or pairs[0][1].base is None:
        return None
    flat = (base, pairs[0][1].base)
    return flat if covers(flat, pairs) else None


# Adam / AdamW run as one fused pass (``fastrnn._kernels.optim``: the numpy rules below,
# bit for bit) on contiguous float arrays; False forces the numpy path.
FUSED = True
# Below this many elements one thread does the pass (a parallel region
# costs more than it saves).
_PARALLEL_MIN = 1 << 16


def _fusable(param, grad):
    return (param.flags.c_contiguous and grad.flags.c_contiguous and grad.dtype == param.dtype
            and param.dtype in FLOAT_DTYPES)


def _threads(n):
    return get_num_threads() if n >= _PARALLEL_MIN and openmp_enabled() else 1


def _betas(value):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"betas must be a pair (beta1, beta2), got {value!r}")
    return tuple(real_number(b, f"betas[{i}]", 0.0, below=1.0) for i, b in enumerate(value))


def _slot(state, name, like):
    """The state array ``name``, created as zeros like ``like`` if absent."""
    arr = state.get(name)
    if arr is None:
        arr = state[name] = np.zeros_like(like)
    return arr


# ---------------------------------------------------------------- the base
class Optimizer:
    """The base of every optimizer here (``isinstance(opt, Optimizer)`` tells
    an optimizer apart): parameter bookkeeping, hyper-parameters and state
    dicts, ``step()`` / ``zero_grad()`` / ``state_dict()``.

    A subclass lists its hyper-parameters in ``_hyper_names``, validates
    them in ``_check_hyper`` (assigning the normalised values back) and
    implements ``_update(param, grad, state, step)``: the in-place update of
    one array, ``state`` being that array's dict of state arrays (named in
    ``_state_names``, created lazily) and ``step`` the 1-based step count.
    """

    _hyper_names = ()
    _state_names = ()

    def __init__(self, modules, **hyper):
        self._modules = modules
        self._relayouts = relayouts()
        self._pairs = _collect(modules)
        # A flattened module: update the whole buffer at once (the same
        # elementwise arithmetic, so the same numbers as array by array).
        self._flat = _flat_buffers(self._pairs)
        self._flat_state = {}
        for name, value in hyper.items():
            setattr(self, name, value)
        self._check_hyper()
        self.steps = 0
        self._state = [{} for _ in self._pairs]

    def _check_hyper(self):
        raise NotImplementedError

    def _update(self, param, grad, state, step):
        raise NotImplementedError

    # ------------------------------------------------------------ protocol
    def step(self):
        """Update every parameter in place from its current gradient."""
        self._check_hyper()  # the user may have changed lr & co since the last step
        self._check_arrays()
        self.steps += 1
        if self._flat is not None:
            self._update(*self._flat, self._flat_state, self.steps)
            return
        for (param, grad), state in zip(self._pairs, self._state):
            self._update(param, grad, state, self.steps)

    def _check_arrays(self):
        """Refuse to step arrays that are no longer the modules' (their
        parameters were re-laid, e.g. by ``flatten_parameters``, after this
        optimizer took them): the step would update copies nobody reads."""
        if relayouts() == self._relayouts:
            return
        current = _collect(self._modules)
        if len(current) != len(self._pairs) or any(
                p is not q or g is not h for (p, g), (q, h) in zip(current, self._pairs)):
            raise RuntimeError(
                f"{type(self).__name__}: the modules' parameter arrays were replaced after this "
                "optimizer was created (flatten_parameters lays them out anew): create the "
                "optimizer after flatten_parameters()")
        self._relayouts = relayouts()

    def zero_grad(self):
        """Set every gradient to zero (in place)."""
        self._check_arrays()
        if self._flat is not None:
            self._flat[1].fill(0)
            return
        for _, grad in self._pairs:
            grad.fill(0)

    def _array_states(self):
        """Each parameter's state dict (views into the buffers when flat)."""
        if self._flat is None:
            return self._state
        states, offset = [], 0
        for param, _ in self._pairs:
            n = param.size
            states.append({k: v[offset:offset + n].reshape(param.shape)
                           for k, v in self._flat_state.items()})
            offset += n
        return states

    def hyperparameters(self):
        """The hyper-parameters, by name."""
        return {name: getattr(self, name) for name in self._hyper_names}

    def state_dict(self):
        """A snapshot: ``{"optimizer": class name, "hyperparameters": {...},
        "step": int, "state": {index: {name: array copy}}}``.

        ``index`` is the parameter's position (modules in the order given,
        parameters in ``parameters()`` order, duplicates skipped).
        Only plain Python values and ndarrays: picklable as is.
        """
        return {
            "optimizer": type(self).__name__,
            "hyperparameters": self.hyperparameters(),
            "step": self.steps,
            "state": {i: {k: v.copy() for k, v in s.items()}
                      for i, s in enumerate(self._array_states())},
        }

    def load_state_dict(self, state_dict):
        """Restore a :meth:`state_dict` (hyper-parameters included, as PyTorch).

        Everything is checked before anything changes; a wrong optimizer
        class, key, index, state name or shape raises ``ValueError`` naming it.
        A state array absent from ``state_dict`` is recreated as on a fresh
        optimizer (zeros, or SGD's first-step momentum buffer).
        """
        if not isinstance(state_dict, dict):
            raise TypeError(f"state_dict must be a dict, got {type(state_dict).__name__}")
        expected_keys = {"optimizer", "hyperparameters", "step", "state"}
        if set(state_dict) != expected_keys:
            raise ValueError(f"state_dict must have keys {sorted(expected_keys)}, got {sorted(state_dict)}")
        kind = state_dict["optimizer"]
        if kind != type(self).__name__:
            raise ValueError(f"state_dict['optimizer'] must be {type(self).__name__!r}, got {kind!r}")
        hyper = self._staged_hyper(state_dict["hyperparameters"])
        step = state_dict["step"]
        if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
            raise ValueError(f"state_dict['step'] must be an int >= 0, got {step!r}")
        new_state = self._staged_state(state_dict["state"])
        for name, value in hyper.items():
            setattr(self, name, value)
        self.steps = int(step)
        self._state = new_state
        if self._flat is not None:
            names = set(new_state[0]) if new_state else set()
            if all(set(s) == names for s in new_state):
                self._flat_state = {k: np.concatenate([s[k].ravel() for s in new_state])
                                    for k in names}
            else:  # some arrays without a state: keep the array-by-array rules
                self._flat = None

    def _staged_hyper(self, hyper):
        """Validate saved hyper-parameters without keeping them on failure."""
        if not isinstance(hyper, dict) or set(hyper) != set(self._hyper_names):
            got = sorted(hyper) if isinstance(hyper, dict) else type(hyper).__name__
            raise ValueError(f"state_dict['hyperparameters'] must have keys "
                             f"{sorted(self._hyper_names)}, got {got}")
        old = self.hyperparameters()
        try:
            for name, value in hyper.items():
                setattr(self, name, value)
            self._check_hyper()
            return self.hyperparameters()
        finally:
            for name, value in old.items():
                setattr(self, name, value)

    def _staged_state(self, saved):
        """Copies of the saved state arrays, checked against the parameters."""
        n = len(self._pairs)
        if not isinstance(saved, dict) or set(saved) != set(range(n)):
            got = sorted(saved) if isinstance(saved, dict) else type(saved).__name__
            raise ValueError(f"state_dict['state'] must have parameter indices 0..{n - 1}, got {got}")
        staged = []
        for i in range(n):
            param = self._pairs[i][0]
            entry = saved[i]
            if not isinstance(entry, dict) or not set(entry) <= set(self._state_names):
                got = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
                raise ValueError(f"state_dict['state'][{i}] must have keys among "
                                 f"{list(self._state_names)}, got {got}")
            arrays = {}
            for name, value in entry.items():
                arr = np.asarray(value)
                if arr.dtype.kind not in "fiu":
                    raise ValueError(f"state_dict['state'][{i}][{name!r}] must be numeric, "
                                     f"got dtype {arr.dtype}")
                if arr.shape != param.shape:
                    raise ValueError(f"state_dict['state'][{i}][{name!r}] must have shape "
                                     f"{param.shape} (parameter {i}'s), got {arr.shape}")
                arrays[name] = arr.astype(param.dtype, copy=True)
            staged.append(arrays)
        return staged

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({len(self._pairs)} arrays, {args})"


# ------------------------------------------------------------- optimizers
class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum.

    As ``torch.optim.SGD`` (dampening 0): ``d = g + weight_decay * p``; with
    momentum, ``buf = d`` on the first step and ``buf = momentum * buf + d``
    after, and ``d = d + momentum * buf`` (Nesterov) or ``d = buf``;
    finally ``p -= lr * d``.

    Parameters
    ----------
    modules : module or list/tuple of modules
        Whose parameters to update.
    lr : float
        Learning rate, >= 0.
    momentum : float, optional
        Momentum factor, >= 0.
    nesterov : bool, optional
        Nesterov momentum (needs ``momentum > 0``).
    weight_decay : float, optional
        L2 penalty added to the gradient, >= 0.
    """

    _hyper_names = ("lr", "momentum", "nesterov", "weight_decay")
    _state_names = ("momentum_buffer",)

    def __init__(self, modules, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(modules, lr=lr, momentum=momentum, nesterov=nesterov,
                         weight_decay=weight_decay)

    def _check_hyper(self):
        self.lr = real_number(self.lr, "lr", 0.0)
        self.momentum = real_number(self.momentum, "momentum", 0.0)
        self.weight_decay = real_number(self.weight_decay, "weight_decay", 0.0)
        if not isinstance(self.nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov must be a bool, got {type(self.nesterov).__name__}")
        self.nesterov = bool(self.nesterov)
        if self.nesterov and self.momentum == 0:
            raise ValueError(f"nesterov=True must come with momentum > 0, got momentum={self.momentum}")

    def _update(self, param, grad, state, step):
        d = grad + self.weight_decay * param if self.weight_decay else grad
        if self.momentum:
            buf = state.get("momentum_buffer")
            if buf is None:   # torch: the buffer starts as a copy of the first gradient
                buf = state["momentum_buffer"] = np.array(d, copy=True)
            else:
                buf *= self.momentum
                buf += d
            d = d + self.momentum * buf if self.nesterov else buf
        param -= self.lr * d


class Adam(Optimizer):
    """Adam with bias correction (``torch.optim.Adam``, amsgrad off).

    ``g = grad + weight_decay * p``; ``m = lerp(m, g, 1 - beta1)``;
    ``v = beta2 * v + (1 - beta2) * g**2``;
    ``p -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)``.

    Parameters
    ----------
    modules : module or list/tuple of modules
        Whose parameters to update.
    lr : float, optional
        Learning rate, >= 0.
    betas : (float, float), optional
        Decay rates of the first and second moment averages, each in [0, 1).
    eps : float, optional
        Added to the denominator, >= 0.
    weight_decay : float, optional
        L2 penalty added to the gradient (coupled; see :class:`AdamW`), >= 0.
    """

    _hyper_names = ("lr", "betas", "eps", "weight_decay")
    _state_names = ("exp_avg", "exp_avg_sq")
    _decoupled = False

    def __init__(self, modules, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(modules, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def _check_hyper(self):
        self.lr = real_number(self.lr, "lr", 0.0)
        self.betas = _betas(self.betas)
        self.eps = real_number(self.eps, "eps", 0.0)
        self.weight_decay = real_number(self.weight_decay, "weight_decay", 0.0)

    def _update(self, param, grad, state, step):
        beta1, beta2 = self.betas
        if FUSED and _fusable(param, grad):
            exp_avg = _slot(state, "exp_avg", param)
            exp_avg_sq = _slot(state, "exp_avg_sq", param)
            wd = self.weight_decay
            _compiled.adam(param.reshape(-1), grad.reshape(-1), exp_avg.reshape(-1),
                          exp_avg_sq.reshape(-1), 1 - self.lr * wd if self._decoupled else 1.0,
                          0.0 if self._decoupled else wd, 1 - beta1, beta2, 1 - beta2,
                          (1 - beta2 ** step) ** 0.5, self.eps, self.lr / (1 - beta1 ** step),
                          _threads(param.size))
            return
        if self.weight_decay:
            if self._decoupled:
                param *= 1 - self.lr * self.weight_decay
            else:
                grad = grad + self.weight_decay * param
        exp_avg = _slot(state, "exp_avg", param)
        exp_avg_sq = _slot(state, "exp_avg_sq", param)
        _lerp_(exp_avg, grad, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad  # torch addcmul: (value * t1) * t2
        step_size = self.lr / (1 - beta1 ** step)
        denom = np.sqrt(exp_avg_sq) / (1 - beta2 ** step) ** 0.5
        denom += self.eps
        param -= step_size * exp_avg / denom  # torch addcdiv: (value * t1) / t2


class AdamW(Adam):
    """Adam with decoupled weight decay (``torch.optim.AdamW``).

    Before the Adam step (which then uses no L2 term):
    ``p *= 1 - lr * weight_decay``.  Parameters as :class:`Adam`, but
    ``weight_decay`` defaults to ``1e-2``.
    """

    _decoupled = True

    def __init__(self, modules, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(modules, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


class RMSprop(Optimizer):
    """RMSprop (``torch.optim.RMSprop``, not centered).

    ``g = grad + weight_decay * p``; ``sq = alpha * sq + (1 - alpha) * g**2``;
    ``avg = sqrt(sq) + eps``; with momentum ``buf = momentum * buf + g / avg``
    and ``p -= lr * buf``, else ``p -= lr * g / avg``.

    Parameters
    ----------
    modules : module or list/tuple of modules
        Whose parameters to update.
    lr : float, optional
        Learning rate, >= 0.
    alpha : float, optional
        Smoothing constant of the squared-gradient average, >= 0.
    eps : float, optional
        Added to the denominator, >= 0.
    momentum : float, optional
        Momentum factor, >= 0 (the buffer starts at zeros).
    weight_decay : float, optional
        L2 penalty added to the gradient, >= 0.
    """

    _hyper_names = ("lr", "alpha", "eps", "momentum", "weight_decay")
    _state_names = ("square_avg", "momentum_buffer")

    def __init__(self, modules, lr=1e-2, alpha=0.99, eps=1e-8, momentum=0.0, weight_decay=0.0):
        super().__init__(modules, lr=lr, alpha=alpha, eps=eps, momentum=momentum,
                         weight_decay=weight_decay)

    def _check_hyper(self):
        self.lr = real_number(self.lr, "lr", 0.0)
        self.alpha = real_number(self.alpha, "alpha", 0.0)
        self.eps = real_number(self.eps, "eps", 0.0)
        self.momentum = real_number(self.momentum, "momentum", 0.0)
        self.weight_decay = real_number(self.weight_decay, "weight_decay", 0.0)

    def _update(self, param, grad, state, step):
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        square_avg = _slot(state, "square_avg", param)
        square_avg *= self.alpha
        square_avg += (1 - self.alpha) * grad * grad
        avg = np.sqrt(square_avg)
        avg += self.eps
        if self.momentum > 0:
            buf = _slot(state, "momentum_buffer", param)
            buf *= self.momentum
            buf += grad / avg
            param -= self.lr * buf
        else:
            param -= self.lr * grad / avg


def _lerp_(start, end, weight):
    """``start += weight * (end - start)`` in place, rounded as torch.lerp
    (which switches formula at weight 0.5 for accuracy)."""
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


# ---------------------------------------------------------------- clipping
def clip_grad_norm(modules, max_norm):
    """Scale all gradients down so their global L2 norm is at most ``max_norm``.

    As ``torch.nn.utils.clip_grad_norm_``: with ``norm`` the L2 norm of all
    gradients together, every gradient is multiplied in place by
    ``max_norm / (norm + 1e-6)`` when that factor is below 1 (i.e. when
    ``norm > max_norm - 1e-6``).  A non-finite norm is returned and the
    gradients are left untouched (PyTorch would scale them to nan/0),
    so the caller can detect it and skip the step.

    Parameters
    ----------
    modules : module or list/tuple of modules
        Whose gradients to clip (an array shared between them counts once).
    max_norm : float
        The largest allowed norm, > 0.

    Returns
    -------
    float
        The global norm before clipping, computed in float64.
    """
    max_norm = real_number(max_norm, "max_norm")
    if max_norm <= 0:
        raise ValueError(f"max_norm must be > 0, got {max_norm}")
    return clip_arrays(grad_arrays(modules), max_norm)


def clip_arrays(grads, max_norm):
    """:func:`clip_grad_norm` on gradient arrays found once (``fit`` passes
    its model's gradient buffer every step; ``max_norm`` already checked)."""
    # Sum of squares per array in float64 (no float32 overflow or rounding).
    total = math.sqrt(sum(_sum_squares(g) for g in grads))
    if not math.isfinite(total):
        return total
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for g in grads:
            g *= g.dtype.type(coef)  # the factor in the gradient's dtype, as torch
    return total


def grad_arrays(modules):
    """The gradient arrays to clip: the one buffer of a flattened module,
    else each distinct array."""
    pairs = _collect(modules)
    flat = _flat_buffers(pairs)
    return [flat[1]] if flat is not None else [g for _, g in pairs]


def _sum_squares(arr):
    # float64 accumulation without a float64 copy of the array (a flat
    # model's gradient buffer is large: the copy's page faults cost 15x the
    # sum), on fastrnn's threads in fixed blocks (the same bits for any
    # thread count; np.einsum's buffered float64 cast was 4x slower).  Not
    # np.dot: OpenBLAS threads a long dot product, and its workers then spin
    # on the cores fastrnn's OpenMP threads need next (measured: a small
    # model's training epoch 2.5x slower with 2 threads than with 1).
    flat = np.ascontiguousarray(arr).reshape(-1)
    if flat.dtype not in (np.float32, np.float64):
        flat = flat.astype(np.float64)
    return _compiled.sum_squares(flat, _threads(flat.size))


def clip_grad_value(modules, clip):
    """Clip every gradient element in place to ``[-clip, clip]``.

    Parameters
    ----------
    modules : module or list/tuple of modules
        Whose gradients to clip.
    clip : float
        The largest allowed magnitude, > 0.
    """
    clip = real_number(clip, "clip")
    if clip <= 0:
        raise ValueError(f"clip must be > 0, got {clip}")
    for g in grad_arrays(modules):
        np.clip(g, -clip, clip, out=g)

"""Attention blocks: ``fr.DotAttention``, ``fr.GeneralAttention``,
``fr.AdditiveAttention`` (a query attends over keys / values) and
``fr.SelfAttention`` (multi-head, PyTorch's ``nn.MultiheadAttention`` math).

Every block computes scores, a masked softmax over the key axis and a
weighted sum of the values; the softmax and its backward are shared here by
all four classes (:func:`masked_softmax`, :func:`softmax_backward`).

Shapes (``B`` batch, ``Tq`` query steps, ``Tk`` key steps)::

    query (B, Hq) or (B, Tq, Hq)    keys (B, Tk, Hk)    values (B, Tk, Hv)
    mask  (B, Tk) or (B, Tq, Tk), bool, True = may attend
    context (B, Hv) or (B, Tq, Hv)  weights (B, Tk) or (B, Tq, Tk)

A batch of queries costs one batched matmul per product (``np.matmul`` over
the batch axis), never a Python loop over steps or rows.

Decoding hooks (advanced)
-------------------------
The key side of a score does not depend on the query, so a decoder that
attends over the same source at every step computes it once:
``proj = attn.project_keys(keys)``, then ``attn.attend(query, proj, values,
mask)`` per step.  In training, ``project_keys_train`` / ``attend_train``
return backprop closures; a decoder sums the ``dproj`` of its steps and
calls the projection's backprop once.  ``forward_train`` is exactly that
composition with one step.
"""
from __future__ import annotations

import math
import weakref
from typing import TYPE_CHECKING

import numpy as np

from .._kernels import attention as _compiled
from .._runtime import get_num_threads, single_threaded_blas
from .. import _workspace as ws
from .._validation import (as_array, as_lengths, check_bools, check_memory, evenly_spaced_rows,
                           is_count, make_rng, overlap, positive_int, unaliased)
from .linear import Linear
from .module import Module, one_shot

if TYPE_CHECKING:
    from typing import Any, Callable

    from .._typing import ArrayLike, DTypeLike, ParamShapes, Seed


# ------------------------------------------------------ the shared softmax
def masked_softmax(scores, mask=None):
    """Softmax over the last axis, masked positions exactly 0.

    Parameters
    ----------
    scores : ndarray (..., Tk)
        Float scores (not modified).
    mask : ndarray of bool, optional
        Broadcastable to ``scores``; True = may attend.  Every row must hold
        at least one True (see :func:`check_mask_rows`): a row with none has
        no distribution, and this function would return NaN for it.

    Returns
    -------
    ndarray
        Same shape and dtype as ``scores``; each row sums to 1.
    """
    if mask is not None:
        # -inf, not a large negative number: exp(-inf - max) is exactly 0,
        # so masked positions get exactly zero weight whatever the scores.
        scores = np.where(mask, scores, -np.inf)
    # Subtracting the row maximum keeps exp() in range for any finite score
    # (1e4 included); the maximum is over unmasked positions only.
    w = scores - scores.max(axis=-1, keepdims=True)
    np.exp(w, out=w)
    w /= w.sum(axis=-1, keepdims=True)
    return w


def softmax_backward(weights, dweights):
    """Gradient of the scores from that of ``weights = masked_softmax(scores)``.

    ``dS = W * (dW - sum(dW * W))`` over the last axis; masked positions
    (``W == 0``) get exactly 0.
    """
    dscores = dweights * weights
    dscores -= weights * dscores.sum(axis=-1, keepdims=True)
    return dscores


def check_mask_rows(mask, name="mask"):
    """Raise ``ValueError`` if a row of ``mask`` (last axis) has no True.

    ``mask`` is (B, Tk) or (B, Tq, Tk); the message names the first empty row.
    A row with nothing to attend to has no softmax; it is refused rather than
    turned into NaN or a silent uniform distribution.
    """
    ok = mask.any(axis=-1)
    if not ok.all():
        idx = [int(i) for i in np.argwhere(~ok)[0]]
        where = f"batch row {idx[0]}" + (f", query {idx[1]}" if len(idx) > 1 else "")
        raise ValueError(f"{name} leaves {where} with no position to attend to (mask "
                         f"shape {mask.shape}; True = may attend, every query needs at "
                         f"least one True)")


def as_mask(mask, shapes, name="mask"):
    """A bool array from ``mask`` (bool, or integers 0 / 1) of one of ``shapes``."""
    try:
        m = np.asarray(mask)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a bool array, got {type(mask).__name__} ({exc})") from exc
    if m.dtype.kind in "iu":
        if m.size and not np.isin(m, (0, 1)).all():
            raise ValueError(f"{name} must be bool (or integers 0 / 1), got integers in "
                             f"[{m.min()}, {m.max()}]")
        m = m.astype(bool)
    elif m.dtype.kind != "b":
        raise TypeError(f"{name} must be a bool array (True = may attend), got dtype {m.dtype}")
    if m.shape not in shapes:
        expected = " or ".join(str(s) for s in shapes)
        raise ValueError(f"{name} must have shape {expected}, got {m.shape}")
    return m


def _grad_array(value, name, shape, dtype):
    """An incoming gradient: ``value`` cast to ``dtype`` with shape ``shape``."""
    arr = as_array(value, name, dtype)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    return arr


def _read_only(a):
    """A read-only view of ``a``, an array a training forward hands out and
    its backprop reads again (the attention weights): the caller's in-place
    edits would otherwise change the gradients; a view costs nothing."""
    view = a.view()
    view.flags.writeable = False
    return view


# The projected keys project_keys_train handed out, read-only (id -> array;
# an entry goes with its array).  attend_train and attend_time_major_train
# read them without a copy: nobody holds a writeable view of them, and a
# decoder passes the same one at every step.
_HANDED_OUT = weakref.WeakValueDictionary()


def _hand_out(a):
    """``a``, a new array of this module's, made read-only and registered
    in ``_HANDED_OUT``."""
    a.flags.writeable = False
    _HANDED_OUT[id(a)] = a
    return a


class _Kept(ws.Kept):
    """:class:`fastrnn._workspace.Kept` that also keeps projected keys
    handed out read-only (:func:`_hand_out`) as they are: nobody can write
    them, and a decoder passes the same ones at every step."""

    __slots__ = ()

    def __call__(self, a, given=None):
        if a is not None and _HANDED_OUT.get(id(a)) is a and not a.flags.writeable:
            return a
        return super().__call__(a, given)


def _t(a):
    """Swap the last two axes (a batched transpose, no copy)."""
    return a.swapaxes(-1, -2)


def _tmul(a, b):
    """``a^T @ b`` over the leading axes: (..., K, M), (..., K, N) -> (..., M, N)."""
    if a.shape[-2] == 1:
        # K = 1 (a decoder's single query step) is an outer product, which
        # np.matmul runs about 5x slower than this broadcast multiply.
        return _t(a) * b
    return _t(a) @ b


# ------------------------------------------------- query / keys attention
class _Attention(Module):
    """What the three scoring blocks share: validation, the decoding hooks,
    the softmax, the context and their backward.

    A subclass defines the key side -- ``_key_weight``, the name of its
    parameter ``(width, key_size)`` that maps the keys, or None for the keys
    themselves -- and the width of its output (``_proj_width``); the score
    is ``scale * q . proj`` unless the subclass overrides ``_score`` /
    ``_score_grad`` (additive attention does).
    """

    query_size = None  # None: any width (dot attention: the keys')
    key_size = None

    # ------------------------------------------------- subclass hooks
    def _proj_width(self, hq):
        """Last axis of ``project_keys``'s output, for queries of width ``hq``."""
        return hq

    _key_weight = None
    # The parameters the query side (_score, _score_grad) reads.
    _query_params = ()

    def _key_params(self):
        return () if self._key_weight is None else (self._key_weight,)

    def _kept_params(self, keep, names):
        """``keep``'s copies of the parameters ``names``, for a training
        forward and its backprop: an optimizer step or ``load_state_dict``
        between the two writes the live arrays in place, and the backprop
        must differentiate the weights the forward used (they are small next
        to the inputs)."""
        return {name: keep(self._params[name]) for name in names}

    def _project(self, keys, params):
        """The key side of the score, with the parameters ``params`` (the
        live ones, or a training forward's copies)."""
        if self._key_weight is None:
            return keys
        return keys @ params[self._key_weight].T

    def _project_grad(self, keys, dproj, params):
        """``dkeys`` from ``dproj``, a new array (callers add the value path
        into it); the key weight's gradient accumulates."""
        if self._key_weight is None:
            return dproj.copy()
        W = params[self._key_weight]
        self._grads[self._key_weight] += dproj.reshape(-1, W.shape[0]).T @ keys.reshape(
            -1, W.shape[1])
        return dproj @ W

    def _scale(self, proj):
        return 1.0

    # Whether _score_grad reads ``proj`` (attend_train keeps a copy if so).
    _grad_reads_proj = True

    def _score(self, q, proj, params):
        """Scores (B, Tq, Tk) of ``q`` (B, Tq, Hq) and what their backward needs."""
        scores = q @ _t(proj)
        scale = self._scale(proj)
        if scale != 1.0:
            scores *= scale
        return scores, None

    def _score_grad(self, q, proj, cache, dscores, params):
        """``(dq, dproj)`` from ``dscores``; parameter gradients accumulate."""
        scale = self._scale(proj)
        if scale != 1.0:
            dscores = dscores * scale
        return dscores @ proj, _tmul(dscores, q)

    # ----------------------------------------------------- validation
    def _check_query(self, query):
        q = as_array(query, "query", self.dtype)
        if q.ndim not in (2, 3):
            raise ValueError(f"query must have shape (B, Hq) or (B, Tq, Hq), got {q.shape}")
        if self.query_size is not None and q.shape[-1] != self.query_size:
            raise ValueError(f"query must have query_size {self.query_size} in its last axis, "
                             f"got shape {q.shape}")
        return q

    def _check_keys(self, keys, name="keys", batch=None, width=None, why="", steps=True):
        """``keys`` as a (B, Tk, width) array; ``steps``: Tk >= 1 (what a
        softmax needs; a projection takes any (X, Y, width) array, time-major
        keys included, whose axis 1 is the batch and may be 0)."""
        k = as_array(keys, name, self.dtype)
        if k.ndim != 3 or (width is not None and k.shape[2] != width):
            expected = f"(B, Tk, {'H' if width is None else width})"
            raise ValueError(f"{name} must have shape {expected}{why}, got {k.shape}")
        if batch is not None and k.shape[0] != batch:
            raise ValueError(f"{name} must have the query's batch size {batch} in its first "
                             f"axis, got shape {k.shape}")
        if steps and k.shape[1] == 0:
            raise ValueError(f"{name} must have at least one step (Tk >= 1), got shape {k.shape}")
        return k

    def _check_rest(self, q, k, values, mask):
        """``values`` (or None) and ``mask`` (or None, else bool (B, 1 | Tq, Tk))
        against the checked query ``q`` and keys ``k``."""
        B, Tk = k.shape[:2]
        v = None
        if values is not None:
            v = as_array(values, "values", self.dtype)
            if v.ndim != 3 or v.shape[:2] != (B, Tk):
                raise ValueError(f"values must have shape ({B}, {Tk}, Hv) (the keys' batch and "
                                 f"steps), got {v.shape}")
        m = None
        if mask is not None:
            shapes = [(B, Tk)] + ([(B, q.shape[1], Tk)] if q.ndim == 3 else [])
            m = as_mask(mask, shapes)
            check_mask_rows(m)
            if m.ndim == 2:
                m = m[:, None, :]  # a (B, Tk) mask applies to every query step
        return v, m

    def _check_call(self, query, keys, values, mask):
        q = self._check_query(query)
        if self.query_size is None:  # dot attention: q . k needs Hq == Hk
            k = self._check_keys(keys, "keys", q.shape[0], q.shape[-1],
                                 " (dot attention needs the query's size)")
        else:
            k = self._check_keys(keys, "keys", q.shape[0], self.key_size)
        v, m = self._check_rest(q, k, values, mask)
        return q, k, v, m

    def _check_attend(self, query, proj, values, mask):
        q = self._check_query(query)
        p = self._check_keys(proj, "proj", q.shape[0], self._proj_width(q.shape[-1]),
                             " (from project_keys)")
        if values is None:
            raise TypeError("values is required by attend (pass the keys to attend over them)")
        v, m = self._check_rest(q, p, values, mask)
        return q, p, v, m

    # --------------------------------------------------------- the math
    def _attend(self, q, proj, values, mask, params):
        """Checked arrays in; ``(context, weights, cache)`` out, 2-D when ``q`` is."""
        q3 = q if q.ndim == 3 else q[:, None, :]  # one code path: a 2-D query is Tq = 1
        scores, cache = self._score(q3, proj, params)
        weights = masked_softmax(scores, mask)
        context = weights @ values
        if q.ndim == 2:
            return context[:, 0], weights[:, 0], cache
        return context, weights, cache

    def _grad_check(self, context_shape, weights_shape):
        """The ``check`` of a backprop ``(dcontext, dweights=None)``: both
        validated (None stays None), before the backprop is used up."""
        def check(dcontext, dweights=None):
            dc = (None if dcontext is None
                  else _grad_array(dcontext, "dcontext", context_shape, self.dtype))
            dw = (None if dweights is None
                  else _grad_array(dweights, "dweights", weights_shape, self.dtype))
            return dc, dw

        return check

    def _attend_grad(self, q, proj, values, weights, cache, dc, dw, params):
        """``(dquery, dproj, dvalues)`` of :meth:`_attend`'s outputs, from
        checked ``dc`` / ``dw`` (None: zeros / no weights path)."""
        flat = q.ndim == 2
        if dc is None:
            dc = np.zeros(weights.shape[:-1] + values.shape[-1:], self.dtype)
        if flat:
            q, weights, dc = q[:, None], weights[:, None], dc[:, None]
            dw = None if dw is None else dw[:, None]
        dvalues = _tmul(weights, dc)
        dweights = dc @ _t(values)
        if dw is not None:
            dweights += dw
        dq, dproj = self._score_grad(q, proj, cache, softmax_backward(weights, dweights), params)
        return (dq[:, 0] if flat else dq), dproj, dvalues

    # ------------------------------------------------------ the protocol
    def __call__(self, query: ArrayLike, keys: ArrayLike, values: ArrayLike | None = None,
                 mask: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Attend: ``(context, weights)``.

        Parameters
        ----------
        query : array (B, Hq) or (B, Tq, Hq)
        keys : array (B, Tk, Hk)
        values : array (B, Tk, Hv), optional
            Default: the keys.
        mask : bool array (B, Tk) or (B, Tq, Tk), optional
            True = may attend; a (B, Tk) mask applies to every query step.
            Every query must be allowed at least one step.

        Returns
        -------
        context : ndarray (B, Hv) or (B, Tq, Hv)
        weights : ndarray (B, Tk) or (B, Tq, Tk)
            Rows sum to 1; masked positions are exactly 0.  A batch of
            B = 0 rows gives empty outputs of these shapes.

        Raises
        ------
        ValueError
            Bad shapes (the message names the argument), or a mask row with
            no True.
        TypeError
            Non-numeric inputs or a non-bool mask.
        """
        q, k, v, m = self._check_call(query, keys, values, mask)
        with single_threaded_blas():
            context, weights, _ = self._attend(q, self._project(k, self._params),
                                               k if v is None else v, m, self._params)
        return context, weights

    def forward_train(self, query: ArrayLike, keys: ArrayLike, values: ArrayLike | None = None,
                      mask: ArrayLike | None = None
                      ) -> tuple[tuple[np.ndarray, np.ndarray],
                                 Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray | None]]]:
        """``((context, weights), backprop)``; arguments as :meth:`__call__`.

        ``backprop(dcontext, dweights=None)`` returns ``(dquery, dkeys,
        dvalues)``: ``dvalues`` is None when ``values`` was defaulted, and
        ``dkeys`` then includes the gradient through the values.  ``dcontext``
        None means zeros.  Parameter gradients accumulate into ``grads``.

        The backprop differentiates the values this call saw: the caller may
        overwrite its arrays, or an optimizer step the parameters, before
        calling it.  ``weights`` is read-only (the backprop reads it).  A
        gradient it refuses (wrong shape or type) does not use it up.
        """
        q, k, v, m = self._check_call(query, keys, values, mask)
        # The backprop reads the query, keys and values: private copies of
        # them (one pass each; the mask is not read again) and of the
        # parameters.  The forward runs on the same copies.
        keep = _Kept()
        q, k, v = keep(q, query), keep(k, keys), keep(v, values)
        params = self._kept_params(keep, self._key_params() + self._query_params)
        vals = k if v is None else v
        with single_threaded_blas():
            proj = self._project(k, params)
            context, weights, cache = self._attend(q, proj, vals, m, params)

        def backprop(dc, dw):
            with single_threaded_blas():
                dq, dproj, dv = self._attend_grad(q, proj, vals, weights, cache, dc, dw, params)
                dk = self._project_grad(k, dproj, params)
            keep.release()
            if v is None:
                dk += dv
                dv = None
            return dq, dk, dv

        check = self._grad_check(context.shape, weights.shape)
        return (context, _read_only(weights)), one_shot(backprop, self, check)

    # ------------------------------------------- decoding hooks (advanced)
    def project_keys(self, keys: ArrayLike) -> np.ndarray:
        """The key side of the score, computed once per source (advanced).

        Parameters
        ----------
        keys : array (B, Tk, Hk)

        Returns
        -------
        proj : ndarray (B, Tk, P)
            What :meth:`attend` takes: the keys themselves (dot attention),
            ``keys @ weight.T`` (general, P = query_size) or
            ``keys @ key_weight.T`` (additive, P = attn_size).
        """
        k = self._check_keys(keys, "keys", width=self.key_size, steps=False)
        with single_threaded_blas():
            return self._project(k, self._params)

    def project_keys_train(self, keys: ArrayLike
                           ) -> tuple[np.ndarray, Callable[[ArrayLike], np.ndarray]]:
        """:meth:`project_keys` for training: ``(proj, backprop)``.

        ``backprop(dproj)`` returns ``dkeys`` (B, Tk, Hk), a new array, and
        adds the key side's parameter gradients into ``grads``.  A decoder
        sums the ``dproj`` of its :meth:`attend_train` steps and calls it once.
        It differentiates the keys and weight this call saw (the caller may
        overwrite them in between); a ``dproj`` it refuses does not use it up.

        A projection (general and additive attention) is read-only: the
        attend steps then read it without a copy of their own.  Dot
        attention's is the keys themselves.
        """
        k = self._check_keys(keys, "keys", width=self.key_size, steps=False)
        keep = _Kept()
        params = self._kept_params(keep, self._key_params())
        if params:  # dot attention's backprop reads neither the keys nor a weight
            k = keep(k, keys)
        with single_threaded_blas():
            proj = self._project(k, params)
        if proj is not k:
            proj = _hand_out(proj)
        proj_shape = proj.shape

        def check(dproj):
            return (_grad_array(dproj, "dproj", proj_shape, self.dtype),)

        def backprop(dproj):
            with single_threaded_blas():
                dkeys = self._project_grad(k, dproj, params)
            keep.release()
            return dkeys

        return proj, one_shot(backprop, self, check)

    def attend(self, query: ArrayLike, proj: ArrayLike, values: ArrayLike,
               mask: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Attend with keys projected by :meth:`project_keys` (advanced).

        Parameters
        ----------
        query : array (B, Hq) or (B, Tq, Hq)
        proj : array (B, Tk, P)
            ``project_keys(keys)``.
        values : array (B, Tk, Hv)
            Required (pass the keys to attend over them).
        mask : bool array (B, Tk) or (B, Tq, Tk), optional
            True = may attend.

        Returns
        -------
        context : ndarray (B, Hv) or (B, Tq, Hv)
        weights : ndarray (B, Tk) or (B, Tq, Tk)
        """
        q, p, v, m = self._check_attend(query, proj, values, mask)
        with single_threaded_blas():
            context, weights, _ = self._attend(q, p, v, m, self._params)
        return context, weights

    def attend_train(self, query: ArrayLike, proj: ArrayLike, values: ArrayLike,
                     mask: ArrayLike | None = None
                     ) -> tuple[tuple[np.ndarray, np.ndarray],
                                Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]]]:
        """:meth:`attend` for training: ``((context, weights), backprop)``.

        ``backprop(dcontext, dweights=None)`` returns ``(dquery, dproj,
        dvalues)`` (None means zeros) and adds the query side's parameter
        gradients into ``grads``; ``dproj`` goes to the backprop of
        :meth:`project_keys_train`, summed over steps.  As with
        :meth:`forward_train`, it differentiates the values this call saw,
        ``weights`` is read-only, and a refused gradient does not use it up.
        """
        q, p, v, m = self._check_attend(query, proj, values, mask)
        keep = _Kept()
        q, v = keep(q, query), keep(v, values)
        if self._grad_reads_proj:   # additive attention's backward does not
            p = keep(p, proj)
        params = self._kept_params(keep, self._query_params)
        with single_threaded_blas():
            context, weights, cache = self._attend(q, p, v, m, params)

        def backprop(dc, dw):
            with single_threaded_blas():
                grads = self._attend_grad(q, p, v, weights, cache, dc, dw, params)
            keep.release()
            return grads

        check = self._grad_check(context.shape, weights.shape)
        return (context, _read_only(weights)), one_shot(backprop, self, check)

    # ------------------------------- time-major sequences, fused (advanced)
    # Scores of the form ``scale * q . proj`` run on one fused kernel
    # (fastrnn._kernels.attention); additive attention's do not.
    time_major_kernel = True

    def attend_time_major_train(self, query: ArrayLike, proj: ArrayLike, values: ArrayLike,
                                lengths: ArrayLike, out: np.ndarray | None = None
                                ) -> tuple[tuple[np.ndarray, np.ndarray],
                                           Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]]]:
        """Every step of a time-major query sequence attends, in one fused
        kernel call, for training (advanced; dot and general attention).

        A teacher-forced decoder's outputs attend over the encoder's without
        a batch-first copy of either: ``query`` (Tq, B, Hq), ``proj`` (Tk, B,
        P) from :meth:`project_keys_train` of time-major keys, ``values``
        (Tk, B, Hv), and ``lengths`` (B,) the valid keys of each row (the
        padding mask of a batch of sources).  Each array's last axis may be a
        column slice of a wider one.  ``out`` (Tq, B, Hv), optional, receives
        the context (e.g. the left half of a ``[context; query]`` buffer).

        Returns
        -------
        (context (Tq, B, Hv), weights (B, Tq, Tk)), backprop
            ``backprop(dcontext, dquery=None, dproj=None, dvalues=None)``
            *adds* the gradients into the given C-contiguous time-major
            arrays (zeros are allocated for those left None) and returns
            ``(dquery, dproj, dvalues)``; ``dproj`` may be ``dvalues`` (the
            keys were the values).  Given arrays may be one array (say
            ``dproj`` and ``dvalues``) but must not otherwise overlap;
            ``dcontext`` may overlap them (it is copied first).  As with
            :meth:`forward_train`, the backprop differentiates the values
            this call saw, ``weights`` is read-only, and a refused gradient
            does not use it up.  ``out`` may overlap the inputs: they are
            read from copies.  A batch of B = 0 rows gives empty outputs.
        """
        if not self.time_major_kernel:
            raise TypeError(f"{type(self).__name__} has no fused time-major kernel: use "
                            f"attend_train with batch-first arrays")
        q = _time_major(query, "query", self.dtype)
        Tq, B, _ = q.shape
        p = _time_major(proj, "proj", self.dtype, (None, B, self._proj_width(q.shape[2])))
        v = _time_major(values, "values", self.dtype, (p.shape[0], B, None))
        lens = as_lengths(lengths, B, p.shape[0])
        if lens.size and lens.min() < 1:
            raise ValueError(f"lengths must be >= 1 (a row with no key has no softmax), got "
                             f"min {lens.min()}")
        Tk, Hv = v.shape[0], v.shape[2]
        if out is None:
            out = np.empty((Tq, B, Hv), self.dtype)
        elif _time_major(out, "out", self.dtype, (Tq, B, Hv)) is not out or \
                not out.flags.writeable:
            raise ValueError("out must be a writeable (Tq, B, Hv) array of the module's dtype "
                             "whose last axis is contiguous")
        # The backprop reads the query, proj, values and lengths: private
        # copies of them (keys that are the values stay one array), which
        # the forward reads too -- so an ``out`` that overlaps an input
        # (the kernel writes it while reading them) cannot change what is read.
        keep = _Kept()
        q, p, v, lens = keep(q, query), keep(p, proj), keep(v, values), keep(lens, lengths)
        weights = np.empty((B, Tq, Tk), self.dtype)
        scale = self._scale(p)
        nt = max(1, min(get_num_threads(), B))
        if B:
            _compiled.forward(q, p, v, lens, scale, weights, out, nt)
        shapes = {"dcontext": out.shape, "dquery": q.shape, "dproj": p.shape, "dvalues": v.shape}

        def check(dcontext, dquery=None, dproj=None, dvalues=None):
            dc = _time_major(dcontext, "dcontext", self.dtype, shapes["dcontext"])
            given = {name: _accumulator(a, name, shapes[name], self.dtype)
                     for name, a in (("dquery", dquery), ("dproj", dproj), ("dvalues", dvalues))
                     if a is not None}
            _check_apart(given)
            # The kernel reads dcontext after it has added into the others.
            return (unaliased(dc, given.values()), given.get("dquery"), given.get("dproj"),
                    given.get("dvalues"))

        def backprop(dc, dq, dp, dv):
            dq = np.zeros(q.shape, self.dtype) if dq is None else dq
            # Keys that were the values: one gradient array unless told otherwise.
            if dv is None and p is v:
                dv = dp = np.zeros(p.shape, self.dtype) if dp is None else dp
            else:
                dp = np.zeros(p.shape, self.dtype) if dp is None else dp
                dv = np.zeros(v.shape, self.dtype) if dv is None else dv
            if B:
                _compiled.backward(q, p, v, lens, scale, weights, dc, dq, dp, dv, nt)
            keep.release()
            return dq, dp, dv

        return (out, _read_only(weights)), one_shot(backprop, self, check)


def _check_apart(arrays):
    """Refuse gradient arrays (name -> array) that share memory without
    being one array: the kernel's threads add into each at once, so a
    partial overlap would race (one array passed twice adds both parts,
    row by row on one thread)."""
    items = list(arrays.items())
    for i, (name_a, a) in enumerate(items):
        for name_b, b in items[i + 1:]:
            same = (a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
                    and a.shape == b.shape and a.strides == b.strides)
            if not same and overlap(a, b):
                raise ValueError(f"{name_a} and {name_b} must be one array or not overlap, "
                                 f"got arrays that partly share memory")


def _accumulator(given, name, shape, dtype):
    """A gradient array to add into: ``given`` (checked) or new zeros."""
    if given is None:
        return np.zeros(shape, dtype)
    if not (isinstance(given, np.ndarray) and given.dtype == dtype and given.shape == shape
            and given.flags.c_contiguous and given.flags.writeable):
        raise ValueError(f"{name} must be a writeable C-contiguous {dtype.name} array of shape "
                         f"{shape}, got {getattr(given, 'dtype', type(given).__name__)} "
                         f"{getattr(given, 'shape', '')}")
    return given


def _time_major(a, name, dtype, shape=(None, None, None)):
    """``a`` as a (T, B, W) array of ``dtype`` whose rows are evenly spaced
    (a column slice of a contiguous array is kept as it is; anything else is
    copied); None in ``shape`` matches any size."""
    arr = as_array(a, name, dtype) if not (isinstance(a, np.ndarray) and a.dtype == dtype) else a
    if arr.ndim != 3 or any(n is not None and n != m for n, m in zip(shape, arr.shape)):
        want = "(" + ", ".join("?" if n is None else str(n) for n in shape) + ")"
        raise ValueError(f"{name} must have shape {want} (time-major), got {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[2] == 0:   # a batch of 0 rows is fine
        raise ValueError(f"{name} must have at least one step and one column, got shape "
                         f"{arr.shape}")
    if not evenly_spaced_rows(arr.shape, arr.strides, arr.itemsize):
        arr = np.ascontiguousarray(arr)
    return arr


class DotAttention(_Attention):
    """Luong dot attention, ``score = q . k``, or with ``scaled=True`` the
    scaled dot product ``q . k / sqrt(H)`` (Vaswani et al. 2017).

    Query and keys have the same size H.  No parameters; ``project_keys``
    returns the keys.

    Parameters
    ----------
    scaled : bool, default False
        Divide the scores by ``sqrt(H)``.
    dtype : {"float32", "float64"}, default "float32"
        Inputs of another precision are cast to it.

    Notes
    -----
    ``attn(query, keys, values=None, mask=None)`` returns ``(context,
    weights)``: query ``(B, H)`` or ``(B, Tq, H)``, keys ``(B, Tk, H)``,
    values (default: the keys) ``(B, Tk, Hv)``, mask ``(B, Tk)`` booleans
    (True: attend) -> context ``(B, [Tq,] Hv)``, weights ``(B, [Tq,] Tk)``.
    ``forward_train`` returns them with a ``backprop``.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> attn = fr.DotAttention(scaled=True)
    >>> keys = np.random.default_rng(0).standard_normal((2, 7, 16))
    >>> context, weights = attn(keys[:, 0], keys, mask=[[True] * 7, [True] * 4 + [False] * 3])
    >>> context.shape, weights.shape, float(weights[1, 4:].sum())
    ((2, 16), (2, 7), 0.0)
    """

    _config_keys = ("scaled", "dtype")

    @classmethod
    def param_shapes(cls, **config: Any) -> ParamShapes:
        """``[]``: this module has no parameters."""
        return []

    def __init__(self, scaled: bool = False, dtype: DTypeLike = "float32") -> None:
        super().__init__(dtype)
        check_bools(scaled=scaled)
        self.scaled = bool(scaled)

    def _scale(self, proj):
        return 1.0 / math.sqrt(proj.shape[2]) if self.scaled else 1.0


class GeneralAttention(_Attention):
    """Luong general (multiplicative) attention, ``score = q^T W k``.

    Parameters
    ----------
    query_size : int
        Features of a query.
    key_size : int
        Features of a key.
    dtype : {"float32", "float64"}, default "float32"
        Inputs of another precision are cast to it.
    seed : int, numpy.random.Generator or None, default None
        The randomness of the initialisation.

    Attributes
    ----------
    weight : ndarray, (query_size, key_size)
        Initialised like a ``Linear(key_size, query_size)``:
        U(-1/sqrt(key_size), +).

    Notes
    -----
    Called as :class:`DotAttention` (query ``(B, [Tq,] query_size)``, keys
    ``(B, Tk, key_size)``).  The key side ``project_keys(keys) = keys @
    weight.T`` makes the score ``q . proj``.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> attn = fr.GeneralAttention(8, 16, seed=0)
    >>> context, weights = attn(np.ones((2, 8)), np.ones((2, 5, 16)))
    >>> context.shape, weights.shape
    ((2, 16), (2, 5))
    """

    _config_keys = ("query_size", "key_size", "dtype")

    def __init__(self, query_size: int, key_size: int, dtype: DTypeLike = "float32",
                 seed: Seed = None) -> None:
        super().__init__(dtype)
        self.query_size = positive_int(query_size, "query_size")
        self.key_size = positive_int(key_size, "key_size")
        ((name, shape),) = self.param_shapes(self.query_size, self.key_size)
        check_memory(math.prod(shape), self.dtype,
                     f"GeneralAttention(query_size={self.query_size}, key_size={self.key_size})")
        bound = 1.0 / math.sqrt(self.key_size)
        self._add_parameter(name, make_rng(seed).uniform(-bound, bound, shape))

    @classmethod
    def param_shapes(cls, query_size: int | None = None, key_size: int | None = None,
                     **config: Any) -> ParamShapes:
        """``weight`` (query_size, key_size); None for a config the
        constructor refuses."""
        if not (is_count(query_size) and is_count(key_size)):
            return None
        return [("weight", (query_size, key_size))]

    _key_weight = "weight"

    def _proj_width(self, hq):
        return self.query_size


class AdditiveAttention(_Attention):
    """Bahdanau (additive) attention,
    ``score = v . tanh(query_weight @ q + bias + key_weight @ k)``.

    Parameters
    ----------
    query_size : int
        Features of a query.
    key_size : int
        Features of a key.
    attn_size : int
        Features of the hidden layer the scores come from.
    dtype : {"float32", "float64"}, default "float32"
        Inputs of another precision are cast to it.
    seed : int, numpy.random.Generator or None, default None
        The randomness of the initialisation.

    Notes
    -----
    Called as :class:`DotAttention`.  Parameters: ``query_weight`` (attn_size, query_size), ``key_weight``
    (attn_size, key_size), ``bias`` (attn_size,) and ``v`` (attn_size,).  One
    bias, on the query side: a second one on the key side would only add to
    it.  Initialisation as ``Linear``: the weights and the bias
    U(-1/sqrt(fan_in), +) with fan_in the query / key size, and ``v``
    U(-1/sqrt(attn_size), +).

    The scores need a (B, Tq, Tk, attn_size) intermediate, the cost of
    Bahdanau attention over a batch of queries.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> attn = fr.AdditiveAttention(8, 16, 32, seed=0)
    >>> context, weights = attn(np.ones((2, 3, 8)), np.ones((2, 5, 16)))   # 3 queries each
    >>> context.shape, weights.shape
    ((2, 3, 16), (2, 3, 5))
    """

    _config_keys = ("query_size", "key_size", "attn_size", "dtype")

    def __init__(self, query_size: int, key_size: int, attn_size: int,
                 dtype: DTypeLike = "float32", seed: Seed = None) -> None:
        super().__init__(dtype)
        self.query_size = positive_int(query_size, "query_size")
        self.key_size = positive_int(key_size, "key_size")
        self.attn_size = positive_int(attn_size, "attn_size")
        shapes = self.param_shapes(self.query_size, self.key_size, self.attn_size)
        check_memory(sum(math.prod(shape) for _, shape in shapes), self.dtype,
                     f"AdditiveAttention(query_size={self.query_size}, key_size={self.key_size}, "
                     f"attn_size={self.attn_size})")
        rng = make_rng(seed)
        bq, bk = 1.0 / math.sqrt(self.query_size), 1.0 / math.sqrt(self.key_size)
        bounds = {"query_weight": bq, "key_weight": bk, "bias": bq,
                  "v": 1.0 / math.sqrt(self.attn_size)}
        for name, shape in shapes:
            self._add_parameter(name, rng.uniform(-bounds[name], bounds[name], shape))

    @classmethod
    def param_shapes(cls, query_size: int | None = None, key_size: int | None = None,
                     attn_size: int | None = None, **config: Any) -> ParamShapes:
        """``query_weight`` (A, query_size), ``key_weight`` (A, key_size),
        ``bias`` (A,), ``v`` (A,) for A = attn_size; None for a config the
        constructor refuses."""
        if not (is_count(query_size) and is_count(key_size) and is_count(attn_size)):
            return None
        A = attn_size
        return [("query_weight", (A, query_size)), ("key_weight", (A, key_size)), ("bias", (A,)),
                ("v", (A,))]

    _key_weight = "key_weight"
    _query_params = ("query_weight", "bias", "v")
    _grad_reads_proj = False   # the tanh layer (the cache) holds what it needs
    time_major_kernel = False

    def _proj_width(self, hq):
        return self.attn_size

    def _score(self, q, proj, params):
        p = params
        qp = q @ p["query_weight"].T
        qp += p["bias"]
        # (B, Tq, 1, A) + (B, 1, Tk, A): every query step against every key step
        hidden = np.tanh(qp[:, :, None, :] + proj[:, None, :, :])
        return hidden @ p["v"], hidden

    def _score_grad(self, q, proj, hidden, dscores, params):
        p, g, A = params, self._grads, self.attn_size
        g["v"] += dscores.reshape(-1) @ hidden.reshape(-1, A)
        dhidden = hidden * hidden  # tanh' = 1 - tanh^2, built in place
        np.subtract(1.0, dhidden, out=dhidden)
        dhidden *= dscores[..., None]
        dhidden *= p["v"]
        dqp = dhidden.sum(axis=2)      # (B, Tq, A)
        dproj = dhidden.sum(axis=1)    # (B, Tk, A)
        dqp2 = dqp.reshape(-1, A)
        g["query_weight"] += dqp2.T @ q.reshape(-1, self.query_size)
        g["bias"] += dqp2.sum(axis=0)
        return dqp @ p["query_weight"], dproj


# ------------------------------------------------------------ self-attention
class SelfAttention(Module):
    """Multi-head self-attention with PyTorch's ``nn.MultiheadAttention``
    math, names and layout (``batch_first=True``, no dropout):
    ``q, k, v = x @ in_proj_weight.T + in_proj_bias`` split in thirds, each
    split into ``num_heads`` heads of size ``d = embed_size / num_heads``,
    ``softmax(q k^T / sqrt(d)) v`` per head, the heads concatenated, then
    ``out_proj`` (a :class:`Linear`).

    Parameters
    ----------
    embed_size : int
        Features of each position (``E``).
    num_heads : int, default 1
        Heads; must divide ``embed_size``.
    dtype : {"float32", "float64"}, default "float32"
        Inputs of another precision are cast to it.
    seed : int, numpy.random.Generator or None, default None
        The randomness of the initialisation.

    Notes
    -----
    Parameters ``in_proj_weight`` (3E, E), ``in_proj_bias`` (3E,),
    ``out_proj.weight`` (E, E), ``out_proj.bias`` (E,), so that
    ``sa.load_state_dict({k: v.detach().numpy() for k, v in
    mha.state_dict().items()})`` loads a ``torch.nn.MultiheadAttention``.
    Initialisation as PyTorch's: ``in_proj_weight`` Xavier-uniform,
    ``out_proj.weight`` as ``Linear`` (U(-1/sqrt(E), +)), both biases zero.

    ``sa(x, mask=None, causal=False)``: ``x`` (B, T, E) -> (B, T, E); ``mask``
    (B, T) or (B, T, T) booleans (True: attend), ``causal`` hides later
    positions.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> sa = fr.SelfAttention(16, num_heads=4, seed=0)
    >>> sa(np.ones((2, 5, 16), np.float32), causal=True).shape
    (2, 5, 16)
    """

    _config_keys = ("embed_size", "num_heads", "dtype")

    def __init__(self, embed_size: int, num_heads: int = 1, dtype: DTypeLike = "float32",
                 seed: Seed = None) -> None:
        super().__init__(dtype)
        E = self.embed_size = positive_int(embed_size, "embed_size")
        self.num_heads = positive_int(num_heads, "num_heads")
        if E % self.num_heads:
            raise ValueError(f"num_heads must divide embed_size {E}, got {self.num_heads}")
        shapes = dict(self.param_shapes(E, self.num_heads))
        check_memory(sum(math.prod(shape) for shape in shapes.values()), self.dtype,
                     f"SelfAttention(embed_size={E}, num_heads={self.num_heads})")
        rng = make_rng(seed)
        bound = math.sqrt(6.0 / (E + 3 * E))  # Xavier over the (3E, E) matrix, as PyTorch
        self._add_parameter("in_proj_weight", rng.uniform(-bound, bound, shapes["in_proj_weight"]))
        self._add_parameter("in_proj_bias", np.zeros(shapes["in_proj_bias"]))
        self.out_proj = self._add_module("out_proj", Linear(E, E, dtype=self.dtype, seed=rng))
        self.out_proj.parameters()["bias"].fill(0)

    @classmethod
    def param_shapes(cls, embed_size: int | None = None, num_heads: int = 1,
                     **config: Any) -> ParamShapes:
        """``in_proj_weight`` (3E, E), ``in_proj_bias`` (3E,) and the output
        projection's (a :class:`~fastrnn.layers.linear.Linear`(E, E)) as
        ``out_proj.weight`` / ``out_proj.bias``; None for a config the
        constructor refuses."""
        E = embed_size
        if not (is_count(E) and is_count(num_heads) and E % num_heads == 0):
            return None
        return [("in_proj_weight", (3 * E, E)), ("in_proj_bias", (3 * E,))] + \
            [("out_proj." + name, shape) for name, shape in Linear.param_shapes(E, E)]

    def _check(self, x, mask, causal):
        """``x`` (B, T, E) and the combined mask, bool (B | 1, 1 | T, T) or None."""
        x = as_array(x, "x", self.dtype)
        if x.ndim != 3 or x.shape[2] != self.embed_size:
            raise ValueError(f"x must have shape (B, T, {self.embed_size}) (batch first), "
                             f"got {x.shape}")
        check_bools(causal=causal)
        B, T, _ = x.shape
        if T == 0:
            raise ValueError(f"x must have at least one time step, got shape {x.shape}")
        m = None
        if mask is not None:
            m = as_mask(mask, [(B, T), (B, T, T)])
            if m.ndim == 2:
                m = m[:, None, :]  # key padding: the same for every query
        if causal:
            tril = np.tri(T, dtype=bool)[None]  # position t attends to <= t
            m = tril if m is None else m & tril
        if m is not None:
            check_mask_rows(m if m.shape[1] == T else m[:, 0])
        return x, m

    def _forward(self, x, mask, in_proj_weight):
        """``(concatenated heads (B, T, E), cache)``; ``in_proj_weight``: the
        live one, or a training forward's copy."""
        B, T, E = x.shape
        h = self.num_heads
        d = E // h
        qkv = x.reshape(-1, E) @ in_proj_weight.T
        qkv += self._params["in_proj_bias"]
        # (B, T, 3, h, d) -> (3, B, h, T, d): one batched matmul over (B, h)
        q, k, v = qkv.reshape(B, T, 3, h, d).transpose(2, 0, 3, 1, 4)
        q = q * (1.0 / math.sqrt(d))  # PyTorch scales q before the product
        weights = masked_softmax(q @ _t(k), None if mask is None else mask[:, None])
        heads = (weights @ v).transpose(0, 2, 1, 3).reshape(B, T, E)
        return heads, (q, k, v, weights)

    def __call__(self, x: ArrayLike, mask: ArrayLike | None = None,
                 causal: bool = False) -> np.ndarray:
        """Self-attention of ``x`` (B, T, E) -> (B, T, E).

        Parameters
        ----------
        x : array (B, T, E)
        mask : bool array (B, T) or (B, T, T), optional
            (B, T): key padding, True = a real token (padded keys are never
            attended to; padded query positions still get an output).
            (B, T, T): True where query t may attend to key s.
        causal : bool
            Position t attends only to positions <= t (combined with ``mask``).

        Returns
        -------
        ndarray (B, T, E)
            Empty for a batch of B = 0 rows.

        Raises
        ------
        ValueError
            Bad shapes, or a query left with no key to attend to (say a
            sequence with no real token, or a causal mask over left padding).
        """
        x, m = self._check(x, mask, causal)
        with single_threaded_blas():
            heads, _ = self._forward(x, m, self._params["in_proj_weight"])
            return self.out_proj(heads)

    def forward_train(self, x: ArrayLike, mask: ArrayLike | None = None, causal: bool = False
                      ) -> tuple[np.ndarray, Callable[[ArrayLike], np.ndarray]]:
        """``(out, backprop)``; ``backprop(dout)`` returns ``dx`` and adds the
        parameter gradients into ``grads``.

        The backprop differentiates the values this call saw: the caller may
        overwrite ``x``, or an optimizer step the parameters, before calling
        it.  A ``dout`` it refuses does not use it up.
        """
        checked, m = self._check(x, mask, causal)
        # The backprop reads x and in_proj_weight (and out_proj its own
        # copies): private copies, which the forward reads too.
        keep = _Kept()
        x = keep(checked, x)
        in_proj_weight = keep(self._params["in_proj_weight"])
        with single_threaded_blas():
            heads, (q, k, v, weights) = self._forward(x, m, in_proj_weight)
            # heads is this module's own array: out_proj keeps it uncopied.
            out, out_backprop = self.out_proj._forward_train(self.out_proj._check(heads), True)
        out_shape = out.shape

        def check(dout):
            return (_grad_array(dout, "dout", out_shape, self.dtype),)

        def backprop(dout):
            B, T, E = x.shape
            h = self.num_heads
            d = E // h
            with single_threaded_blas():
                dheads = out_backprop(dout).reshape(B, T, h, d).transpose(0, 2, 1, 3)
                dqkv = np.empty((B, T, 3, h, d), dtype=self.dtype)
                dscores = softmax_backward(weights, dheads @ _t(v))
                dqkv[:, :, 0] = (dscores @ k).transpose(0, 2, 1, 3)
                dqkv[:, :, 0] *= 1.0 / math.sqrt(d)
                dqkv[:, :, 1] = _tmul(dscores, q).transpose(0, 2, 1, 3)  # q already scaled
                dqkv[:, :, 2] = _tmul(weights, dheads).transpose(0, 2, 1, 3)
                dqkv = dqkv.reshape(-1, 3 * E)
                x2 = x.reshape(-1, E)
                self._grads["in_proj_weight"] += dqkv.T @ x2
                self._grads["in_proj_bias"] += dqkv.sum(axis=0)
                dx = (dqkv @ in_proj_weight).reshape(B, T, E)
            keep.release()
            return dx

        return out, one_shot(backprop, self, check)

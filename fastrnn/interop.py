"""Conversion between fastrnn layers and PyTorch modules.

``from_torch`` builds the fastrnn layer or cell matching a ``torch.nn.RNN``,
``LSTM``, ``GRU``, ``RNNCell``, ``LSTMCell`` or ``GRUCell`` and copies its
weights; ``to_torch`` does the reverse.  Parameter names are PyTorch's on both
sides, so the copy is name for name.

torch is imported only inside these functions: fastrnn never needs torch to
run, and ``import fastrnn`` does not import it.
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import numpy as np

from ._validation import resolve_dtype
from .layers.cells import GRUCell, LSTMCell, RNNCell
from .layers.recurrent import GRU, LSTM, RNN

if TYPE_CHECKING:
    import torch

    from ._typing import DTypeLike, Seed
    from .layers.recurrent_base import RecurrentModule

_TORCH_CLASSES = "torch.nn.RNN, LSTM, GRU, RNNCell, LSTMCell or GRUCell"
_FASTRNN_CLASSES = "fastrnn RNN, LSTM, GRU, RNNCell, LSTMCell or GRUCell"


def _type_name(obj):
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _import_torch(purpose):
    try:
        import torch
    except ImportError as exc:
        raise ImportError(
            f"{purpose} needs PyTorch, which cannot be imported ({exc}); "
            "install it (pip install torch) to convert between fastrnn and torch"
        ) from exc
    return torch


def _default_dtype(torch, tensors):
    """float64 when every parameter is float64, else float32."""
    return "float64" if all(t.dtype == torch.float64 for t in tensors) else "float32"


def from_torch(module: torch.nn.Module, dtype: DTypeLike | None = None, *,
               seed: Seed = None) -> RecurrentModule:
    """Build the fastrnn layer or cell equivalent to a PyTorch module.

    Parameters
    ----------
    module : torch.nn.RNN, LSTM, GRU, RNNCell, LSTMCell or GRUCell
        The module to convert (any device; its weights are copied, not
        shared).  Its configuration is carried over: ``num_layers``,
        ``bias``, ``batch_first``, ``dropout``, ``bidirectional`` (as
        ``merge_mode="concat"``) and ``nonlinearity``.
    dtype : {None, "float32", "float64"}, optional
        The layer's dtype.  By default ``"float64"`` when the module's
        parameters are float64 and ``"float32"`` otherwise, so float16 and
        bfloat16 modules become float32 layers.  A torch dtype
        (``torch.float64``) is also accepted.
    seed : None, int or numpy.random.Generator, optional
        Seeds the layer's own generator (its dropout masks in training).

    Returns
    -------
    fastrnn.RNN, LSTM, GRU, RNNCell, LSTMCell or GRUCell

    Raises
    ------
    TypeError
        If ``module`` is not one of the supported torch classes.
    ValueError
        If the module uses what fastrnn cannot express (an LSTM with
        ``proj_size > 0``, ``dropout=1``) or has non-floating weights.

    Examples
    --------
    >>> import torch
    >>> import fastrnn as fr
    >>> fr.from_torch(torch.nn.LSTM(8, 16, num_layers=2))
    LSTM(8, 16, num_layers=2)
    """
    if "torch" not in sys.modules:  # then it cannot be a torch module
        raise TypeError(f"from_torch expects a {_TORCH_CLASSES}, got {_type_name(module)}")
    torch = sys.modules["torch"]
    nn = torch.nn
    if isinstance(module, (nn.RNN, nn.LSTM, nn.GRU)):
        layer_cls = RNN if isinstance(module, nn.RNN) else LSTM if isinstance(module, nn.LSTM) else GRU
        if getattr(module, "proj_size", 0) > 0:
            raise ValueError(f"from_torch: LSTM with proj_size={module.proj_size} (a projected "
                             "hidden state) has no fastrnn equivalent; only proj_size=0 is supported")
        if not 0.0 <= float(module.dropout) < 1.0:
            raise ValueError(f"from_torch: dropout must be in [0, 1) for fastrnn, got {module.dropout}")
        kwargs = dict(num_layers=module.num_layers, bias=bool(module.bias),
                      batch_first=bool(module.batch_first), dropout=float(module.dropout),
                      bidirectional=bool(module.bidirectional), merge_mode="concat")
    elif isinstance(module, (nn.RNNCell, nn.LSTMCell, nn.GRUCell)):
        layer_cls = (RNNCell if isinstance(module, nn.RNNCell)
                     else LSTMCell if isinstance(module, nn.LSTMCell) else GRUCell)
        kwargs = dict(bias=bool(module.bias))
    else:
        hint = " (to convert a fastrnn layer to torch, use to_torch)" if isinstance(
            module, (RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell)) else ""
        raise TypeError(f"from_torch expects a {_TORCH_CLASSES}, got {_type_name(module)}{hint}")
    if layer_cls in (RNN, RNNCell):
        kwargs["nonlinearity"] = module.nonlinearity

    params = list(module.parameters())
    bad = sorted({str(p.dtype) for p in params if not p.dtype.is_floating_point or p.dtype.is_complex})
    if bad:
        raise ValueError(f"from_torch: weights must be real floating point, got {', '.join(bad)}")
    if dtype is None:
        dtype = _default_dtype(torch, params)
    elif isinstance(dtype, torch.dtype):
        dtype = str(dtype).rsplit(".", 1)[-1]
    dtype = resolve_dtype(dtype)
    target = torch.float64 if dtype == np.float64 else torch.float32

    layer = layer_cls(module.input_size, module.hidden_size, dtype=dtype.name, seed=seed, **kwargs)
    # getattr (not state_dict) so parametrized / weight-normed modules give
    # their effective weights.
    with torch.no_grad():
        weights = {name: getattr(module, name).detach().to(device="cpu", dtype=target).numpy()
                   for name in layer.state_dict()}
    layer.load_state_dict(weights)
    return layer


def to_torch(layer: RecurrentModule) -> torch.nn.Module:
    """Build the PyTorch module equivalent to a fastrnn layer or cell.

    Parameters
    ----------
    layer : fastrnn.RNN, LSTM, GRU, RNNCell, LSTMCell or GRUCell
        The layer to convert.  Its weights are copied into a new CPU module
        of the same dtype (float32 -> ``torch.float32``, float64 ->
        ``torch.float64``) with the same ``num_layers``, ``bias``,
        ``batch_first``, ``dropout``, ``bidirectional`` and ``nonlinearity``.

    Returns
    -------
    torch.nn.RNN, LSTM, GRU, RNNCell, LSTMCell or GRUCell

    Raises
    ------
    ImportError
        If torch is not installed.
    TypeError
        If ``layer`` is not one of the supported fastrnn classes.
    ValueError
        If the layer uses what torch cannot express: a bidirectional layer
        with ``merge_mode`` other than ``"concat"``, or a GRU / GRUCell with
        ``reset_after=False``.

    Examples
    --------
    >>> import fastrnn as fr
    >>> back = fr.to_torch(fr.GRU(8, 16, seed=0))
    >>> type(back).__name__, back.hidden_size
    ('GRU', 16)
    """
    if not isinstance(layer, (RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell)):
        raise TypeError(f"to_torch expects a {_FASTRNN_CLASSES}, got {_type_name(layer)}")
    if isinstance(layer, (GRU, GRUCell)) and not layer.reset_after:
        raise ValueError(f"to_torch: {type(layer).__name__} with reset_after=False has no torch "
                         "equivalent (torch's GRU applies the reset gate after the matrix "
                         "product, i.e. reset_after=True)")
    if isinstance(layer, (RNN, LSTM, GRU)) and layer.bidirectional and layer.merge_mode != "concat":
        raise ValueError(f"to_torch: merge_mode={layer.merge_mode!r} has no torch equivalent; "
                         "torch's bidirectional layers concatenate (merge_mode='concat')")
    torch = _import_torch("to_torch")
    nn = torch.nn
    factory = dict(dtype=torch.float64 if layer.dtype == np.float64 else torch.float32)
    if isinstance(layer, (RNN, LSTM, GRU)):
        cls = {RNN: nn.RNN, LSTM: nn.LSTM, GRU: nn.GRU}[_base(layer, (RNN, LSTM, GRU))]
        kwargs = dict(num_layers=layer.num_layers, bias=layer.bias, batch_first=layer.batch_first,
                      dropout=layer.dropout, bidirectional=layer.bidirectional)
    else:
        cls = {RNNCell: nn.RNNCell, LSTMCell: nn.LSTMCell,
               GRUCell: nn.GRUCell}[_base(layer, (RNNCell, LSTMCell, GRUCell))]
        kwargs = dict(bias=layer.bias)
    if cls in (nn.RNN, nn.RNNCell):
        kwargs["nonlinearity"] = layer.nonlinearity
    module = cls(layer.input_size, layer.hidden_size, **kwargs, **factory)
    with torch.no_grad():
        for name, value in layer.state_dict().items():
            getattr(module, name).copy_(torch.from_numpy(value))
    return module


def _base(obj, classes):
    """The first of ``classes`` that ``obj`` is an instance of."""
    return next(c for c in classes if isinstance(obj, c))

"""Initial values of a recurrent layer's (or cell's) parameters.

Default: PyTorch's, every parameter ~ U(-1/sqrt(H), 1/sqrt(H)).  Options:

* ``recurrent_init="orthogonal"``: each gate block of ``weight_hh`` (an
  H x H matrix) is a random orthogonal matrix (Saxe et al. 2014), which
  keeps the recurrent map norm-preserving at the start of training and
  helps long sequences; the input weights and biases stay PyTorch's.
* ``forget_bias=b`` (LSTM only): the forget gate's bias starts at ``b``
  (Jozefowicz et al. 2015 recommend 1.0; Keras' ``unit_forget_bias``): the
  forget slice of ``bias_ih`` is set to ``b`` and that of ``bias_hh`` to 0,
  so that their sum, which is what the cell sees, is exactly ``b``.
"""
import math

import numpy as np

RECURRENT_INITS = ("uniform", "orthogonal")


def check_init_options(mode, bias, recurrent_init, forget_bias):
    if recurrent_init not in RECURRENT_INITS:
        raise ValueError(f"recurrent_init must be one of {RECURRENT_INITS}, got {recurrent_init!r}")
    if forget_bias is None:
        return None
    if mode != "lstm":
        raise ValueError(f"forget_bias applies to LSTM only, got it for mode {mode!r}")
    if not bias:
        raise ValueError("forget_bias needs bias=True")
    if isinstance(forget_bias, bool) or not isinstance(forget_bias, (int, float, np.floating, np.integer)):
        raise TypeError(f"forget_bias must be a number or None, got {type(forget_bias).__name__}")
    if not math.isfinite(float(forget_bias)):
        raise ValueError(f"forget_bias must be finite, got {forget_bias}")
    return float(forget_bias)


def orthogonal(rng, n):
    """A random n x n orthogonal matrix, uniformly distributed (QR of a
    Gaussian matrix with the signs of R's diagonal folded into Q)."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def cell_param_shapes(num_gates, input_size, hidden_size, bias):
    """``[(name, shape), ...]`` of one layer-direction (or a cell), in
    PyTorch's order: weight_ih, weight_hh, bias_ih, bias_hh."""
    GH = num_gates * hidden_size
    shapes = [("weight_ih", (GH, input_size)), ("weight_hh", (GH, hidden_size))]
    if bias:
        shapes += [("bias_ih", (GH,)), ("bias_hh", (GH,))]
    return shapes


def recurrent_parameters(rng, num_gates, input_size, hidden_size, bias,
                         recurrent_init="uniform", forget_bias=None):
    """``[(name, array), ...]`` for one layer-direction (or a cell): the
    names and shapes of :func:`cell_param_shapes`."""
    G, H = num_gates, hidden_size
    k = 1.0 / math.sqrt(H)
    shapes = cell_param_shapes(G, input_size, H, bias)
    params = {name: rng.uniform(-k, k, size=shape) for name, shape in shapes}
    if recurrent_init == "orthogonal":
        params["weight_hh"] = np.concatenate([orthogonal(rng, H) for _ in range(G)])
    if forget_bias is not None:
        params["bias_ih"][H:2 * H] = forget_bias
        params["bias_hh"][H:2 * H] = 0.0
    return list(params.items())

"""How a bidirectional layer combines its two directions' outputs.

``concat`` (PyTorch, width 2H), ``sum``, ``mean``, ``max``, ``mul`` (Keras,
width H).  Each merge has a backward that splits the output gradient
between the directions.  ``max`` routes the gradient to the larger input;
on a tie it goes to the forward direction only (a subgradient, like
``np.maximum``'s first argument), so the two gradients always sum to dout.
"""
import numpy as np

MERGE_MODES = ("concat", "sum", "mean", "max", "mul")


def merged_width(mode, hidden_size, num_directions):
    return hidden_size * num_directions if mode == "concat" else hidden_size


def merge(mode, outs):
    """Combine ``outs`` (one (T, B, H) array per direction)."""
    if len(outs) == 1:
        return outs[0]
    fwd, bwd = outs
    if mode == "concat":
        return np.concatenate(outs, axis=-1)
    if mode == "sum":
        return fwd + bwd
    if mode == "mean":
        return (fwd + bwd) * fwd.dtype.type(0.5)
    if mode == "max":
        return np.maximum(fwd, bwd)
    if mode == "mul":
        return fwd * bwd
    raise ValueError(f"merge_mode must be one of {MERGE_MODES}, got {mode!r}")


def merge_backward(mode, dout, num_directions, outs=None):
    """Split ``dout`` (gradient of the merged output) into one per direction.

    Only ``max`` and ``mul`` need the directions' outputs ``outs``.
    """
    if num_directions == 1:
        return [dout]
    if mode == "concat":
        H = dout.shape[-1] // 2
        return [dout[..., :H], dout[..., H:]]
    if mode == "sum":
        return [dout, dout]
    if mode == "mean":
        half = dout * dout.dtype.type(0.5)
        return [half, half]
    fwd, bwd = outs
    if mode == "max":
        to_fwd = fwd >= bwd
        return [np.where(to_fwd, dout, 0), np.where(to_fwd, 0, dout)]
    if mode == "mul":
        return [dout * bwd, dout * fwd]
    raise ValueError(f"merge_mode must be one of {MERGE_MODES}, got {mode!r}")

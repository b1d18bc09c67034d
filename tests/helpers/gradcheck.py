"""Central finite differences, shared by the gradient checks (float64)."""
import numpy as np


def numeric_entry(loss, arr, idx, eps=1e-6):
    """d loss() / d arr[idx] by central differences; ``arr`` is perturbed in
    place and restored."""
    old = arr[idx]
    arr[idx] = old + eps
    up = loss()
    arr[idx] = old - eps
    down = loss()
    arr[idx] = old
    return (up - down) / (2 * eps)


def numeric_grad(loss, arr, eps=1e-6):
    """d loss() / d arr for every entry of ``arr``."""
    grad = np.zeros_like(arr)
    for idx in np.ndindex(arr.shape):
        grad[idx] = numeric_entry(loss, arr, idx, eps)
    return grad

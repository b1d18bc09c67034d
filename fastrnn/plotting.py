"""Plots for inspecting models: ``fr.plot_attention`` (a heatmap of
attention weights) and ``fr.plot_history`` (the curves of a ``fit`` history).

matplotlib is an optional extra (``pip install matplotlib``), imported only
when a plot is drawn.  The figures are drawn with matplotlib's
object-oriented API straight to a PNG file: no window opens, and pyplot's
global state (its backend, its current figure) is left alone, so the
functions are safe in scripts, servers and notebooks alike.
"""
from __future__ import annotations

import math
import numbers
import os
from typing import TYPE_CHECKING

import numpy as np

from ._validation import asarray_of

if TYPE_CHECKING:
    from ._typing import ArrayLike, PathLike

__all__ = ["plot_attention", "plot_history"]


def new_figure(width, height):
    """A matplotlib ``Figure`` not managed by pyplot (no window, no backend switch)."""
    try:
        import matplotlib  # noqa: F401  (first, so a missing package fails here)
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(f"fastrnn's plots need matplotlib, which could not be imported "
                          f"({exc}); install it with: pip install matplotlib") from exc
    return Figure(figsize=(width, height))


def _check_path(path, func):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{func}: path must be a str or os.PathLike, got {type(path).__name__}")


def _tokens(tokens, name):
    """``tokens`` as a list of str (a bare string is refused: it is one token
    or a sequence of characters, and guessing would mislabel the axis)."""
    if isinstance(tokens, (str, bytes)) or not hasattr(tokens, "__len__"):
        raise TypeError(f"{name} must be a list of str (one per position), got "
                        f"{type(tokens).__name__}")
    return [str(t) for t in tokens]


def plot_attention(weights: ArrayLike, src_tokens: list[str], tgt_tokens: list[str],
                   path: PathLike, title: str | None = None) -> PathLike:
    """Save a heatmap of attention weights as a PNG file.

    Parameters
    ----------
    weights : array (len(tgt_tokens), len(src_tokens))
        One row per target (query) step, one column per source (key) step,
        e.g. ``weights[b]`` of an attention block, or one sentence's matrix
        from ``Seq2Seq.translate(..., return_attention=True)``.
    src_tokens : list of str
        Labels of the x axis (source / keys).
    tgt_tokens : list of str
        Labels of the y axis (target / queries), top to bottom.
    path : str or os.PathLike
        Where to write the PNG.
    title : str, optional

    Returns
    -------
    path
        ``path``, as given.

    Raises
    ------
    ValueError
        ``weights`` is not 2-D with shape (len(tgt_tokens), len(src_tokens)).
    TypeError
        Non-numeric weights, tokens not a list, a bad path.
    ImportError
        matplotlib is not installed.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> path = os.path.join(tempfile.mkdtemp(), "attention.png")
    >>> fr.plot_attention(np.full((2, 3), 1 / 3), ["a", "b", "c"], ["x", "y"], path) == path
    True
    """
    _check_path(path, "plot_attention")
    src, tgt = _tokens(src_tokens, "src_tokens"), _tokens(tgt_tokens, "tgt_tokens")
    w = asarray_of(weights, "weights", "a numeric array", kinds="fiub")
    if w.ndim != 2:
        raise ValueError(f"weights must be 2-D (len(tgt_tokens), len(src_tokens)) = "
                         f"({len(tgt)}, {len(src)}), got shape {w.shape} (plot one batch "
                         f"row at a time)")
    if w.shape != (len(tgt), len(src)):
        raise ValueError(f"weights must have shape (len(tgt_tokens), len(src_tokens)) = "
                         f"({len(tgt)}, {len(src)}), got {w.shape}")
    # About 0.4 inch per token, within bounds a viewer can still open.
    fig = new_figure(min(max(0.4 * len(src) + 2.0, 4.0), 40.0),
                  min(max(0.4 * len(tgt) + 1.5, 3.0), 40.0))
    ax = fig.add_subplot()
    image = ax.imshow(w.astype(np.float64), aspect="auto", cmap="viridis", vmin=0.0,
                      interpolation="nearest")
    fig.colorbar(image, ax=ax)
    ax.set_xticks(range(len(src)))
    ax.set_xticklabels(src, rotation=90)
    ax.set_yticks(range(len(tgt)))
    ax.set_yticklabels(tgt)
    ax.set_xlabel("source")
    ax.set_ylabel("target")
    if title is not None:
        ax.set_title(str(title))
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def _series(history, key):
    values = history[key]
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise TypeError(f"history[{key!r}] must be a list of numbers (one per epoch), got "
                        f"{type(values).__name__}")
    out = []
    for v in values:
        if v is None:
            out.append(math.nan)  # an epoch without that metric: a gap in the curve
        elif isinstance(v, numbers.Real) and not isinstance(v, bool):
            out.append(float(v))
        else:
            raise TypeError(f"history[{key!r}] must hold numbers, got {type(v).__name__}")
    return out


def plot_history(history: dict[str, list[float]], path: PathLike,
                 metrics: list[str] | None = None) -> PathLike:
    """Save the training curves of a ``fit`` history as a PNG file.

    One subplot per metric, with its training curve (``history[m]``) and its
    validation curve (``history["val_" + m]``) where present, against the
    epoch.  ``"time"`` (seconds per epoch) is not plotted.

    Parameters
    ----------
    history : dict of str -> list of float
        What ``model.fit`` returns, e.g. ``{"loss": [...], "val_loss": [...],
        "accuracy": [...], "val_accuracy": [...], "time": [...]}``.
    path : str or os.PathLike
        Where to write the PNG.
    metrics : list of str, optional
        The metrics to plot (names without ``val_``), in order.  Default:
        every metric of ``history``, in its order.

    Returns
    -------
    path
        ``path``, as given.

    Raises
    ------
    ValueError
        No metric to plot, or a requested metric that ``history`` lacks.
    TypeError
        ``history`` is not a dict of lists of numbers, a bad ``metrics`` or path.
    ImportError
        matplotlib is not installed.

    Examples
    --------
    >>> import os, tempfile
    >>> import fastrnn as fr
    >>> path = os.path.join(tempfile.mkdtemp(), "history.png")
    >>> fr.plot_history({"loss": [1.0, 0.6, 0.5], "val_loss": [1.1, 0.8, 0.7]}, path) == path
    True
    """
    _check_path(path, "plot_history")
    if not hasattr(history, "keys"):
        raise TypeError(f"history must be a dict of metric lists (what fit returns), got "
                        f"{type(history).__name__}")
    available = []
    for key in history:
        if not isinstance(key, str):
            raise TypeError(f"history keys must be str, got {key!r}")
        name = key[4:] if key.startswith("val_") else key
        if name != "time" and name not in available:
            available.append(name)
    if metrics is None:
        metrics = available
    elif isinstance(metrics, str) or not all(isinstance(m, str) for m in metrics):
        raise TypeError(f"metrics must be a list of str, got {metrics!r}")
    else:
        metrics = list(metrics)
        unknown = [m for m in metrics if m not in available]
        if unknown:
            raise ValueError(f"metrics {unknown} are not in the history; it has {available}")
    if not metrics:
        raise ValueError(f"nothing to plot: history has no metric (keys {sorted(history)})")
    curves = [[(label, _series(history, key)) for label, key in
               (("train", m), ("validation", "val_" + m)) if key in history] for m in metrics]

    cols = min(len(metrics), 3)
    rows = -(-len(metrics) // cols)
    fig = new_figure(4.5 * cols, 3.2 * rows)
    from matplotlib.ticker import MaxNLocator  # matplotlib is importable by now

    for i, (metric, lines) in enumerate(zip(metrics, curves)):
        ax = fig.add_subplot(rows, cols, i + 1)
        for label, ys in lines:
            ax.plot(range(1, len(ys) + 1), ys, marker="o", markersize=3, label=label)
        ax.set_title(metric)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path

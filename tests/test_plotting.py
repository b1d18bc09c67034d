"""fr.plot_attention and fr.plot_history: PNG output (when matplotlib is
installed), argument validation (which needs no matplotlib) and a clear
error when matplotlib is missing."""
import sys

import numpy as np
import pytest

import fastrnn as fr

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HISTORY = {"loss": [2.0, 1.5, 1.1], "val_loss": [2.1, 1.7, 1.4], "accuracy": [0.3, 0.5, 0.6],
           "val_accuracy": [0.25, 0.45, None], "time": [0.5, 0.4, 0.4]}


def _is_png(path):
    with open(path, "rb") as f:
        return f.read(8) == PNG_MAGIC


def test_plot_attention_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    attn = fr.DotAttention(dtype="float64")
    rng = np.random.default_rng(0)
    _, w = attn(rng.standard_normal((1, 3, 4)), rng.standard_normal((1, 5, 4)))
    path = tmp_path / "attn.png"
    assert fr.plot_attention(w[0], ["le", "chat", "est", "noir", "<eos>"],
                             ["the", "cat", "<eos>"], path, title="attention") == path
    assert _is_png(path)
    # str paths, and plain nested lists as weights
    assert fr.plot_attention([[0.2, 0.8]], ("a", "b"), ["x"], str(tmp_path / "b.png")) \
        == str(tmp_path / "b.png")
    assert _is_png(tmp_path / "b.png")


def test_plot_history_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "history.png"
    assert fr.plot_history(HISTORY, path) == path
    assert _is_png(path)
    path = tmp_path / "loss.png"
    fr.plot_history({"loss": [1.0, 0.5]}, path, metrics=["loss"])  # no validation curve
    assert _is_png(path)


@pytest.mark.parametrize("args,exc,match", [
    ((np.ones((2, 3)), ["a", "b"], ["x", "y"]), ValueError,
     r"weights must have shape \(len\(tgt_tokens\), len\(src_tokens\)\) = \(2, 2\), "
     r"got \(2, 3\)"),
    ((np.ones((1, 2, 3)), ["a", "b", "c"], ["x", "y"]), ValueError,
     r"weights must be 2-D .* got shape \(1, 2, 3\)"),
    ((np.array([["a"]]), ["a"], ["x"]), TypeError, "weights must be a numeric array"),
    ((np.ones((1, 3)), "abc", ["x"]), TypeError, "src_tokens must be a list of str"),
    ((np.ones((1, 3)), ["a", "b", "c"], None), TypeError, "tgt_tokens must be a list of str"),
])
def test_plot_attention_validates_before_drawing(tmp_path, args, exc, match):
    with pytest.raises(exc, match=match):
        fr.plot_attention(*args, tmp_path / "x.png")
    with pytest.raises(TypeError, match="path must be a str"):
        fr.plot_attention(np.ones((1, 1)), ["a"], ["b"], 3)


@pytest.mark.parametrize("history,metrics,exc,match", [
    (HISTORY, ["perplexity"], ValueError, r"metrics \['perplexity'\] are not in the history"),
    ({"time": [1.0]}, None, ValueError, "nothing to plot"),
    ([1.0, 2.0], None, TypeError, "history must be a dict"),
    ({"loss": 1.0}, None, TypeError, r"history\['loss'\] must be a list of numbers"),
    ({"loss": ["a"]}, None, TypeError, r"history\['loss'\] must hold numbers"),
    (HISTORY, "loss", TypeError, "metrics must be a list of str"),
])
def test_plot_history_validates_before_drawing(tmp_path, history, metrics, exc, match):
    with pytest.raises(exc, match=match):
        fr.plot_history(history, tmp_path / "h.png", metrics=metrics)


def test_missing_matplotlib_gives_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    with pytest.raises(ImportError, match="pip install matplotlib"):
        fr.plot_attention(np.ones((1, 1)), ["a"], ["b"], tmp_path / "a.png")
    with pytest.raises(ImportError, match="pip install matplotlib"):
        fr.plot_history(HISTORY, tmp_path / "h.png")
    assert not (tmp_path / "a.png").exists()

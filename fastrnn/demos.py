"""``fastrnn demo dates`` and ``fastrnn demo reverse``: small sequence-to-sequence
models trained from generated data (nothing downloaded), to show that the
library works and what attention buys.

* ``dates``: human-written dates ("wednesday, november 25, 2026", "25.11.26",
  ...) to ISO ("2026-11-25") with a bidirectional LSTM encoder, an LSTM
  decoder and Luong dot attention; prints held-out exact-match accuracy and
  example translations, writes the attention heatmap of one example and the
  training curves.
* ``reverse``: reverse token sequences of 4-36 tokens with the same model
  with and without attention; prints and plots exact-match and per-token
  accuracy against the input length.  The plain encoder-decoder squeezes
  the whole input into its final state and fails as inputs grow; attention
  reads every encoder state and does not.
"""
import os
import time

import numpy as np

from . import datasets
from ._validation import unwritable
from .models import Seq2Seq
from .plotting import plot_attention, plot_history


# The files each demo writes into ``out`` (``fastrnn demo`` checks them
# before training).
PLOT_FILES = {"dates": ("dates_attention.png", "dates_history.png"),
              "reverse": ("reverse_accuracy.png",)}


def _check_out(out, name):
    """Refuse (``ValueError``), before any training, an ``out`` folder
    where the demo ``name`` could not write its plots."""
    if not os.path.isdir(out):
        raise ValueError(f"out must be an existing folder, got {out!r}")
    for file in PLOT_FILES[name]:
        problem = unwritable(os.path.join(out, file))
        if problem:
            raise ValueError(f"out must be a folder where the demo can write {file}, got "
                             f"{out!r} ({problem})")


def _say(*args):
    print(*args, flush=True)


def _save(what, func, *args):
    try:
        path = func(*args)
    except ImportError as exc:  # matplotlib is an optional extra
        _say(f"(no {what}: {exc})")
        return None
    _say(f"wrote {path}")
    return path


def dates(out=".", epochs=4, n=10000, seed=0, progress=True, plots=True):
    """The dates demo; returns ``{"exact_match": ..., "seconds": ...}``."""
    if plots:
        _check_out(out, "dates")
    sources, targets = datasets.dates(n + 1000, seed=seed)
    src_tok, tgt_tok = datasets.char_tokenizer(sources), datasets.char_tokenizer(targets)
    src = [src_tok.encode(s) for s in sources]
    tgt = [tgt_tok.encode(t) for t in targets]
    model = Seq2Seq(len(src_tok), len(tgt_tok), embed_size=32, hidden_size=64, cell="lstm",
                    bidirectional_encoder=True, attention="dot", sos_id=tgt_tok.sos_id,
                    eos_id=tgt_tok.eos_id, pad_id=tgt_tok.pad_id, seed=seed)
    _say(f"dates -> ISO: {n} training pairs, {len(src_tok)} source characters; "
         f"bidirectional LSTM 64 encoder, LSTM 128 decoder, dot attention")
    start = time.perf_counter()
    history = model.fit(src[:n], tgt[:n], epochs=epochs, batch_size=64, lr=3e-3,
                        validation=(src[n:n + 500], tgt[n:n + 500]), progress=progress,
                        seed=seed)
    seconds = time.perf_counter() - start
    test_src, test_tgt = sources[n + 500:], targets[n + 500:]
    outs, attn = model.translate(src[n + 500:], max_len=12, return_attention=True)
    guesses = [tgt_tok.decode(o) for o in outs]
    exact = float(np.mean([g == t for g, t in zip(guesses, test_tgt)]))
    _say(f"\ntrained in {seconds:.1f} s; held-out exact match: {exact:.1%} "
         f"({len(test_tgt)} dates)\n")
    for s, g, t in list(zip(test_src, guesses, test_tgt))[:8]:
        _say(f"  {s:<40} -> {g}  {'ok' if g == t else 'expected ' + t}")
    if plots:
        pick = max(range(len(test_src)), key=lambda i: len(test_src[i]) * (guesses[i] == test_tgt[i]))
        _save("attention heatmap", plot_attention, attn[pick], list(test_src[pick]),
              list(guesses[pick]), os.path.join(out, "dates_attention.png"),
              f"{test_src[pick]!r} -> {guesses[pick]}")
        _save("history plot", plot_history, history, os.path.join(out, "dates_history.png"))
    return {"exact_match": exact, "seconds": seconds}


BUCKETS = ((4, 9), (10, 15), (16, 21), (22, 27), (28, 36))


def reverse(out=".", epochs=6, n=12000, seed=0, progress=True, plots=True):
    """The reverse demo; returns per model the accuracies per length bucket."""
    if plots:
        _check_out(out, "reverse")
    src, tgt = datasets.reverse_task(n + 2000, min_len=4, max_len=36, vocab_size=24,
                                     seed=seed)
    test_src, test_tgt = src[n:], tgt[n:]
    results = {}
    for name, attention in (("no attention", None), ("dot attention", "dot")):
        model = Seq2Seq(24, 24, embed_size=32, hidden_size=64, cell="lstm",
                        bidirectional_encoder=True, attention=attention, seed=seed)
        _say(f"reverse, {name}: {n} training sequences of 4-36 tokens")
        start = time.perf_counter()
        model.fit(src[:n], tgt[:n], epochs=epochs, batch_size=64, lr=3e-3,
                  progress=progress, seed=seed)
        seconds = time.perf_counter() - start
        outs = model.translate(test_src, max_len=40)
        lengths = np.array([len(s) for s in test_src])
        exact = np.array([o == t for o, t in zip(outs, test_tgt)])
        token = np.array([np.mean([a == b for a, b in zip(o, t)]) if o else 0.0
                          for o, t in zip(outs, test_tgt)])
        per = [(float(exact[(lengths >= lo) & (lengths <= hi)].mean()),
                float(token[(lengths >= lo) & (lengths <= hi)].mean())) for lo, hi in BUCKETS]
        results[name] = {"buckets": per, "seconds": seconds}
    _say(f"\n{'input length':<14}" + "".join(f"{name:>30}" for name in results))
    _say(f"{'':<14}" + "".join(f"{'exact / per token':>30}" for _ in results))
    for i, (lo, hi) in enumerate(BUCKETS):
        row = "".join(f"{r['buckets'][i][0]:>20.1%} / {r['buckets'][i][1]:>6.1%}"
                      for r in results.values())
        _say(f"{f'{lo}-{hi}':<14}{row}")
    _say("training: " + ", ".join(f"{k} {r['seconds']:.1f} s" for k, r in results.items()))
    if plots:
        _save("accuracy plot", _plot_reverse, results, os.path.join(out, "reverse_accuracy.png"))
    return results


def _plot_reverse(results, path):
    from .plotting import new_figure

    fig = new_figure(6.5, 3.8)
    ax = fig.add_subplot(1, 1, 1)
    x = [np.mean(b) for b in BUCKETS]
    for (name, r), color in zip(results.items(), ("C0", "C1")):
        ax.plot(x, [e for e, _ in r["buckets"]], "o-", color=color, label=f"{name}: exact")
        ax.plot(x, [t for _, t in r["buckets"]], "s--", color=color, alpha=0.6,
                label=f"{name}: per token")
    ax.set(xlabel="input length (tokens)", ylabel="held-out accuracy", ylim=(0, 1.02),
           title="Reversing sequences: attention vs the plain encoder-decoder")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path
